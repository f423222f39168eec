"""An Excel workbook of a run, for users who live in Excel: sheets scores, summary,
by_branch, by_manager and migration. Written by polars' ``write_excel`` (xlsxwriter).

Every text cell is stored as text. xlsxwriter's own defaults would store a string
beginning with ``=`` as a live formula, one beginning with ``http://`` as a link and
(if asked) a numeric-looking one as a number: an id, branch, manager or tier label
such as ``=HYPERLINK("http://x","y")`` comes from the data or a rule file, so it is
turned off for the whole workbook.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter import Workbook

from .errors import ConfigError
from .pipeline import Result

EXCEL_ROWS = 1_048_576  # a worksheet's limit, header included
EXCEL_CELL = 32_767  # a cell's limit, in UTF-16 code units; xlsxwriter cuts longer text
TEXT_ONLY = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "nan_inf_to_errors": True,  # as polars' own default; scores hold no float anyway
}


def write_workbook(result: Result, path: Path) -> None:
    """Money stays decimal in polars; Excel itself stores numbers as doubles, which is
    exact enough to show but not to re-tier (the CSV and Parquet files are for that)."""
    if result.scores.height >= EXCEL_ROWS:
        raise ConfigError(
            f"{result.scores.height:,} scores rows do not fit an Excel sheet "
            f"({EXCEL_ROWS - 1:,} at most); use the CSV or Parquet scores",
            key="--xlsx",
        )
    summary = result.summary
    sheets = {
        "scores": result.scores,
        "summary": _tiers(summary),
        "by_branch": _groups(summary, "by_branch"),
        "by_manager": _groups(summary, "by_manager"),
        "migration": _migration(summary),
    }
    for frame in sheets.values():
        if frame is not None:
            _check_cells(frame)
    with Workbook(path, TEXT_ONLY) as book:
        for name, frame in sheets.items():
            if frame is not None:
                frame.write_excel(book, name, autofit=frame.height < 10_000, freeze_panes=(1, 0))


def _check_cells(frame: pl.DataFrame) -> None:
    """A text longer than a cell holds would be cut short without a word: stop instead.
    UTF-8 takes at least as many bytes as UTF-16 takes units, so bytes rule most out."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    widest = frame.select(pl.col(text).str.len_bytes().max()).row(0) if text else ()
    astral = r"[\x{10000}-\x{10FFFF}]"  # two UTF-16 units each
    for name, size in zip(text, widest, strict=True):
        if size is None or size <= EXCEL_CELL:
            continue
        units = pl.col(name).str.len_chars() + pl.col(name).str.count_matches(astral)
        longest = frame.select(units.max()).item()
        if longest > EXCEL_CELL:
            raise ConfigError(
                f"a {name} value of {longest:,} characters does not fit an Excel cell "
                f"({EXCEL_CELL:,} at most); use the CSV or Parquet scores",
                key="--xlsx",
            )


def _tiers(summary: dict[str, Any]) -> pl.DataFrame:
    money = ["points", "assets_daily_average"]
    frame = pl.DataFrame(summary["tiers"], orient="row")
    return frame.with_columns(pl.col(money).cast(pl.Decimal(38, 2)))


def _groups(summary: dict[str, Any], key: str) -> pl.DataFrame | None:
    """One row per group, one column per tier (the groups summary.json lists)."""
    if key not in summary:
        return None
    rows = [
        {k: v for k, v in group.items() if k != "tiers"} | group["tiers"] for group in summary[key]
    ]
    frame = pl.DataFrame(rows, orient="row")
    return frame.with_columns(pl.col("points").cast(pl.Decimal(38, 2)))


def _migration(summary: dict[str, Any]) -> pl.DataFrame | None:
    """Previous tier (rows, with new) by tier (columns, with gone)."""
    if "migration" not in summary:
        return None
    found = summary["migration"]
    cells = {col: [row[i] for row in found["counts"]] for i, col in enumerate(found["columns"])}
    return pl.DataFrame({"previous_tier": found["rows"], **cells})
