"""Summaries of repeated measurements."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    runs: int
    median: float
    p90: float
    p99: float
    min: float
    max: float

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    index = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def summarize(values: list[float]) -> Summary:
    ordered = sorted(values)
    return Summary(
        runs=len(ordered),
        median=statistics.median(ordered),
        p90=percentile(ordered, 0.90),
        p99=percentile(ordered, 0.99),
        min=ordered[0],
        max=ordered[-1],
    )
