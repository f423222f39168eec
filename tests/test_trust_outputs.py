"""Outputs people open can be trusted whatever the data holds (issue #17).

An id, branch, manager, carried column or rule label such as ``=HYPERLINK(...)`` must
never become a live formula in scores.xlsx or in the call lists managers open in
Excel; millions of distinct codes, branches or managers must not make a report,
summary or terminal of hundreds of megabytes; and no value may inject markup into
report.html or escape sequences into the terminal.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.cli.display import show_inspection, show_run
from tierscore.cli.errors import err
from tierscore.scoring import report, summary
from tierscore.scoring.errors import InputError
from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.report import render_html
from tierscore.scoring.split import defused, write_split
from tierscore.scoring.unmapped import TOP_CODES, UNMAPPED_FILE, bounded, write_unmapped
from tierscore.scoring.window import parse_window

from .conftest import Ran, tierscore_here

ROOT = Path(__file__).resolve().parent.parent

LINK = '=HYPERLINK("http://x","y")'
TIER = '=HYPERLINK("http://x","四")'  # a rule file's tier label
DDE = "+cmd|' /C calc'!A0"
CUSTOMER_HEADER = ("customer_id", "branch", "manager", "overdue_90d", "missed_consecutive")
CUSTOMER_HEADER += ("missed_total", "=note")
CUSTOMERS = [
    ("=1+2", LINK, "@SUM(1)", "false", 0, 0, "-5"),  # 500 points: TIER
    (DDE, "-2+3", LINK, "false", 0, 0, "=cmd"),  # 1,000 points: TIER
    ("@x", "B2", "M2", "false", 0, 0, "+86 138"),  # 1,500 points: TIER
    ("plain", "B1", "M1", "false", 0, 0, "ok"),  # 2,000 points: 五星级
]
HOSTILE = {"=1+2", LINK, "@SUM(1)", "-5", DDE, "-2+3", "=cmd", "@x", "+86 138", "=note", TIER}
BAL_HEADER = ("customer_id", "account_id", "product", "date", "balance")
TXN_HEADER = ("customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio")
TEXT = ("customer_id", "branch", "manager", "=note", "tier", "next_tier", "quality_blocked_by",
        "service_tier", "service_reason")  # fmt: skip


def write_rows(path: Path, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_rows(path: Path) -> list[dict[str, str]]:
    """The call lists start with a BOM (for Excel); scores.csv does not: read both."""
    with path.open(newline="", encoding="utf-8-sig") as source:
        return list(csv.DictReader(source))


def hostile_inputs(folder: Path) -> list[str]:
    """Inputs whose customers file and rule file hold formula-like text."""
    folder.mkdir(parents=True, exist_ok=True)
    txns = [
        (cid, f"T{i}", "2026-02-01", "POS", f"{12500 * (i + 1)}.00", "", "")
        for i, (cid, *_) in enumerate(CUSTOMERS)
    ]
    rules = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
    rules = rules.replace('label = "四星级"', 'label = "=HYPERLINK(\\"http://x\\",\\"四\\")"')
    (folder / "rules.toml").write_text(rules, encoding="utf-8")
    return [
        "--balances", str(write_rows(folder / "bal.csv", BAL_HEADER, [])),
        "--transactions", str(write_rows(folder / "txn.csv", TXN_HEADER, txns)),
        "--customers", str(write_rows(folder / "cust.csv", CUSTOMER_HEADER, CUSTOMERS)),
        "--rules", str(folder / "rules.toml"),
        "--period", "2026H1",
    ]  # fmt: skip


def tierscore(*args: str) -> Ran:
    done = tierscore_here("score", *args)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One end-to-end run with the workbook and the per-branch lists."""
    folder = tmp_path_factory.mktemp("hostile")
    tierscore(*hostile_inputs(folder), "--xlsx", "--split", "branch", "--out", str(folder / "out"))
    return folder / "out"


# 1. scores.xlsx: every text cell is text --------------------------------------------

MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def workbook_cells(path: Path) -> list[tuple[str, str | None, str]]:
    """Every cell of every sheet as (sheet, type, text), read from the XML itself."""
    with zipfile.ZipFile(path) as book:
        shared = ET.fromstring(book.read("xl/sharedStrings.xml"))
        strings = ["".join(si.itertext()) for si in shared.iter(f"{MAIN}si")]
        cells = []
        for name in sorted(n for n in book.namelist() if n.startswith("xl/worksheets/sheet")):
            sheet = book.read(name).decode("utf-8")
            assert "<f>" not in sheet and "<f " not in sheet, name  # no formula at all
            assert "<hyperlink" not in sheet, name
            for c in ET.fromstring(sheet).iter(f"{MAIN}c"):
                assert c.find(f"{MAIN}f") is None
                value = c.find(f"{MAIN}v")
                kind = c.get("t")
                text = "" if value is None else value.text or ""
                cells.append((name, kind, strings[int(text)] if kind == "s" else text))
        rels = [n for n in book.namelist() if n.endswith(".rels")]
        assert not any(b"hyperlink" in book.read(n) for n in rels)
    return cells


def test_workbook_stores_formula_like_text_as_text(hostile_out: Path) -> None:
    cells = workbook_cells(hostile_out / "scores.xlsx")
    kinds = {kind for _, kind, _ in cells}
    assert kinds <= {"s", "b", "n", None}, kinds  # "str" would be a formula's result
    texts = {text for _, kind, text in cells if kind == "s"}
    assert texts >= HOSTILE  # each one a shared string: shown as typed, never run
    numbers = {text for _, kind, text in cells if kind in ("n", None)}
    assert not numbers & HOSTILE  # "-5" of a text column stays text too
    sheets = {sheet for sheet, kind, text in cells if kind == "s" and text == TIER}
    assert len(sheets) == 4  # scores, summary, by_branch, by_manager all name the tier


# 2. call lists: text cells defused, numbers and machine-readable files verbatim ---------


def test_branch_lists_defuse_formula_cells(hostile_out: Path) -> None:
    lists = sorted((hostile_out / "by_branch").rglob("*.csv"))
    assert {p.parent.name for p in lists} == {"=HYPERLINK(_http___x_,_y_)", "-2+3", "B1", "B2"}
    rows = {row["customer_id"]: row for path in lists for row in read_rows(path)}
    assert set(rows) == {"'=1+2", "'" + DDE, "'@x", "plain"}
    first = rows["'=1+2"]
    assert first["branch"] == "'" + LINK and first["manager"] == "'@SUM(1)"
    assert first["'=note"] == "-5"  # a plain number runs nothing: left as it is
    assert first["tier"] == "'" + TIER and first["next_tier"] == "五星级"
    assert first["points"] == "500.00" and first["missed_total"] == "0"
    second = rows["'" + DDE]
    assert second["branch"] == "'-2+3" and second["manager"] == "'" + LINK
    assert second["'=note"] == "'=cmd"
    assert rows["'@x"]["'=note"] == "'+86 138"
    assert rows["plain"]["tier"] == "五星级" and rows["plain"]["'=note"] == "ok"


def test_branch_lists_hold_the_scores_rows_defused(hostile_out: Path) -> None:
    """Every list cell is the scores.csv cell, with a ' before a text that would run."""
    scores = {row["customer_id"]: row for row in read_rows(hostile_out / "scores.csv")}
    formula = re.compile(r"[=+\-@\t\r]|\s+[=+\-@]")
    number = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
    for path in (hostile_out / "by_branch").rglob("*.csv"):
        for row in read_rows(path):
            original = scores[row["customer_id"].removeprefix("'")]
            for column, value in original.items():
                risky = formula.match(value) and not number.fullmatch(value)
                name = "'=note" if column == "=note" else column
                wanted = "'" + value if column in TEXT and risky else value
                assert row[name] == wanted, (column, value)


