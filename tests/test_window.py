"""Windows: half-years, rolling months and explicit ranges; D is calendar days, both ends in."""

from __future__ import annotations

from datetime import date

import pytest

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.window import parse_window


@pytest.mark.parametrize(
    ("period", "months", "start", "end", "days"),
    [
        ("2026H1", None, date(2026, 1, 1), date(2026, 6, 30), 181),
        ("2026H2", None, date(2026, 7, 1), date(2026, 12, 31), 184),
        ("2028H1", None, date(2028, 1, 1), date(2028, 6, 30), 182),
        ("2026-11", 6, date(2026, 6, 1), date(2026, 11, 30), 183),
        ("2026-02", 3, date(2025, 12, 1), date(2026, 2, 28), 90),
        ("2024-02", 1, date(2024, 2, 1), date(2024, 2, 29), 29),
    ],
)
def test_periods(period: str, months: int | None, start: date, end: date, days: int) -> None:
    window = parse_window(period, months)
    assert (window.start, window.end, window.days) == (start, end, days)


def test_explicit_range() -> None:
    window = parse_window(None, None, date(2026, 3, 1), date(2026, 3, 1))
    assert window.days == 1


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("2026H1", None, date(2026, 1, 1), date(2026, 2, 1)), "--period"),
        ((None, None, date(2026, 1, 1), None), "--from/--to"),
        ((None, None, date(2026, 2, 1), date(2026, 1, 1)), "--to"),
        (("2026H3", None, None, None), "--period"),
        (("2026-11", None, None, None), "--months"),
        (("2026H1", 6, None, None), "--months"),
        (("2026-13", 6, None, None), "--period"),
        (("2026-11", 0, None, None), "--months"),
        ((None, None, None, None), "--period"),
    ],
)
def test_bad_windows(args: tuple, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_window(*args)
    assert caught.value.key == key
