"""An Excel workbook of a run, for users who live in Excel: sheets scores, summary,
by_branch, by_manager and migration.

xlsxwriter writes the package: styles, each sheet's bold header row, frozen under an
autofilter, printed landscape and one page wide. The data rows and the shared strings
are rendered by polars (``sheetdata``) and put into that package, so 300,000
customers take seconds, not the minute a cell-by-cell writer takes.

Every text cell is stored as text (a shared string): an id, branch, manager or tier
label such as ``=HYPERLINK("http://x","y")`` comes from the data or a rule file and
is never a formula or a link. xlsxwriter's own conversions, which would turn such
headers into formulas or links, are turned off for the whole workbook.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zipfile import ZIP_DEFLATED, ZipFile

import polars as pl
from xlsxwriter import Workbook
from xlsxwriter.utility import xl_col_to_name

from . import sheetdata
from .errors import ConfigError
from .pipeline import Result

EXCEL_ROWS = 1_048_576  # a worksheet's limit, header included
EXCEL_COLUMNS = 16_384
EXCEL_CELL = 32_767  # a cell's limit, in UTF-16 code units; Excel cuts longer text
TEXT_ONLY = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "in_memory": True,
}
FORMATS = {"money": "#,##0.00", "share": "0.0%", "date": "yyyy-mm-dd"}
A4 = 9  # xlsxwriter's paper code; without one, a sheet's page is US Letter
CHUNK_ROWS = 50_000  # data rows rendered at a time: about 35 MB of XML
STRINGS = "xl/sharedStrings.xml"


def write_workbook(result: Result, path: Path) -> None:
    """Money stays decimal up to the file (its exact text is in the XML); Excel itself
    reads numbers into doubles, exact enough to show but not to re-tier (the CSV and
    Parquet files are for that). Every limit is checked before a byte is written."""
    _check_size(result.scores)
    sheets = {name: sheetdata.cells_of(frame) for name, frame in _sheets(result)}
    for frame in sheets.values():
        _check_cells(frame)
    headers = [name for frame in sheets.values() for name in frame.columns]
    table = sheetdata.shared_strings(headers, list(sheets.values()))
    package, styles = _package(sheets)
    _assemble(package, path, sheets, table, styles)


def _sheets(result: Result) -> list[tuple[str, pl.DataFrame]]:
    """The sheets that have data, in the order they are shown."""
    summary = result.summary
    sheets = {
        "scores": result.scores,
        "summary": _tiers(summary),
        "by_branch": _groups(summary, "by_branch"),
        "by_manager": _groups(summary, "by_manager"),
        "migration": _migration(summary),
    }
    return [(name, frame) for name, frame in sheets.items() if frame is not None]


def _check_size(scores: pl.DataFrame) -> None:
    if scores.height >= EXCEL_ROWS:
        raise ConfigError(
            f"{scores.height:,} scores rows do not fit an Excel sheet "
            f"({EXCEL_ROWS - 1:,} at most); use the CSV or Parquet scores",
            key="--xlsx",
        )
    if scores.width > EXCEL_COLUMNS:
        raise ConfigError(
            f"{scores.width:,} scores columns do not fit an Excel sheet "
            f"({EXCEL_COLUMNS:,} at most); use the CSV or Parquet scores",
            key="--xlsx",
        )


def _check_cells(frame: pl.DataFrame) -> None:
    """A text longer than a cell holds would be cut short without a word: stop instead.
    UTF-8 takes at least as many bytes as UTF-16 takes units, so bytes rule most out.
    Column names are header cells, so they are checked too."""
    names = pl.DataFrame({"column name": frame.columns}, schema={"column name": pl.String})
    for checked in (frame, names):
        text = [name for name, dtype in checked.schema.items() if dtype == pl.String]
        widest = checked.select(pl.col(text).str.len_bytes().max()).row(0) if text else ()
        for name, size in zip(text, widest, strict=True):
            if size is not None and size > EXCEL_CELL:
                _check_units(checked, name)


def _check_units(frame: pl.DataFrame, name: str) -> None:
    astral = r"[\x{10000}-\x{10FFFF}]"  # two UTF-16 units each
    units = pl.col(name).str.len_chars() + pl.col(name).str.count_matches(astral)
    longest = frame.select(units.max()).item()
    if longest > EXCEL_CELL:
        raise ConfigError(
            f"a {name} value of {longest:,} characters does not fit an Excel cell "
            f"({EXCEL_CELL:,} at most); use the CSV or Parquet scores",
            key="--xlsx",
        )


def _package(sheets: dict[str, pl.DataFrame]) -> tuple[bytes, dict[str, int]]:
    """The workbook without its data rows, and the style number of each kind of cell.
    Header texts are xlsxwriter's first shared strings, numbered in the order written,
    as ``sheetdata.shared_strings`` numbers them."""
    buffer = io.BytesIO()
    book = Workbook(buffer, TEXT_ONLY)
    bold = book.add_format({"bold": True})
    formats = {kind: book.add_format({"num_format": code}) for kind, code in FORMATS.items()}
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name)
        kinds = [sheetdata.kind_of(column, dtype) for column, dtype in frame.schema.items()]
        widths = sheetdata.widths(frame)
        for i, column in enumerate(frame.columns):
            sheet.write_string(0, i, column, bold)
            sheet.set_column(i, i, widths[i], formats.get(kinds[i]))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, frame.height, frame.width - 1)
        sheet.set_landscape()
        sheet.set_paper(A4)
        sheet.fit_to_pages(1, 0)  # one page wide, as many long as it takes
        sheet.repeat_rows(0)  # the header on every printed page
    book.close()
    used = {kind: fmt.xf_index for kind, fmt in formats.items() if fmt.xf_index is not None}
    return buffer.getvalue(), used


def _assemble(
    package: bytes,
    path: Path,
    sheets: dict[str, pl.DataFrame],
    table: pl.DataFrame,
    styles: dict[str, int],
) -> None:
    """xlsxwriter's package with each sheet's data rows after its header row and the
    shared strings of the whole workbook. Deflate level 1: the XML is very repetitive,
    and level 6 takes twice the time (2.2 -> 5.0 s at 300,000 customers) for a file a
    quarter smaller."""
    parts = {f"xl/worksheets/sheet{i}.xml": frame for i, frame in enumerate(sheets.values(), 1)}
    headers = [name for frame in sheets.values() for name in frame.columns]
    strings = sheetdata.strings_xml(table, _references(sheets))
    source = ZipFile(io.BytesIO(package))
    if not {*parts, STRINGS} <= set(source.namelist()):
        raise RuntimeError(f"xlsxwriter's package lacks one of {sorted(parts)} or {STRINGS}")
    with source, ZipFile(path, "w", ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename in parts:
                _write_sheet(target, info.filename, data, parts[info.filename], table, styles)
            elif info.filename == STRINGS:
                _check_headers(data, headers)
                target.writestr(STRINGS, strings)
            else:
                target.writestr(info, data)


def _write_sheet(
    target: ZipFile,
    name: str,
    xml: bytes,
    frame: pl.DataFrame,
    table: pl.DataFrame,
    styles: dict[str, int],
) -> None:
    text = xml.decode("utf-8")
    used = f'<dimension ref="A1:{xl_col_to_name(frame.width - 1)}{frame.height + 1}"/>'
    text, found = re.subn(r'<dimension ref="[^"]*"/>', used, text)
    head, rows_end, tail = text.partition("</sheetData>")
    if found != 1 or not rows_end:
        raise RuntimeError(f"unexpected worksheet XML from xlsxwriter in {name}")
    # A cell is 76 bytes of XML at most: past 50M cells the part could pass 4 GiB and
    # needs Zip64 (which old Excel versions cannot read, so only then).
    large = frame.height * frame.width > 50_000_000
    with target.open(name, "w", force_zip64=large) as stream:
        stream.write(head.encode("utf-8"))
        for rows in _ahead(sheetdata.sheet_rows(frame, table, styles, CHUNK_ROWS)):
            stream.write(rows)
        stream.write((rows_end + tail).encode("utf-8"))


def _ahead(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The next chunk is rendered in a thread while this one is deflated: polars and
    zlib both let go of the GIL, so a second core takes a quarter off the time."""
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(next, chunks, None)
        while (chunk := pending.result()) is not None:
            pending = pool.submit(next, chunks, None)
            yield chunk