def test_scores_csv_stays_verbatim(hostile_out: Path) -> None:
    rows = read_rows(hostile_out / "scores.csv")
    assert "=note" in rows[0]
    by_id = {row["customer_id"]: row for row in rows}
    assert set(by_id) == {"=1+2", DDE, "@x", "plain"}
    assert by_id["=1+2"]["branch"] == LINK and by_id["=1+2"]["manager"] == "@SUM(1)"
    assert by_id[DDE]["=note"] == "=cmd" and by_id[DDE]["tier"] == TIER


def test_tier_lists_defuse_and_parquet_lists_stay_verbatim(tmp_path: Path) -> None:
    args = hostile_inputs(tmp_path)
    tierscore(*args, "--split", "tier", "--out", str(tmp_path / "out"), "--quiet")
    listed = read_rows(tmp_path / "out" / "by_tier" / "=HYPERLINK(_http___x_,_四_).csv")
    assert sorted(row["customer_id"] for row in listed) == ["'" + DDE, "'=1+2", "'@x"]
    assert {row["tier"] for row in listed} == {"'" + TIER}
    tierscore(*args, "--split", "tier", "--format", "parquet", "--out", str(tmp_path / "pq"))
    typed = pl.read_parquet(tmp_path / "pq" / "by_tier" / "=HYPERLINK(_http___x_,_四_).parquet")
    assert sorted(typed["customer_id"]) == sorted([DDE, "=1+2", "@x"])
    assert set(typed["tier"]) == {TIER} and "=note" in typed.columns


def test_defused_leaves_numbers_alone() -> None:
    frame = pl.DataFrame(
        {
            "count": [-5, 3],
            "money": pl.Series([Decimal("-1.50"), Decimal("2.00")], dtype=pl.Decimal(10, 2)),
            "ratio": [-2.5, 0.5],
            "text": ["-5", "-5e3"],
            "more": ["\t=1", " =1"],
            "kept": ["a=b", "'=x"],
        }
    )
    written = io.StringIO(defused(frame).write_csv())
    assert list(csv.reader(written)) == [
        ["count", "money", "ratio", "text", "more", "kept"],
        ["-5", "-1.50", "-2.5", "-5", "'\t=1", "a=b"],
        ["3", "2.00", "0.5", "'-5e3", "' =1", "'=x"],
    ]


def test_defused_names_that_would_clash_stop(tmp_path: Path) -> None:
    scores = pl.DataFrame({"customer_id": ["A"], "tier": ["T"], "=x": ["1"], "'=x": ["2"]})
    with pytest.raises(InputError, match="would share a name"):
        write_split(scores, tmp_path, "tier", "csv")
    write_split(scores, tmp_path, "tier", "parquet")  # Parquet keeps the names as they are
    assert pl.read_parquet(tmp_path / "by_tier" / "T.parquet").columns[2:] == ["=x", "'=x"]


# 3. bounded outputs -----------------------------------------------------------------

CODES = 5_000
HOT = 60  # codes with 3 rows each; the rest have 1
REST_ROWS = 3 * HOT + (CODES - HOT) - 3 * TOP_CODES  # the rows of the codes not listed
ESCAPE = "\x1b]0;pwned\x07"  # retitles a terminal


def many_codes(folder: Path) -> list[str]:
    """One customer with 5,000 distinct unmapped transaction types."""
    folder.mkdir(parents=True, exist_ok=True)
    codes = [f"Z{i:04d}" for i in range(CODES - 2)] + [ESCAPE, LINK]
    counts = [3 if i < HOT - 2 or code in (ESCAPE, LINK) else 1 for i, code in enumerate(codes)]
    txns = [("C1", "T0", "2026-02-01", "POS", "100.00", "", "")]
    for code, n in zip(codes, counts, strict=True):
        for _ in range(n):
            txns.append(("C1", f"T{len(txns)}", "2026-02-01", code, "1.00", "", ""))
    bal = write_rows(folder / "bal.csv", BAL_HEADER, [])
    txn = write_rows(folder / "txn.csv", TXN_HEADER, txns)
    return [str(bal), str(txn)]


