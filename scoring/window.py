"""The scoring window: a half-year, a rolling run of months, or an explicit range.

The window is always given explicitly, never derived from today's date, so a
rerun of an old night reproduces the old answer.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import ConfigError

_EPOCH = date(1970, 1, 1)


def day_of(when: date) -> int:
    """A date as days since 1970, as the measures compare dates (``Int32`` of a Date)."""
    return (when - _EPOCH).days


def date_of(day: int) -> date:
    return _EPOCH + timedelta(days=day)


def window_span(start: date, end: date) -> tuple[int, int]:
    """A window as days since 1970, as ``row_status.window_days`` compares them: the
    first day, and the day after the last."""
    return day_of(start), day_of(end) + 1


_HALF = re.compile(r"^(\d{4})H([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Window:
    """Calendar days ``start..end``, both included; ``days`` is the divisor D."""

    start: date
    end: date
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def as_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "days": self.days,
        }


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _check_year(year: int, key: str) -> None:
    if not 1 <= year <= 9999:
        raise ConfigError(f"year {year} is outside 1..9999", key=key)


def half_year(year: int, half: int) -> Window:
    if half == 1:
        return Window(date(year, 1, 1), date(year, 6, 30), f"{year}H1")
    return Window(date(year, 7, 1), date(year, 12, 31), f"{year}H2")


def trailing_months(year: int, month: int, months: int) -> Window:
    """The ``months`` full calendar months ending with ``year-month``."""
    if months < 1:
        raise ConfigError("must be at least 1", key="--months")
    _check_year(year, "--period")
    first = year * 12 + (month - 1) - (months - 1)
    _check_year(first // 12, "--months")
    start = date(first // 12, first % 12 + 1, 1)
    label = f"{year:04d}-{month:02d}/{months}M"
    return Window(start, _month_end(year, month), label)


def parse_window(
    period: str | None,
    months: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Window:
    """Build the window from the CLI's options; exactly one way must be given."""
    if start is not None or end is not None:
        if start is None or end is None:
            raise ConfigError("--from and --to must be given together", key="--from/--to")
        if period is not None:
            raise ConfigError("give either --period or --from/--to, not both", key="--period")
        if end < start:
            raise ConfigError(f"{end} is before {start}", key="--to")
        return Window(start, end, f"{start.isoformat()}..{end.isoformat()}")
    if period is None:
        raise ConfigError("a window is required: --period 2026H1 or --from/--to", key="--period")
    period = period.strip()
    if m := _HALF.match(period):
        if months is not None:
            raise ConfigError(
                "--months goes with --period YYYY-MM, not a half-year", key="--months"
            )
        _check_year(int(m.group(1)), "--period")
        return half_year(int(m.group(1)), int(m.group(2)))
    if m := _MONTH.match(period):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise ConfigError(f"month {month} is not 01..12", key="--period")
        if months is None:
            raise ConfigError("--period YYYY-MM needs --months N", key="--months")
        return trailing_months(int(m.group(1)), month, months)
    raise ConfigError(
        f"{period!r} is not YYYYH1, YYYYH2 or YYYY-MM (with --months)", key="--period"
    )
