"""Outputs for Excel (issue #23): scores.xlsx is fast, formatted and typed, and the CSV
files people open in Excel say they are UTF-8.

The workbook is read back from its XML (an .xlsx is a zip of XML parts; no reader
library is installed): cell types (``t="s"`` text, ``t="b"`` TRUE/FALSE, numbers),
number formats from styles.xml, the bold frozen header, the autofilter and the page
setup. Every cell is compared with scores.csv or the frame it was written from.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from xlsxwriter.utility import xl_col_to_name

from tierscore.scoring import workbook
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.split import write_split
from tierscore.scoring.workbook import EXCEL_CELL, EXCEL_ROWS, write_workbook

from .conftest import Ran, tierscore_here

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
INPUTS = ["--balances", str(SAMPLE / "balances.csv"), "--transactions",
          str(SAMPLE / "transactions.csv"), "--period", "2026H1"]  # fmt: skip
BOM = b"\xef\xbb\xbf"
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DOC_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
BUILTIN = {"0": "General", "4": "#,##0.00", "9": "0%", "10": "0.00%", "14": "m/d/yyyy"}
MONEY, SHARE, DATE = "#,##0.00", "0.0%", "yyyy-mm-dd"
MONEY_TYPE = pl.Decimal(38, 2)
TIERS = [
    {"tier": "五星级", "customers": 1, "share": 0.5, "points": "10.00", "assets_daily_average": "1"}
]


# --- reading a workbook back --------------------------------------------------------


@dataclass
class Cell:
    kind: str  # s (shared string), b (boolean), n (number), e (error)
    value: str  # the text, "1"/"0", or the number exactly as written
    fmt: str
    bold: bool


@dataclass
class Sheet:
    root: ET.Element
    cells: dict[tuple[int, int], Cell] = field(default_factory=dict)  # (row, column), 1-based

    def row(self, number: int) -> list[Cell | None]:
        width = max(col for _, col in self.cells)
        return [self.cells.get((number, col)) for col in range(1, width + 1)]

    @property
    def height(self) -> int:
        return max(row for row, _ in self.cells)


def unescape(text: str) -> str:
    """Excel's _xHHHH_ escapes back to characters (``_x005F_`` is a literal ``_``)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m[1], 16)), text)


def position(ref: str) -> tuple[int, int]:
    letters, digits = re.fullmatch(r"([A-Z]+)([0-9]+)", ref).groups()  # type: ignore[union-attr]
    col = 0
    for letter in letters:
        col = col * 26 + ord(letter) - 64
    return int(digits), col


def styles_of(book: zipfile.ZipFile) -> list[tuple[str, bool]]:
    """Each cell style (xf) as (number format code, bold)."""
    root = ET.fromstring(book.read("xl/styles.xml"))
    codes = dict(BUILTIN)
    codes |= {f.get("numFmtId"): f.get("formatCode") for f in root.iter(f"{MAIN}numFmt")}
    fonts = [font.find(f"{MAIN}b") is not None for font in root.find(f"{MAIN}fonts")]  # type: ignore[union-attr]
    xfs = root.find(f"{MAIN}cellXfs")
    return [(codes[xf.get("numFmtId", "0")], fonts[int(xf.get("fontId", "0"))]) for xf in xfs]  # type: ignore[union-attr]


def read_book(path: Path) -> tuple[dict[str, Sheet], ET.Element]:
    """Every sheet by name, following workbook.xml and its relationships as Excel does,
    and the workbook element itself."""
    with zipfile.ZipFile(path) as book:
        names = book.namelist()
        assert names[0] == "[Content_Types].xml"
        assert len(names) == len(set(names)), "a part twice"
        shared = ET.fromstring(book.read("xl/sharedStrings.xml"))
        strings = [unescape("".join(si.itertext())) for si in shared.iter(f"{MAIN}si")]
        assert shared.get("uniqueCount") == str(len(strings))
        styles = styles_of(book)
        root = ET.fromstring(book.read("xl/workbook.xml"))
        rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{RELS}Relationship")}
        sheets = {}
        references = 0
        for element in root.iter(f"{MAIN}sheet"):
            xml = book.read("xl/" + targets[element.get(DOC_REL)]).decode("utf-8")
            assert "<f>" not in xml and "<f " not in xml  # no formula at all
            sheet = Sheet(ET.fromstring(xml))
            for c in sheet.root.iter(f"{MAIN}c"):
                kind, text = c.get("t", "n"), c.findtext(f"{MAIN}v")
                assert kind in ("s", "b", "n", "e") and text is not None, ET.tostring(c)
                references += kind == "s"
                fmt, bold = styles[int(c.get("s", "0"))]
                value = strings[int(text)] if kind == "s" else text
                sheet.cells[position(c.get("r", ""))] = Cell(kind, value, fmt, bold)
            sheets[element.get("name", "")] = sheet
        assert shared.get("count") == str(references)
    return sheets, root


