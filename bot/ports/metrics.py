"""The pipeline's measurements, as a port: the jobs count and time what they do through it;
`bot/prometheus.py` implements it on its own registry (the jobs import no Prometheus)."""

from __future__ import annotations

from typing import Protocol


class PipelineMetrics(Protocol):
    """What the alert pipeline reports: prints, firings, deliveries and their latencies."""

    def printed(self, source: str, count: int) -> None:
        """`count` symbols changed in one print from `source`."""
        ...

    def fired(self, rule_id: str) -> None:
        """A rule fired (once per event)."""
        ...

    def persisted(self, seconds: float) -> None:
        """Print timestamp → outbox commit, in real seconds."""
        ...

    def delivered(self, platform: str, outcome: str, queued_seconds: float | None) -> None:
        """A sink answered `outcome`; `queued_seconds`: commit → delivery when delivered."""
        ...

    def rate_limited(self, service: str) -> None:
        """A platform or vendor said 429 (retry after)."""
        ...
