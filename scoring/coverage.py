"""The window must meet the data.

Scoring 2026 data with a 2025 window measures nothing and publishes a tier for
everyone all the same. So, after measuring and before anything is written, an
input with usable rows (neither rejected nor of a code the rule set does not
count) none of which counts in the window stops the run, naming the dates its
rows span and the window (``check_window``); an input of which fewer than half
the rows lie in the window is a warning in summary.json and on the terminal
(``window_warnings``). Both read the status counts every run has; the span is
read only on the way to stopping (``usable_span``, a cheap aggregate on either
engine).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

import polars as pl

from .errors import InputError
from .plan import Plan
from .validate import good_rows
from .window import Window

CHECKED = ("balances", "transactions")  # the measured inputs
CODE_OF = {"balances": "product", "transactions": "txn_type"}
Span = tuple[date, date]


def window_said(window: Window) -> str:
    """The window as a person checks it: its days, and the options that gave it."""
    label = window.label
    if re.fullmatch(r"[0-9]{4}H[12]", label):
        given = f"--period {label}"
    elif m := re.fullmatch(r"([0-9]{4}-[0-9]{2})/([0-9]+)M", label):
        given = f"--period {m[1]} --months {m[2]}"
    else:
        given = f"--from {window.start} --to {window.end}"
    return f"{window.start} – {window.end} ({given})"


def in_window(count: dict[str, int]) -> tuple[int, int]:
    """Rows whose day lies in the window, and rows outside it, of one input's status
    counts, leaving out the rejected and unmapped rows (and duplicates, repeats of
    another row). A balance before the window that holds into it is in it (``used``).
    An unmapped row outside the window is counted outside it (its status says
    ``outside_window``): the share can only come out lower, so a warning is never
    missed for it; many unmapped rows in the window do not hide one."""
    inside = count.get("used", 0) + count.get("excluded", 0)
    return inside, count.get("outside_window", 0)


def window_warnings(plan: Plan, counts: dict[str, dict[str, int]]) -> list[str]:
    """A warning for each input of which fewer than half the rows lie in the window (an
    input the rule set scores nothing from is not asked: its dates change nothing)."""
    warnings = []
    for name in CHECKED:
        if not plan.of_source(name):
            continue
        inside, outside = in_window(counts.get(name, {}))
        total = inside + outside
        if total and 2 * inside < total:
            share = f"{100 * inside / total:.1f}%"
            warnings.append(
                f"{name}: only {inside:,} of {total:,} rows ({share}) lie in the window "
                f"{window_said(plan.window)}; {outside:,} lie outside it"
            )
    return warnings


def check_window(
    plan: Plan, counts: dict[str, dict[str, int]], span_of: Callable[[str], Span | None]
) -> None:
    """Stop (exit 2) when an input's usable rows all lie outside the window. Only an
    input with no used row and some row outside is asked for its span (``span_of``:
    None when it has no usable row, e.g. every code unmapped, or a source the rule
    set scores nothing from)."""
    for name in CHECKED:
        count = counts.get(name, {})
        if count.get("used", 0) or not count.get("outside_window", 0):
            continue
        span = span_of(name)
        if span is not None:
            raise InputError(
                f"rows from {span[0]} to {span[1]}, none in the window "
                f"{window_said(plan.window)}: give a window the data covers",
                key=name,
            )


def usable_span(plan: Plan, name: str, checked: pl.LazyFrame) -> pl.LazyFrame:
    """The first and last date (``first``, ``last``; null when none) of an input's
    usable rows: good rows of a code the rule set counts. Per part, as Spark asks
    it of each partition: the smallest first and largest last is the input's."""
    codes = sorted(plan.codes[name])
    usable = good_rows(checked).filter(pl.col(CODE_OF[name]).is_in(codes))
    if "start_date" in checked.collect_schema().names():  # balances over periods (``layouts``)
        first, last = pl.col("start_date"), pl.coalesce("end_date", "start_date")
    else:
        first = last = pl.col("date")
    return usable.select(first.min().alias("first"), last.max().alias("last"))


def span_of_parts(parts: pl.DataFrame) -> Span | None:
    """The input's span from its parts' (``usable_span``)."""
    first, last = parts.select(pl.col("first").min(), pl.col("last").max()).row(0)
    return (first, last) if first is not None else None


def with_checks(
    summary: dict[str, object],
    warnings: list[str],
    overdrawn: dict[str, int] | None,
    joint: dict[str, int] | None = None,
) -> None:
    """summary.json's ``overdrawn`` (``negative_balances = "zero"`` only) and
    ``warnings`` (always: an empty list says the run found nothing to warn of)."""
    if overdrawn is not None:
        summary["overdrawn"] = overdrawn
    if joint is not None:  # joint accounts found (``joint``)
        summary["joint_accounts"] = joint
    summary["warnings"] = warnings
