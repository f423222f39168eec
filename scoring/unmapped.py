"""Unmapped codes, kept readable however many there are.

A code the rule set does not know scores nothing, so each one is reported: a mapping
gap must be seen. But a broken or hostile export can hold millions of distinct codes,
and listing them all made a report of hundreds of megabytes and a terminal scrolling
for minutes. So summary.json, the report and the terminal name the ``TOP_CODES`` codes
with the most rows (ties by code) and add up the rest; every code is in
``unmapped_codes.csv``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .split import defused

if TYPE_CHECKING:  # the pipeline builds its summary with ``bounded``
    from .pipeline import Result

TOP_CODES = 50
UNMAPPED_FILE = "unmapped_codes.csv"
SCHEMA = {"input": pl.String, "code": pl.String, "rows": pl.Int64}

Codes = Mapping[str, Mapping[str, int]]  # input -> code -> rows


def code_table(unmapped: Codes) -> pl.DataFrame:
    """Every input's codes as one table: by input, then most rows first, ties by code."""
    frames = [
        pl.DataFrame(
            {"input": [name] * len(codes), "code": list(codes), "rows": list(codes.values())},
            schema=SCHEMA,
        )
        for name, codes in unmapped.items()
    ]
    table = pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
    return table.sort(["input", "rows", "code"], descending=[False, True, False])


def bounded(unmapped: Codes) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per input, the ``TOP_CODES`` codes with the most rows (most first), and how many
    codes and rows the others are (``{"codes": 0, "rows": 0}`` when none is left out)."""
    table = code_table(unmapped).with_columns(pl.int_range(pl.len()).over("input").alias("_rank"))
    listed: dict[str, dict[str, int]] = {name: {} for name in unmapped}
    top = table.filter(pl.col("_rank") < TOP_CODES)
    for name, code, rows, _ in top.iter_rows():  # at most TOP_CODES per input
        listed[name][code] = rows
    rest = {name: {"codes": 0, "rows": 0} for name in unmapped}
    others = table.filter(pl.col("_rank") >= TOP_CODES).group_by("input")
    for name, codes, rows in others.agg(pl.len(), pl.col("rows").sum()).iter_rows():
        rest[name] = {"codes": int(codes), "rows": int(rows)}
    return listed, rest


def write_unmapped(result: Result, folder: Path) -> dict[str, Path]:
    """``unmapped_codes.csv`` in ``folder``: every unmapped code of every input with its
    rows (``input, code, rows``; by input, most rows first, ties by code), written even
    when there is none, so that the file's absence never has to be read. People open it
    in a spreadsheet to fix the mapping, so a code that would run as a formula is
    ``defused`` like the call lists; summary.json has the exact top codes."""
    path = folder / UNMAPPED_FILE
    defused(code_table(result.unmapped)).write_csv(path)
    return {UNMAPPED_FILE: path}