@pytest.fixture(scope="module")
def codes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("codes")
    bal, txn = many_codes(folder)
    out = folder / "out"
    done = tierscore(
        "--balances", bal, "--transactions", txn, "--period", "2026H1", "--out", str(out)
    )
    return out, done.stderr


def expected_top() -> dict[str, int]:
    """The 50 codes with most rows (3 each, ties by code): the escape and link codes
    sort after Z… ones, and the first 48 Z codes."""
    hot = sorted([f"Z{i:04d}" for i in range(HOT - 2)] + [ESCAPE, LINK])
    return dict.fromkeys(hot[:TOP_CODES], 3)


def test_summary_names_top_codes_and_counts_the_rest(codes_run: tuple[Path, str]) -> None:
    out, _ = codes_run
    text = (out / "summary.json").read_text(encoding="utf-8")
    found = json.loads(text)
    listed = found["unmapped_codes"]["transactions"]
    assert listed == expected_top() and list(listed.values()) == [3] * TOP_CODES
    assert list(listed) == sorted(listed)  # most rows first, ties by code
    rows = found["rows"]["transactions"]["unmapped"]
    assert rows == 3 * HOT + (CODES - HOT)
    assert found["unmapped_codes_rest"] == {
        "balances": {"codes": 0, "rows": 0},
        "transactions": {"codes": CODES - TOP_CODES, "rows": REST_ROWS},
    }
    assert len(text.encode()) < 30_000


def test_report_and_terminal_stay_small(codes_run: tuple[Path, str]) -> None:
    out, stderr = codes_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert len(page.encode()) < 100_000
    assert page.count("<td>Z") == TOP_CODES - 2  # the listed Z codes, and no other
    assert f"交易：另有 4,950 个代码（{REST_ROWS:,} 行）" in page  # Chinese tiers: a zh page
    assert len(stderr) < 10_000 and len(stderr.splitlines()) < 40
    line = next(x for x in stderr.splitlines() if x.startswith("unmapped transactions codes"))
    assert line.count(" (3)") == TOP_CODES and f"and 4,950 more codes ({REST_ROWS:,} rows)" in line
    assert "\x1b" not in stderr and "\\x1b]0;pwned\\x07" in line  # shown, not obeyed


def test_full_code_list_is_its_own_file(tmp_path: Path) -> None:
    bal, txn = many_codes(tmp_path)
    result = run(Job(bal, txn, parse_window("2026H1")))
    written = write_unmapped(result, tmp_path)
    assert written == {UNMAPPED_FILE: tmp_path / UNMAPPED_FILE}
    rows = read_rows(tmp_path / UNMAPPED_FILE)
    assert len(rows) == CODES and list(rows[0]) == ["input", "code", "rows"]
    assert {r["input"] for r in rows} == {"transactions"}
    keys = [(-int(r["rows"]), r["code"].removeprefix("'")) for r in rows]
    assert keys == sorted(keys)  # most rows first, ties by code
    assert {r["code"]: int(r["rows"]) for r in rows[:TOP_CODES]} == {
        ("'" + c if c == LINK else c): n for c, n in expected_top().items()
    }  # the file is opened in a spreadsheet: the link code is defused there
    assert sum(int(r["rows"]) for r in rows) == result.summary["rows"]["transactions"]["unmapped"]
    assert result.summary["unmapped_codes"]["transactions"][LINK] == 3  # exact in the summary
    assert len(result.unmapped["transactions"]) == CODES


def test_no_unmapped_codes_still_writes_the_file(tmp_path: Path) -> None:
    result = run(Job(*hostile_inputs(tmp_path)[1:4:2], parse_window("2026H1")))
    write_unmapped(result, tmp_path)
    assert (tmp_path / UNMAPPED_FILE).read_text(encoding="utf-8") == "input,code,rows\n"
    assert result.summary["unmapped_codes_rest"]["transactions"] == {"codes": 0, "rows": 0}


