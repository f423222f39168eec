"""An Excel workbook of a run, for users who live in Excel: sheets scores, summary,
by_branch and migration. Written by polars' ``write_excel`` (xlsxwriter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter import Workbook

from .errors import ConfigError
from .pipeline import Result

EXCEL_ROWS = 1_048_576  # a worksheet's limit, header included


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
    with Workbook(path) as book:
        for name, frame in sheets.items():
            if frame is not None:
                frame.write_excel(book, name, autofit=frame.height < 10_000, freeze_panes=(1, 0))


def _tiers(summary: dict[str, Any]) -> pl.DataFrame:
    money = ["points", "assets_daily_average"]
    frame = pl.DataFrame(summary["tiers"], orient="row")
    return frame.with_columns(pl.col(money).cast(pl.Decimal(38, 2)))


def _groups(summary: dict[str, Any], key: str) -> pl.DataFrame | None:
    """One row per group, one column per tier."""
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