def _check_headers(xml: bytes, headers: list[str]) -> None:
    """xlsxwriter numbers the header texts 0, 1, … as it writes them, and so does the
    table; a header row pointing at a data text would be a wrong sheet, so check."""
    written = ElementTree.fromstring(xml).get("uniqueCount")
    distinct = len(dict.fromkeys(headers))
    if written != str(distinct):
        raise RuntimeError(f"xlsxwriter wrote {written} header strings, not {distinct}")


def _references(sheets: dict[str, pl.DataFrame]) -> int:
    """How many cells are shared strings: every header and every non-empty text cell."""
    cells = 0
    for frame in sheets.values():
        text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
        cells += frame.width
        if text:
            cells += sum(frame.select(pl.col(text).count()).row(0))
    return cells


def _tiers(summary: dict[str, Any]) -> pl.DataFrame:
    money = ["points", "assets_daily_average"]
    frame = pl.DataFrame(summary["tiers"], orient="row")
    return frame.with_columns(pl.col(money).cast(pl.Decimal(38, 2)))


def _groups(summary: dict[str, Any], key: str) -> pl.DataFrame | None:
    """One row per group, one column per tier (the groups summary.json lists); any
    other count by tier (``service_tiers``) follows as ``service_tiers.五星级``."""
    if key not in summary:
        return None
    frame = pl.DataFrame([_flat(group) for group in summary[key]], orient="row")
    return frame.with_columns(pl.col("points").cast(pl.Decimal(38, 2)))


def _flat(group: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for key, value in group.items():
        if isinstance(value, dict):
            row |= {name if key == "tiers" else f"{key}.{name}": n for name, n in value.items()}
        else:
            row[key] = value
    return row


def _migration(summary: dict[str, Any]) -> pl.DataFrame | None:
    """Previous tier (rows, with new) by tier (columns, with gone)."""
    if "migration" not in summary:
        return None
    found = summary["migration"]
    cells = {col: [row[i] for row in found["counts"]] for i, col in enumerate(found["columns"])}
    return pl.DataFrame({"previous_tier": found["rows"], **cells})