def as_text(cell: Cell | None) -> str:
    """A cell as scores.csv writes the same value."""
    if cell is None:
        return ""
    if cell.kind == "b":
        return {"1": "true", "0": "false"}[cell.value]
    if cell.fmt == DATE:
        return (date(1899, 12, 30) + timedelta(days=int(cell.value))).isoformat()
    return cell.value


# --- one end-to-end run with the workbook and the branch lists ---------------------------


def tierscore(*args: str) -> Ran:
    return tierscore_here("score", *args, "--quiet")


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("excel") / "out"
    done = tierscore(*INPUTS, "--customers", str(SAMPLE / "customers.csv"), "--previous",
                     str(SAMPLE / "previous_scores.csv"), "--xlsx", "--split", "branch",
                     "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_every_scores_cell_is_typed_and_formatted(sample_out: Path) -> None:
    sheets, _ = read_book(sample_out / "scores.xlsx")
    assert list(sheets) == ["scores", "summary", "by_branch", "by_manager", "migration"]
    scores = pl.read_csv(sample_out / "scores.csv", infer_schema=False)
    typed = pl.read_csv(sample_out / "scores.csv", infer_schema_length=None, try_parse_dates=True)
    typed = typed.schema
    sheet = sheets["scores"]
    assert sheet.height == scores.height + 1
    assert [as_text(c) for c in sheet.row(1)] == scores.columns
    kinds = {pl.String: "s", pl.Boolean: "b", pl.Int64: "n", pl.Float64: "n", pl.Date: "n"}
    for number, row in enumerate(scores.iter_rows(), 2):
        cells = sheet.row(number)
        assert [as_text(c) for c in cells] == [v or "" for v in row]  # money: exact text
        for name, cell in zip(scores.columns, cells, strict=True):
            if cell is None:
                continue
            assert cell.kind == kinds[typed[name]], (name, cell)
            # the CSV's floats are Decimal money in the run: scores hold no other float
            shown = {pl.Float64: MONEY, pl.Date: DATE}.get(typed[name], "General")
            assert cell.fmt == shown and not cell.bold, name
    kinds = {cell.kind for cell in sheet.cells.values()}
    assert kinds == {"s", "b", "n"}


def test_summary_sheets_format_money_and_shares(sample_out: Path) -> None:
    sheets, _ = read_book(sample_out / "scores.xlsx")
    summary = json.loads((sample_out / "summary.json").read_text(encoding="utf-8"))
    tiers = sheets["summary"]
    assert [as_text(c) for c in tiers.row(1)] == list(summary["tiers"][0])
    for number, tier in enumerate(summary["tiers"], 2):
        label, customers, share, points, assets = tiers.row(number)
        assert (label.kind, label.value) == ("s", tier["tier"])  # type: ignore[union-attr]
        assert (customers.fmt, customers.value) == ("General", str(tier["customers"]))  # type: ignore[union-attr]
        assert (share.fmt, float(share.value)) == (SHARE, tier["share"])  # type: ignore[union-attr]
        assert (points.fmt, points.value) == (MONEY, tier["points"])  # type: ignore[union-attr]
        assert (assets.fmt, assets.value) == (MONEY, tier["assets_daily_average"])  # type: ignore[union-attr]
    branches = sheets["by_branch"]
    header = [as_text(c) for c in branches.row(1)]
    points = header.index("points") + 1
    for number, group in enumerate(summary["by_branch"], 2):
        cell = branches.cells[(number, points)]
        assert (cell.kind, cell.fmt, cell.value) == ("n", MONEY, group["points"])
    movers = sheets["migration"]
    assert [as_text(c) for c in movers.row(1)][1:] == summary["migration"]["columns"]


def test_each_sheet_has_a_bold_frozen_filtered_header_and_prints_landscape(
    sample_out: Path,
) -> None:
    sheets, book = read_book(sample_out / "scores.xlsx")
    filters = {
        d.get("localSheetId"): d.text
        for d in book.iter(f"{MAIN}definedName")
        if d.get("name") == "_xlnm._FilterDatabase"
    }
    for index, (name, sheet) in enumerate(sheets.items()):
        header = sheet.row(1)
        assert all(c is not None and c.kind == "s" and c.bold for c in header), name
        assert not any(c.bold for (row, _), c in sheet.cells.items() if row > 1), name
        last = xl_col_to_name(len(header) - 1)
        used = f"A1:{last}{sheet.height}"
        root = sheet.root
        assert root.find(f"{MAIN}dimension").get("ref") == used  # type: ignore[union-attr]
        assert root.find(f"{MAIN}autoFilter").get("ref") == used, name  # type: ignore[union-attr]
        assert filters[str(index)] == f"{name}!$A$1:${last}${sheet.height}"
        pane = root.find(f"{MAIN}sheetViews/{MAIN}sheetView/{MAIN}pane")
        assert pane is not None and pane.get("state") == "frozen", name
        frozen = (pane.get("ySplit"), pane.get("xSplit"), pane.get("topLeftCell"))
        assert frozen == ("1", None, "A2"), name
        page = root.find(f"{MAIN}pageSetup")
        assert page is not None and page.get("orientation") == "landscape", name
        assert page.get("fitToWidth", "1") == "1" and page.get("fitToHeight") == "0", name
        fit = root.find(f"{MAIN}sheetPr/{MAIN}pageSetUpPr")
        assert fit is not None and fit.get("fitToPage") == "1", name


def test_branch_lists_start_with_a_bom_and_scores_csv_does_not(sample_out: Path) -> None:
    lists = sorted((sample_out / "by_branch").rglob("*.csv"))
    assert len(lists) > 4
    scores = (sample_out / "scores.csv").read_bytes()
    assert scores.startswith(b"customer_id,")  # for programs: no BOM
    header = scores.split(b"\n", 1)[0]
    for path in lists:
        data = path.read_bytes()
        assert data.startswith(BOM + header), path  # once, then the same header
        assert not data[3:].startswith(BOM)
        assert pl.read_csv(path).columns == header.decode("utf-8").split(",")


def test_manifest_hashes_the_files_as_written(sample_out: Path) -> None:
    manifest = json.loads((sample_out / "manifest.json").read_text(encoding="utf-8"))
    listed = {entry["file"]: entry for entry in manifest["outputs"]}
    assert "scores.xlsx" in listed and any(name.startswith("by_branch/") for name in listed)
    for name, entry in listed.items():
        if name == "manifest.json":
            continue
        data = (sample_out / name).read_bytes()
        assert entry["bytes"] == len(data), name
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name


def test_csv_bom_marks_scores_csv_and_changes_nothing_else(
    sample_out: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = tierscore(*INPUTS, "--customers", str(SAMPLE / "customers.csv"), "--previous",
                     str(SAMPLE / "previous_scores.csv"), "--csv-bom", "--split", "tier",
                     "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = (out / "scores.csv").read_bytes()
    assert data == BOM + (sample_out / "scores.csv").read_bytes()
    assert (out / "rejects.csv").read_bytes() == (sample_out / "rejects.csv").read_bytes()
    for path in (out / "by_tier").glob("*.csv"):
        assert path.read_bytes().startswith(BOM + b"customer_id,")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["outputs"] if e["file"] == "scores.csv")
    assert (entry["bytes"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())


def test_parquet_lists_have_no_bom(tmp_path: Path) -> None:
    scores = pl.DataFrame({"customer_id": ["A", "B"], "tier": ["五星级", "四星级"]})
    written = write_split(scores, tmp_path, "tier", "parquet")
    assert all(path.read_bytes().startswith(b"PAR1") for path in written.values())
    written = write_split(scores, tmp_path / "csv", "tier", "csv")
    assert all(path.read_bytes().startswith(BOM + b"customer_id,") for path in written.values())


NO_SCORES_CSV = [
    ["--out", "-"],
    ["--format", "parquet", "--out", "OUT"],
    ["--format", "PARQUET", "--out", "OUT"],
    ["--engine", "spark", "--out", "s3a://bucket/scores"],
]


@pytest.mark.parametrize("extra", NO_SCORES_CSV)
def test_csv_bom_where_there_is_no_scores_csv_file_stops(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Asked where it would do nothing (stdout is for programs), it stops: exit 2."""
    from tierscore.cli.errors import _outcome
    from tierscore.cli.main import app

    where = [str(tmp_path / "o") if arg == "OUT" else arg for arg in extra]
    args = ["score", *INPUTS, "--csv-bom", *where]
    code = _outcome(lambda: app(args, prog_name="tierscore"), verbose=False)
    said = capsys.readouterr()
    assert code == 2 and "--csv-bom" in said.err and said.out == ""
    assert not (tmp_path / "o").exists()


# --- the workbook writer on frames made to break it --------------------------------------


def run_of(scores: pl.DataFrame, **summary: Any) -> Any:
    """What write_workbook reads of a run: its scores and its summary."""
    return SimpleNamespace(scores=scores, summary={"tiers": TIERS, **summary})


def sheet_values(sheet: Sheet, rows: int) -> list[list[Any]]:
    return [[c and (c.kind, c.value) for c in sheet.row(n)] for n in range(1, rows + 1)]


HOSTILE = [
    '=HYPERLINK("http://x","y")', "http://example.com", "+1", "-5", "@SUM(1)", "1e5",
    "_x0041_", "_x005F_x0041_", "a\x01b", "\x1b]0;pwned\x07", "tab\tnew\nline\r",
    "  lead", "trail  ", " ", "&amp; <b>bold</b> \"q\" 'a'", "<r><t>rich</t></r>",
    "五星级", "😀 astral", "\ufffe\uffff", "]]>", "",
]  # fmt: skip


def test_hostile_text_comes_back_as_typed(tmp_path: Path) -> None:
    names = ["=SUM(A1)", "<r><t>x</t></r>", "_x0041_", " spaced ", "五星级"]
    frame = pl.DataFrame({name: HOSTILE for name in names})
    write_workbook(run_of(frame), tmp_path / "w.xlsx")
    sheets, _ = read_book(tmp_path / "w.xlsx")
    rows = sheet_values(sheets["scores"], len(HOSTILE) + 1)
    assert rows[0] == [("s", name) for name in names]
    assert [row[0] for row in rows[1:]] == [("s", text) if text else None for text in HOSTILE]
    assert all(row[1:] == [row[0]] * 4 for row in rows[1:])


def test_random_frames_come_back_cell_for_cell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text from a hostile alphabet, numbers, money and flags, with nulls anywhere, over
    several chunks (a chunk of 7 rows here): every cell comes back as it went in."""
    monkeypatch.setattr(workbook, "CHUNK_ROWS", 7)
    pick = random.Random(23)
    alphabet = ["a", "=", "_x0041_", "&", "<", "\x00", "\x1f", "\r", " ", "五", "😀", '"', "_"]
    n = 60
    rows = range(n)

    def maybe(value: Any) -> Any:
        return None if pick.random() < 0.2 else value

    frame = pl.DataFrame(
        {
            "text": [maybe("".join(pick.choices(alphabet, k=pick.randint(0, 6)))) for _ in rows],
            "count": [maybe(pick.randint(-(2**40), 2**40)) for _ in range(n)],
            "money": [maybe(Decimal(pick.randint(-(10**16), 10**16)) / 100) for _ in range(n)],
            "flag": [maybe(pick.random() < 0.5) for _ in range(n)],
        },
        schema={"text": pl.String, "count": pl.Int64, "money": MONEY_TYPE, "flag": pl.Boolean},
    )
    write_workbook(run_of(frame), tmp_path / "r.xlsx")
    sheet = read_book(tmp_path / "r.xlsx")[0]["scores"]
    assert sorted({row for row, _ in sheet.cells}) == list(range(1, n + 2))  # no row lost
    for number, row in enumerate(frame.iter_rows(), 2):
        text, count, money, flag = (sheet.cells.get((number, col)) for col in range(1, 5))
        assert (text.value if text else "") == (row[0] or "")  # "" is an empty cell, as in Excel
        assert text is None or text.kind == "s"
        assert (count and int(count.value)) == row[1]
        assert (money and Decimal(money.value)) == row[2]
        assert money is None or (money.fmt == MONEY and money.value == f"{row[2]:.2f}")
        assert (flag and flag.value) == {True: "1", False: "0", None: None}[row[3]]
        assert flag is None or flag.kind == "b"


def test_dates_floats_and_categories(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "since": [date(2026, 6, 30), None, date(1900, 3, 1)],
            "old": [date(2026, 6, 30), date(1899, 12, 31), None],  # Excel has no such date
            "ratio_share": [0.125, float("nan"), float("inf")],
            "ratio": [1e-7, None, -0.5],
            "segment": pl.Series(["VIP", None, "VIP"], dtype=pl.Categorical),
            "at": [datetime(2026, 6, 30, 12), None, None],
        }
    )
    write_workbook(run_of(frame), tmp_path / "d.xlsx")
    sheet = read_book(tmp_path / "d.xlsx")[0]["scores"]
    since, old, share, ratio, segment, at = sheet.row(2)
    assert (since.kind, since.fmt, since.value) == ("n", DATE, "46203")  # type: ignore[union-attr]
    assert sheet.cells[(4, 1)].value == "61"  # 1 March 1900
    assert (2 + 1, 1) not in sheet.cells  # a null date: no cell
    assert (old.kind, old.value) == ("s", "2026-06-30")  # type: ignore[union-attr]
    assert sheet.cells[(3, 2)].value == "1899-12-31"
    assert (share.fmt, share.value) == (SHARE, "0.125")  # type: ignore[union-attr]
    assert [(c.kind, c.value) for c in (sheet.cells[(3, 3)], sheet.cells[(4, 3)])] == [
        ("e", "#NUM!"),
        ("e", "#NUM!"),
    ]
    assert ratio.fmt == "General" and math.isclose(float(ratio.value), 1e-7)  # type: ignore[union-attr]
    assert (segment.kind, segment.value) == ("s", "VIP")  # type: ignore[union-attr]
    assert at.kind == "s" and at.value.startswith("2026-06-30")  # type: ignore[union-attr]


def test_limits_stop_before_a_byte_is_written(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    long = "长" * (EXCEL_CELL // 2) + "😀" * (EXCEL_CELL // 4 + 2)  # 24,576 chars, 32,769 units
    with pytest.raises(ConfigError, match="does not fit an Excel cell"):
        write_workbook(run_of(pl.DataFrame({"note": ["ok", long]})), path)
    with pytest.raises(ConfigError, match="does not fit an Excel cell"):
        write_workbook(run_of(pl.DataFrame({"x" * (EXCEL_CELL + 1): [1]})), path)
    with pytest.raises(ConfigError, match="Excel cell cannot hold"):
        write_workbook(run_of(pl.DataFrame({"tags": [["a", "b"]]})), path)
    with pytest.raises(ConfigError, match=r"1,048,576 scores rows do not fit"):
        write_workbook(run_of(pl.DataFrame({"n": pl.int_range(EXCEL_ROWS, eager=True)})), path)
    assert not path.exists()
    fits = "😀" * (EXCEL_CELL // 2) + "a"  # 32,767 UTF-16 units: the most a cell holds
    write_workbook(run_of(pl.DataFrame({"note": [fits]})), path)
    assert read_book(path)[0]["scores"].cells[(2, 1)].value == fits


def test_the_last_row_that_fits_is_written(tmp_path: Path) -> None:
    frame = pl.DataFrame({"n": pl.int_range(EXCEL_ROWS - 1, eager=True)})
    write_workbook(run_of(frame), tmp_path / "full.xlsx")
    with zipfile.ZipFile(tmp_path / "full.xlsx") as book:
        xml = book.read("xl/worksheets/sheet1.xml")
    assert b'<dimension ref="A1:A1048576"/>' in xml
    assert xml.count(b"<row ") == EXCEL_ROWS
    assert b'<c r="A1048576"><v>1048574</v></c></row></sheetData>' in xml
