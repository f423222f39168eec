"""Whether a run's inputs are clean enough to publish its scores."""

from __future__ import annotations

from typing import Any


def over_reject_limit(summary: dict[str, Any], max_rate: float) -> list[str]:
    """One line per input whose rejected share exceeds ``max_rate``.

    A nightly job must not publish tiers computed from a visibly broken export.
    """
    breaches = []
    for name, counts in summary["rows"].items():
        read = counts["read"]
        rate = counts["rejected"] / read if read else 0.0
        if rate > max_rate:
            breaches.append(
                f"{name}: {counts['rejected']:,} of {read:,} rows ({rate:.2%}) "
                f"rejected, limit {max_rate:.2%}"
            )
    return breaches
