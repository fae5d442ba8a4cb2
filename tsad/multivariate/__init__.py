"""Multivariate detection: several series of one group scored together.

``align`` puts the members on one grid, ``features`` turns the grid into the
(causal) inputs the detectors see, a ``MultivariateDetector`` (``pca_t2q`` or
``iforest``) turns them into a surprise ratio per row, ``scoring`` maps that
ratio onto tsad's one score scale and threshold, ``contributors`` names the
series behind a flag, and ``online`` scores arriving rows in O(1) each.
"""

from tsad.multivariate.detector import MultiScored, MultivariateDetector, make_detector

__all__ = ["MultiScored", "MultivariateDetector", "make_detector"]
