"""A sheet's rows as SpreadsheetML, rendered by polars expressions, column by column.

xlsxwriter, like every writer that takes a workbook cell by cell, spends several
microseconds of Python per cell: 300,000 customers by 23 columns took 53 s. Here each
column becomes the XML of its cells in one expression (a few seconds for the same
sheet), and the text cells point into one shared-string table built the same way.
``workbook`` has xlsxwriter write everything else (styles, header row, frozen pane,
autofilter, page setup) and puts these rows and strings into its package.

What a cell is follows its column's type, never its text: a String column's cells are
shared strings (``t="s"``), shown as typed even when they read ``=SUM(…)`` or
``http://…``; Boolean cells are TRUE/FALSE (``t="b"``); Decimal money is written as
its exact decimal text, which Excel reads into a double.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from .errors import ConfigError

ROW = "_row"  # the sheet row number of each data row, as text
INDEX = "index"  # a shared string's position in the table
TEXT = "text"
FIRST_DAY = date(1900, 3, 1)  # before it, Excel's serial numbers count a 29 Feb 1900
EPOCH = date(1899, 12, 30)  # day 0 of Excel's serial numbers, from FIRST_DAY on
LAST_DAY = date(9999, 12, 31)
_AS_TEXT = (pl.Categorical, pl.Enum, pl.Datetime, pl.Time, pl.Duration, pl.Null)
_NESTED = (pl.List, pl.Array, pl.Struct, pl.Object, pl.Binary)
_XML_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ESCAPE = r"_x[0-9a-fA-F]{4}_"  # Excel reads this as the character U+HHHH
# Characters XML 1.0 cannot hold, or (CR) that its readers turn into another; Excel
# writes them as _xHHHH_. Tab and newline are kept as they are.
_UNSAFE = r"[\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]"
_UNSAFE_CHARS = [chr(c) for c in (*range(0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF)]


def cells_of(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with each column in the type its cells are written from: categories,
    times and durations as their text; dates Excel cannot show as dates (before
    1 March 1900) as ISO text too, the whole column, so no date is shown wrong. An
    empty text is an empty cell, as Excel itself stores it (and as the CSV shows it)."""
    text = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, _NESTED):
            raise ConfigError(
                f"column {name!r} holds {dtype} values, which an Excel cell cannot hold; "
                "use the Parquet scores",
                key="--xlsx",
            )
        if isinstance(dtype, _AS_TEXT) or (dtype == pl.Date and not _excel_dates(frame[name])):
            text.append(pl.col(name).cast(pl.String))
        elif dtype == pl.String:
            text.append(pl.col(name))
    return frame.with_columns(pl.when(column != "").then(column) for column in text)


def _excel_dates(column: pl.Series) -> bool:
    first, last = column.min(), column.max()
    return first is None or (first >= FIRST_DAY and last <= LAST_DAY)  # type: ignore[operator]


def kind_of(name: str, dtype: pl.DataType) -> str:
    """How a column's cells are written and shown: text, bool, money (every Decimal:
    amounts and points), share (a float column named share or ``*_share``), date,
    number or float (a float may be NaN or infinite, which Excel has no number for)."""
    if dtype == pl.String:
        return "text"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.Decimal):
        return "money"
    if dtype == pl.Date:
        return "date"
    if dtype.is_float():
        return "share" if name == "share" or name.endswith("_share") else "float"
    if dtype.is_integer():
        return "number"
    raise ConfigError(f"column {name!r} of type {dtype} has no Excel cell type", key="--xlsx")


