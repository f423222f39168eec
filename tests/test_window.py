"""Windows: half-years, rolling months and explicit ranges; D is calendar days, both ends in."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.window import Window, parse_window


@pytest.mark.parametrize(
    ("period", "months", "start", "end", "days"),
    [
        ("2026H1", None, date(2026, 1, 1), date(2026, 6, 30), 181),
        ("2026H2", None, date(2026, 7, 1), date(2026, 12, 31), 184),
        ("2028H1", None, date(2028, 1, 1), date(2028, 6, 30), 182),  # leap year
        ("2028H2", None, date(2028, 7, 1), date(2028, 12, 31), 184),
        ("2026-11", 6, date(2026, 6, 1), date(2026, 11, 30), 183),
        ("2026-02", 3, date(2025, 12, 1), date(2026, 2, 28), 90),  # crosses the year
        ("2026-01", 1, date(2026, 1, 1), date(2026, 1, 31), 31),
        ("2024-02", 1, date(2024, 2, 1), date(2024, 2, 29), 29),
        ("2026-12", 12, date(2026, 1, 1), date(2026, 12, 31), 365),
        ("2026-06", 13, date(2025, 6, 1), date(2026, 6, 30), 395),
    ],
)
def test_periods(period: str, months: int | None, start: date, end: date, days: int) -> None:
    window = parse_window(period, months)
    assert (window.start, window.end, window.days) == (start, end, days)


def test_labels_and_manifest_form() -> None:
    assert parse_window("2026H1").label == "2026H1"
    assert parse_window("2026-11", 6).label == "2026-11/6M"
    assert parse_window(" 2026H2 ").label == "2026H2"  # surrounding spaces are ignored
    assert parse_window("2026H1").as_dict() == {
        "label": "2026H1", "start": "2026-01-01", "end": "2026-06-30", "days": 181,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 3, 1), date(2026, 3, 1), 1),
        (date(2026, 1, 1), date(2026, 6, 30), 181),
        (date(2025, 12, 15), date(2026, 1, 14), 31),
        (date(2028, 2, 28), date(2028, 3, 1), 3),
    ],
)
def test_explicit_range(start: date, end: date, days: int) -> None:
    window = parse_window(None, None, start, end)
    assert (window.start, window.end, window.days) == (start, end, days)
    assert window.label == f"{start.isoformat()}..{end.isoformat()}"


def test_explicit_range_equals_the_half_year() -> None:
    explicit = parse_window(None, None, date(2026, 1, 1), date(2026, 6, 30))
    half = parse_window("2026H1")
    assert (explicit.start, explicit.end, explicit.days) == (half.start, half.end, half.days)


@pytest.mark.parametrize(
    ("args", "key", "words"),
    [
        (("2026H1", None, date(2026, 1, 1), date(2026, 2, 1)), "--period", "not both"),
        (("2026-11", 6, date(2026, 1, 1), date(2026, 2, 1)), "--period", "not both"),
        ((None, None, date(2026, 1, 1), None), "--from/--to", "together"),
        ((None, None, None, date(2026, 1, 1)), "--from/--to", "together"),
        ((None, None, date(2026, 2, 1), date(2026, 1, 31)), "--to", "before"),
        (("2026H3", None, None, None), "--period", "'2026H3'"),
        (("2026Q1", None, None, None), "--period", "'2026Q1'"),
        (("26H1", None, None, None), "--period", "'26H1'"),
        (("2026h1", None, None, None), "--period", "'2026h1'"),
        (("2026-1", 6, None, None), "--period", "'2026-1'"),
        (("", None, None, None), "--period", "YYYY"),
        (("2026-11", None, None, None), "--months", "needs --months"),
        (("2026H1", 6, None, None), "--months", "not a half-year"),
        (("2026-13", 6, None, None), "--period", "month 13"),
        (("2026-00", 6, None, None), "--period", "month 0"),
        (("2026-11", 0, None, None), "--months", "at least 1"),
        (("2026-11", -3, None, None), "--months", "at least 1"),
        ((None, None, None, None), "--period", "required"),
    ],
)
def test_bad_windows(args: tuple, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_window(*args)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(("period", "months"), [("0000H1", None), ("2026-01", 30000)])
def test_out_of_range_year_is_a_config_error(period: str, months: int | None) -> None:
    # A year the calendar cannot hold is still a bad --period / --months, so exit 2.
    with pytest.raises(ConfigError):
        parse_window(period, months)


@given(st.integers(1, 9999), st.sampled_from([1, 2]))
def test_half_years_cover_the_year(year: int, half: int) -> None:
    window = parse_window(f"{year:04d}H{half}")
    leap = calendar.isleap(year)
    assert window.days == ((182 if leap else 181) if half == 1 else 184)
    other = parse_window(f"{year:04d}H{3 - half}")
    assert window.days + other.days == (366 if leap else 365)
    first, second = sorted((window, other), key=lambda w: w.start)
    assert first.start == date(year, 1, 1) and second.end == date(year, 12, 31)
    assert first.end + timedelta(days=1) == second.start


@given(st.integers(1900, 2200), st.integers(1, 12), st.integers(1, 36))
def test_trailing_months_are_full_calendar_months(year: int, month: int, months: int) -> None:
    window: Window = parse_window(f"{year:04d}-{month:02d}", months)
    assert window.start.day == 1
    assert window.end == date(year, month, calendar.monthrange(year, month)[1])
    spanned = (window.end.year - window.start.year) * 12 + window.end.month - window.start.month
    assert spanned + 1 == months
    assert window.days == (window.end - window.start).days + 1