def test_bounded_keeps_every_input() -> None:
    listed, rest = bounded({"balances": {}, "transactions": {"B": 2, "A": 2, "C": 5}})
    assert listed == {"balances": {}, "transactions": {"C": 5, "A": 2, "B": 2}}
    assert list(listed["transactions"]) == ["C", "A", "B"]
    assert rest == {"balances": {"codes": 0, "rows": 0}, "transactions": {"codes": 0, "rows": 0}}


def branches_inputs(folder: Path, branches: int) -> Job:
    """One customer a branch and manager, but three in branch B000; each customer 0.50
    points short of the next tier."""
    ids = [f"C{k:03d}" for k in range(branches + 2)]
    where = ["B000", "B000", *(f"B{k:03d}" for k in range(branches))]
    cust = [
        (cid, b, f"M{i}", "false", 0, 0) for i, (cid, b) in enumerate(zip(ids, where, strict=True))
    ]
    header = CUSTOMER_HEADER[:-1]
    # 12,487.50 yuan of POS: 499.50 points, 0.50 short of 四星级's 500
    txns = [(cid, f"T{i}", "2026-02-01", "POS", "12487.50", "", "") for i, cid in enumerate(ids)]
    bal = write_rows(folder / "bal.csv", BAL_HEADER, [])
    txn = write_rows(folder / "txn.csv", TXN_HEADER, txns)
    customers = write_rows(folder / "cust.csv", header, cust)
    return Job(str(bal), str(txn), parse_window("2026H1"), customers=str(customers))