def shared_strings(headers: list[str], frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Every distinct text of the workbook, numbered: the header names first, in the
    order xlsxwriter numbers them as it writes the header rows, then the text cells."""
    texts = [pl.DataFrame({TEXT: headers}, schema={TEXT: pl.String})]
    for frame in frames:
        text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
        texts += [frame.select(pl.col(name).alias(TEXT)).drop_nulls() for name in text]
    table = pl.concat(texts).unique(maintain_order=True)
    return table.with_row_index(INDEX)


def strings_xml(table: pl.DataFrame, count: int) -> bytes:
    """The ``xl/sharedStrings.xml`` part; ``count`` is how many cells refer to it."""
    space = pl.col(TEXT).str.contains(r"^\s|\s$")
    opening = (
        pl.when(space).then(pl.lit('<si><t xml:space="preserve">')).otherwise(pl.lit("<si><t>"))
    )
    xml = pl.concat_str(opening, pl.col("xml"), pl.lit("</t></si>"))
    items = table.with_columns(escaped(table[TEXT]).alias("xml")).select(xml.str.join("")).item()
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{count}" uniqueCount="{table.height}">'
    )
    return (head + (items or "") + "</sst>").encode("utf-8")


def escaped(text: pl.Series) -> pl.Series:
    """Text as Excel stores it in XML: the ``_`` of a literal ``_x0041_`` is escaped
    (else Excel would show "A"), characters XML cannot hold become ``_xHHHH_``, and
    ``& < >`` become entities. The first two are rare and costly, so only the texts
    that need them go through them."""
    rows = text.rename(TEXT).to_frame().with_row_index(INDEX)
    for pattern, fix in ((_ESCAPE, _escape_escapes), (_UNSAFE, _escape_unsafe)):
        rare = rows.filter(pl.col(TEXT).str.contains(pattern))
        if rare.height:
            rows = rows.update(rare.with_columns(fix(pl.col(TEXT))), on=INDEX)
    xml = pl.col(TEXT)
    for char, entity in _XML_ESCAPES:
        xml = xml.str.replace_all(char, entity, literal=True)
    return rows.select(xml).to_series()


def _escape_escapes(text: pl.Expr) -> pl.Expr:
    """``_`` becomes ``_x005F_`` where it begins ``_xHHHH_``, overlapping ones too
    (``_x0041_x0042_``): one regex pass would skip every second, so split at ``_``
    and prefix each part that is exactly ``xHHHH`` with another ``_`` after it."""
    part, at = pl.element(), pl.int_range(pl.len())
    begins = part.str.contains("^x[0-9a-fA-F]{4}$") & (at > 0) & (at < pl.len() - 1)
    fixed = pl.when(begins).then(pl.lit("x005F_") + part).otherwise(part)
    return text.str.split("_").list.eval(fixed).list.join("_")


def _escape_unsafe(text: pl.Expr) -> pl.Expr:
    for char in _UNSAFE_CHARS:
        text = text.str.replace_all(char, f"_x{ord(char):04X}_", literal=True)
    return text


def sheet_rows(
    frame: pl.DataFrame, table: pl.DataFrame, styles: dict[str, int], chunk: int
) -> Iterator[bytes]:
    """The ``<row>`` elements of ``frame``'s data (sheet rows 2, 3, …), ``chunk`` rows
    at a time so that a million customers never sit in memory as one XML text."""
    kinds = {name: kind_of(name, dtype) for name, dtype in frame.schema.items()}
    numbered = frame.with_columns(
        pl.col(name).replace_strict(table[TEXT], table[INDEX], return_dtype=pl.UInt32)
        for name, kind in kinds.items()
        if kind == "text"
    )
    gaps = frame.null_count().row(0)
    pieces = [pl.lit('<row r="'), pl.col(ROW), pl.lit('">')]
    for i, (name, kind) in enumerate(kinds.items()):
        cell = _cell(name, xl_col_to_name(i), kind, styles.get(kind))
        whole = gaps[i] == 0 and kind not in ("float", "share")
        pieces += cell if whole else [_nullable(cell, name, kind)]  # no cell string each
    row = pl.concat_str([*pieces, pl.lit("</row>")], ignore_nulls=True)  # null: no cell
    for start in range(0, frame.height, chunk):
        part = numbered.slice(start, chunk).with_columns(
            (pl.int_range(pl.len(), dtype=pl.Int64) + start + 2).cast(pl.String).alias(ROW)
        )
        yield part.select(row.str.join("")).item().encode("utf-8")


def _cell(name: str, letter: str, kind: str, style: int | None) -> list[pl.Expr]:
    """The pieces of one cell's XML; joined, null where the value is."""
    value = pl.col(name)
    kinds = {"text": ' t="s"', "bool": ' t="b"'}
    attributes = kinds.get(kind, "" if style is None else f' s="{style}"')
    if kind == "bool":
        value = value.cast(pl.UInt8)
    elif kind == "date":
        value = (value - pl.lit(EPOCH)).dt.total_days()
    return [
        pl.lit(f'<c r="{letter}'), pl.col(ROW), pl.lit(f'"{attributes}><v>'),
        value.cast(pl.String), pl.lit("</v></c>"),
    ]  # fmt: skip


def _nullable(pieces: list[pl.Expr], name: str, kind: str) -> pl.Expr:
    """A cell that may be empty (left out), or (a float) NaN or infinite: an error cell,
    as Excel has no such number."""
    xml = pl.concat_str(pieces)  # null if the value is
    if kind not in ("float", "share"):
        return xml
    error = pl.concat_str(pieces[0], pl.col(ROW), pl.lit('" t="e"><v>#NUM!</v></c>'))
    return pl.when(~pl.col(name).is_finite()).then(error).otherwise(xml)


def widths(frame: pl.DataFrame) -> list[float]:
    """A column width that shows the header and the longest value: a CJK character
    counts two (its 3 UTF-8 bytes and 1 character average to 2), money gets room for
    its thousands separators; capped, so one long note does not make a page wide.
    Numbers are measured by their smallest and largest value, not cast to text."""
    ends = frame.select(_ends(name, dtype) for name, dtype in frame.schema.items())
    shown = []
    for name, dtype in frame.schema.items():
        values = ends[name].explode().to_list()
        if dtype == pl.String:
            size = max((v or 0 for v in values), default=0)
        elif dtype.is_numeric():
            size = max((len(str(v)) for v in values), default=1)
            size = size * 4 / 3 if isinstance(dtype, pl.Decimal) else size
        else:
            size = 10 if dtype == pl.Date else 5  # 2026-06-30, FALSE
        header = (len(name) + len(name.encode("utf-8"))) / 2 + 3  # and the filter button
        shown.append(min(max(header, size + 2, 8), 60))
    return shown


def _ends(name: str, dtype: pl.DataType) -> pl.Expr:
    """What a column's width is measured from: its widest text, or its smallest and
    largest number (a list of two)."""
    column = pl.col(name)
    if dtype == pl.String:
        return ((column.str.len_chars() + column.str.len_bytes()) / 2).max().implode()
    if dtype.is_numeric():
        return pl.concat_list(column.min(), column.max())
    return pl.lit(None).implode().alias(name)
