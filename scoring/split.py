"""Scores split into one list per tier, or per branch and tier, so that each manager
gets just the list to work on.

The CSV lists are opened by people, in Excel, where a cell that begins with ``=``
(or ``+``, ``-``, ``@``, a tab or a carriage return) is run as a formula:
``=HYPERLINK("http://x","y")`` in a manager column would be a live link. So their
text cells and headers are defused the OWASP way, prefixed with ``'``. The
machine-readable outputs (scores.csv and every Parquet file) stay verbatim.

For the same readers the lists start with a UTF-8 byte order mark: Excel opens a CSV
without one in the system's code page, which on a Chinese Windows (GBK) shows 五星级 as
mojibake. scores.csv is for programs, which take a BOM as part of the first column's
name, so it has none unless asked (``--csv-bom``).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import polars as pl

from .breakdown import UNASSIGNED
from .errors import InputError

SPLIT_FOLDERS = {"tier": "by_tier", "branch": "by_branch"}
_UNSAFE = r'[\\/:*?"<>|\x00-\x1f]'  # not allowed in a file name on some system
# A spreadsheet runs a cell beginning with one of these (after spaces, too) as a formula.
_FORMULA = r"^(?:[=+\-@\t\r]|\s+[=+\-@])"
_PLAIN_NUMBER = r"^[+-]?[0-9]+(?:\.[0-9]+)?$"  # "-5" or "+1.5" is read as a number, nothing runs


def safe_name(column: str) -> pl.Expr:
    """A file or folder name from a label: unsafe characters become ``_``; a blank one,
    or one made only of dots, becomes UNASSIGNED."""
    name = pl.col(column).cast(pl.String).str.replace_all(_UNSAFE, "_").str.strip_chars()
    return pl.when(name.str.strip_chars(".") != "").then(name).otherwise(pl.lit(UNASSIGNED))


def write_split(scores: pl.DataFrame, root: Path, by: str, fmt: str) -> dict[str, Path]:
    """One file per tier that has customers (``by_tier/五星级.csv``), or per branch and
    tier (``by_branch/朝阳支行/五星级.csv``). Customers no longer scored (migration's
    gone) have no tier and are in no list. CSV lists are ``defused`` for spreadsheets
    and start with a BOM; Parquet lists are read by programs, which want the values as
    they are."""
    if by == "branch" and "branch" not in scores.columns:
        raise InputError("--split branch needs a branch column in --customers", key="branch")
    folder = SPLIT_FOLDERS[by]
    keys = ["_tier_name"] if by == "tier" else ["_branch_name", "_tier_name"]
    named = scores.filter(pl.col("tier").is_not_null()).with_columns(
        safe_name("tier").alias("_tier_name"),
        *([safe_name("branch").alias("_branch_name")] if by == "branch" else []),
    )
    if by == "branch":
        _check_distinct(named)
    written = {}
    for key, part in named.partition_by(keys, as_dict=True, include_key=False).items():
        *branch, tier = key
        relative = Path(folder, *map(str, branch), f"{tier}.{fmt}")
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_scores(defused(part) if fmt == "csv" else part, root / relative, fmt, bom=True)
        written[relative.as_posix()] = root / relative
    return dict(sorted(written.items()))


def write_scores(
    scores: pl.DataFrame, target: Path | IO[bytes], fmt: str = "csv", *, bom: bool = False
) -> None:
    """Every scores file is written the same way (the split lists included). zstd's
    level 1 makes smaller files of these columns than its default, in less time.
    ``bom``: a CSV starts with a UTF-8 byte order mark, for Excel (Parquet has none)."""
    if fmt == "parquet":
        scores.write_parquet(target, statistics=False, compression="zstd", compression_level=1)
    else:
        scores.write_csv(target, include_bom=bom)


def defused(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` safe to open in a spreadsheet: every text cell and column name that a
    spreadsheet would run as a formula gets a leading ``'``, which shows it as the text
    it is (OWASP's advice for CSV injection). Only text: a number column, negative
    values included, is written as numbers; and a text cell that is just a number
    (``-5``) runs nothing, so it is left as it is."""
    kinds = (pl.String, pl.Categorical, pl.Enum)
    text = [name for name, dtype in frame.schema.items() if isinstance(dtype, kinds)]
    cells = frame.with_columns(_defused(pl.col(name).cast(pl.String)).alias(name) for name in text)
    names = {name: _defused_name(name) for name in frame.columns}
    clash = [name for name in frame.columns if names[name] != name and names[name] in names]
    if clash:  # columns "=a" and "'=a": two columns of one name would follow
        raise InputError(
            f"columns {clash[0]!r} and {names[clash[0]]!r} would share a name in the lists",
            key=clash[0],
        )
    return cells.rename(names)


def _defused(text: pl.Expr) -> pl.Expr:
    risky = text.str.contains(_FORMULA) & ~text.str.contains(_PLAIN_NUMBER)
    return pl.when(risky).then(pl.lit("'") + text).otherwise(text)


def _defused_name(name: str) -> str:
    return pl.select(_defused(pl.lit(name, pl.String))).item()


def _check_distinct(named: pl.DataFrame) -> None:
    """Two branches whose names differ only in unsafe characters would share a folder,
    and one manager would get another branch's customers: stop instead."""
    shared = named.group_by("_branch_name").agg(pl.col("branch").unique().sort())
    clash = shared.filter(pl.col("branch").list.len() > 1)
    if clash.height:
        names = ", ".join(clash["branch"][0].fill_null(UNASSIGNED).to_list())
        raise InputError(
            f"branches {names} would share the folder {clash['_branch_name'][0]!r}",
            key="branch",
        )