def test_groups_and_upgrade_list_are_bounded(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(summary, "GROUPS_LISTED", 3)
    monkeypatch.setattr(summary, "UPGRADE_LISTED", 4)
    found = run(branches_inputs(tmp_path, 6)).summary
    branches = found["by_branch"]
    # B000 has 3 customers, the others 1: B000 and the two first names of the rest
    assert [b["branch"] for b in branches] == ["B000", "B001", "B002"]
    assert found["by_branch_rest"] == {
        "groups": 3, "customers": 3, "quality_customers": 0, "points": "1498.50"
    }  # fmt: skip
    total = sum(Decimal(b["points"]) for b in branches) + Decimal("1498.50")
    assert total == sum(Decimal(t["points"]) for t in found["tiers"])
    assert len(found["by_manager"]) == 3 and found["by_manager_rest"]["groups"] == 5
    upgrade = found["upgrade"]
    assert upgrade["customers"] == 8 and len(upgrade["top"]) == 4
    assert found["upgrade_rest"] == {"customers": 4}
    ids = [(e["branch"], e["customer_id"]) for e in upgrade["top"]]
    assert ids == sorted(ids)  # the list's own order (all equally close here)
    assert [i for _, i in ids] == ["C000", "C001", "C002", "C003"]


def test_report_tables_show_at_most_so_many_rows(tmp_path: Path, monkeypatch: Any) -> None:
    found = run(branches_inputs(tmp_path, 6)).summary
    monkeypatch.setattr(report, "TABLE_ROWS", 2)
    page = render_html(found, {}, "en")
    assert "2 of 6 branches (those with the most customers) shown" in page
    assert "2 of 8 managers" in page and "2 of 8 customers closest" in page
    assert "B000" in page and "B001" in page and "B005" not in page
    long = "长" * 100_000
    found["by_branch"][0]["branch"] = long
    page = render_html(found, {})
    assert long not in page and len(page) < 40_000


# 4. the report escapes every value from the data --------------------------------------

NASTY = ("<script>alert(1)</script>", '" onmouseover="alert(2)', "'><svg onload=alert(3)>")


class Tags(HTMLParser):
    """Every tag and attribute a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}


PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "section",
             "table", "caption", "thead", "tbody", "tr", "th", "td", "figure", "figcaption",
             "svg", "defs", "clippath", "rect", "text", "line", "polyline", "circle", "g",
             "code", "details", "summary"}  # fmt: skip


def assert_inert(page: str, values: tuple[str, ...]) -> None:
    tags = Tags()
    tags.feed(page)
    assert tags.tags <= PAGE_TAGS, tags.tags - PAGE_TAGS
    assert not {a for a in tags.attributes if a.startswith("on")}
    assert "<script" not in page.lower() and "javascript:" not in page.lower()
    text = html.unescape(page)
    for value in values:
        assert value in text  # shown, as text


def hostile_summary(bad: str) -> dict[str, Any]:
    """A summary whose every text from data or rules is ``bad``."""
    tiers = [{"tier": bad, "customers": 1, "share": 1.0, "points": "1.00",
              "assets_daily_average": "0.00"}, {"tier": bad + "2", "customers": 0,
              "share": 0.0, "points": "0.00", "assets_daily_average": "0.00"}]  # fmt: skip
    group = {"branch": bad, "customers": 1, "quality_customers": 0, "points": "1.00",
             "tiers": {bad: 1}}  # fmt: skip
    entry = {k: bad for k in ("branch", "manager", "customer_id", "tier", "next_tier", "lever")}
    return {
        "ruleset": {"name": bad, "title": bad, "version": bad},
        "window": {"label": bad, "start": bad, "end": bad, "days": 181},
        "customers": 1,
        "tiers": tiers,
        "rows": {"transactions": {"read": 1}},
        "unmapped_codes": {"transactions": {bad: 1}},
        "unmapped_codes_rest": {"transactions": {"codes": 1, "rows": 1}},
        "quality_gates": {"evaluated": True, "blocked_customers": 0, "by_gate": {bad: 1}},
        "concentration": {"customers": 1, "customers_share": 1.0, "curve": [[0, 0], [1, 1]]},
        "by_branch": [group],
        "by_manager": [{**group, "manager": bad}],
        "upgrade": {"pct": bad, "customers": 1, "top": [entry]},
        "migration": {
            "previous": bad,
            "rows": [bad],
            "columns": [bad],
            "counts": [[1]],
            "movement": {bad: 1},
        },
    }


@pytest.mark.parametrize("bad", NASTY)
def test_report_escapes_every_value(bad: str) -> None:
    facts = {"inputs": {"transactions": [{"path": bad, "format": bad, "rows": 1}]},
             "tool": {"name": bad}, "started_at": bad}  # fmt: skip
    page = render_html(hostile_summary(bad), facts)
    assert_inert(page, (bad,))
    svgs = [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, re.DOTALL)]
    assert len(svgs) == 3  # each well-formed XML: the value broke out of no text or attribute
    for svg in (svgs[0], svgs[2]):  # tiers and migration name the tiers
        assert bad in "".join(svg.itertext())


def test_report_of_a_hostile_run_is_inert(hostile_out: Path) -> None:
    page = (hostile_out / "report.html").read_text(encoding="utf-8")
    assert_inert(page, (LINK, TIER, "@SUM(1)", "-2+3"))


# 5. the terminal shows data, never obeys it ----------------------------------------


def test_terminal_shows_escapes_and_markup_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "[link=http://x]y[/link]\x1b]0;pwned\x07"
    found = hostile_summary(bad)
    found["tiers"][0]["tier"] = bad
    found["rows"] = {"transactions": dict.fromkeys(
        ("read", "used", "outside_window", "excluded", "unmapped", "duplicate", "rejected"), 1
    )}  # fmt: skip
    found["migration"].update(movement={"up": 1}, previous="previous.csv")  # given by the operator
    found["upgrade"]["pct"] = "10"
    rejects = pl.DataFrame({"file": ["f"], "line": [2], "column": ["x"], "value": [bad * 500]})
    with err.capture() as captured:
        show_run(found, None, 0)
    show_inspection({bad: {"read": 1, "valid": 1, "duplicate": 0, "rejected": 0}}, rejects, 5)
    shown = captured.get() + capsys.readouterr().out  # validate's answer is on stdout
    assert "\x1b" not in shown and "\x07" not in shown
    assert "[link=http://x]y[/link]\\x1b]0;pwned\\x07" in shown
    assert "and 1 more codes (1 rows)" in shown
    assert len(shown) < 10_000  # the 500-fold value is cut
