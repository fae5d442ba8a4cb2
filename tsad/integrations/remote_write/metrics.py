"""Prometheus counters of the remote-write receiver, on the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from tsad.integrations.remote_write.decode import SKIP_REASONS, DecodedWrite

OUTCOMES = ("stored", "duplicate", *SKIP_REASONS)


class RemoteWriteMetrics:
    """Samples received by outcome; series created; native histograms ignored."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.samples = Counter(
            "tsad_remote_write_samples",
            "Remote-write samples received, by outcome (stored, duplicate, or why skipped)",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.samples.labels(outcome)
        self.series_created = Counter(
            "tsad_remote_write_series_created",
            "Series created by remote write",
            registry=registry,
        )
        self.histograms = Counter(
            "tsad_remote_write_histograms_skipped",
            "Native histogram samples received by remote write (not stored)",
            registry=registry,
        )

    def observe(self, decoded: DecodedWrite, accepted: int, duplicates: int, created: int) -> None:
        self.samples.labels("stored").inc(accepted)
        self.samples.labels("duplicate").inc(duplicates)
        for reason, n in decoded.skipped.items():
            if n:
                self.samples.labels(reason).inc(n)
        self.series_created.inc(created)
        self.histograms.inc(decoded.histograms)
