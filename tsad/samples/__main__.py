"""``python -m tsad.samples``: re-create the shipped sample file."""

from tsad.samples import SAMPLE_CSV, write_sample

write_sample(SAMPLE_CSV)
