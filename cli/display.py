"""Rich tables for the terminal; always to stderr, so stdout can carry CSV.

Text from the data or a rule file (codes, rejected values, labels) is shown ``plain``: rich
passes escape sequences through, so a code holding ``ESC]0;…`` would retitle or
repaint the operator's terminal; and one huge value would scroll it for minutes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl
from rich.table import Table
from rich.text import Text

from .errors import err

SHOWN_CHARS = 200  # a longer value is cut in the middle; the files have it whole
# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what is shown
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """``value`` as inert text: controls written as escapes, cut to ``SHOWN_CHARS``."""
    text = _CONTROL.sub(lambda m: ascii(m.group())[1:-1], str(value))
    if len(text) <= SHOWN_CHARS:
        return text
    half = SHOWN_CHARS // 2
    return f"{text[:half]}…{text[-(SHOWN_CHARS - half - 1) :]}"


def cell(value: object) -> Text:
    """A table cell from the data: ``plain``, and never read as rich markup (a cell
    ``[link=…]`` would otherwise be a live link in the terminal)."""
    return Text(plain(value))


def tier_table(summary: dict[str, Any]) -> Table:
    window = summary["window"]
    title = (
        f"{summary['ruleset']['name']} {window['label']} "
        f"({window['start']}..{window['end']}, {window['days']} days)"
    )
    table = Table(title=cell(title))
    table.add_column("tier")
    for name in ("customers", "share", "points", "daily-average assets"):
        table.add_column(name, justify="right")
    for row in summary["tiers"]:
        table.add_row(
            cell(row["tier"]),
            f"{row['customers']:,}",
            f"{row['share']:.2%}",
            _money(row["points"]),
            _money(row["assets_daily_average"]),
        )
    table.add_section()
    table.add_row("total", f"{summary['customers']:,}", "", "", "")
    return table


def _money(text: str) -> str:
    whole, _, cents = text.partition(".")
    return f"{int(whole):,}.{cents or '00'}"


def show_run(summary: dict[str, Any], files: dict[str, Path] | None, rejects: int) -> None:
    err.print(tier_table(summary))
    rows = summary["rows"]
    for name, counts in rows.items():
        err.print(
            f"{name}: {counts['read']:,} rows read, {counts['used']:,} used, "
            f"{counts['outside_window']:,} outside the window, {counts['excluded']:,} excluded, "
            f"{counts['unmapped']:,} unmapped, {counts['duplicate']:,} duplicate, "
            f"{counts['rejected']:,} rejected",
            markup=False,
        )
    _show_unmapped(summary, files or {})
    if rejects:
        err.print(f"{rejects:,} problem(s) in rejected rows", markup=False)
    _show_views(summary)
    _show_files(files or {})


def _show_unmapped(summary: dict[str, Any], files: dict[str, Path]) -> None:
    """The codes summary.json names (most rows first), and how many more there are."""
    rest = summary.get("unmapped_codes_rest") or {}
    where = files.get("unmapped_codes.csv")
    for name, codes in summary["unmapped_codes"].items():
        more = rest.get(name) or {"codes": 0, "rows": 0}
        if not codes and not more["codes"]:
            continue
        listed = ", ".join(f"{plain(code)} ({n:,})" for code, n in codes.items())
        if more["codes"]:
            listed += f", and {more['codes']:,} more codes ({more['rows']:,} rows)"
            listed += f": every code is in {where}" if where else ""
        err.print(f"unmapped {name} codes (scored nothing): {listed}", markup=False)


def _show_views(summary: dict[str, Any]) -> None:
    if "migration" in summary:
        moved = summary["migration"]["movement"]
        listed = ", ".join(f"{n:,} {kind}" for kind, n in moved.items())
        err.print(f"against {summary['migration']['previous']}: {listed}", markup=False)
    near = summary.get("upgrade")
    if near and near["customers"]:
        err.print(
            f"{near['customers']:,} customer(s) within {near['pct']}% of the next tier",
            markup=False,
        )


def _show_files(files: dict[str, Path]) -> None:
    """One line per file, but one line per split folder (it may hold hundreds)."""
    folders: dict[str, int] = {}
    for name, path in files.items():
        if "/" in name:
            top = name.split("/", 1)[0]
            folders[top] = folders.get(top, 0) + 1
            continue
        err.print(f"wrote {name}: {path}", markup=False)
    for top, count in folders.items():
        err.print(f"wrote {count:,} list(s) under {top}/", markup=False)


def show_inspection(counts: dict[str, dict[str, int]], rejects: pl.DataFrame, limit: int) -> None:
    table = Table(title="inputs")
    table.add_column("input")
    for name in ("read", "valid", "duplicate", "rejected"):
        table.add_column(name, justify="right")
    for name, row in counts.items():
        table.add_row(
            cell(name), *(f"{row[k]:,}" for k in ("read", "valid", "duplicate", "rejected"))
        )
    err.print(table)
    if rejects.height:
        shown = Table(title=f"first {min(limit, rejects.height)} of {rejects.height:,} problems")
        for col in rejects.columns:
            shown.add_column(col)
        for row in rejects.head(limit).iter_rows():
            shown.add_row(*(cell("" if v is None else v) for v in row))
        err.print(shown)
    else:
        err.print("no rejected rows")
