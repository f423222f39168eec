"""Rich tables for the terminal; always to stderr, so stdout can carry CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from rich.table import Table

from .errors import err


def tier_table(summary: dict[str, Any]) -> Table:
    window = summary["window"]
    title = (
        f"{summary['ruleset']['name']} {window['label']} "
        f"({window['start']}..{window['end']}, {window['days']} days)"
    )
    table = Table(title=title)
    table.add_column("tier")
    for name in ("customers", "share", "points", "daily-average assets"):
        table.add_column(name, justify="right")
    for row in summary["tiers"]:
        table.add_row(
            row["tier"],
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
    for name, codes in summary["unmapped_codes"].items():
        if codes:
            listed = ", ".join(f"{code} ({n})" for code, n in codes.items())
            err.print(f"unmapped {name} codes (scored nothing): {listed}", markup=False)
    if rejects:
        err.print(f"{rejects:,} problem(s) in rejected rows", markup=False)
    _show_views(summary)
    _show_files(files or {})


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
        table.add_row(name, *(f"{row[k]:,}" for k in ("read", "valid", "duplicate", "rejected")))
    err.print(table)
    if rejects.height:
        shown = Table(title=f"first {min(limit, rejects.height)} of {rejects.height:,} problems")
        for col in rejects.columns:
            shown.add_column(col)
        for row in rejects.head(limit).iter_rows():
            shown.add_row(*("" if v is None else str(v) for v in row))
        err.print(shown)
    else:
        err.print("no rejected rows")
