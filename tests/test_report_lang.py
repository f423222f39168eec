"""report.html for the people who read it: their language, the business first, the run's
facts last and folded, amounts with separators, totals, gates by label, branches by
points, yuan where the points are yuan, and a page that prints on A4.

The words of both pages live in ``report_text.TEXT``; a heading that is not from the
page's own table (an English one on a Chinese page) fails ``test_every_heading_is_from
_the_page_s_table`` whichever section it is in.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app
from tierscore.scoring import compare_report, report
from tierscore.scoring.compare_report import render_comparison
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.pipeline import Job
from tierscore.scoring.report import render_html
from tierscore.scoring.report_text import LANGS, TEXT, check_lang, default_lang, words
from tierscore.scoring.rules import load_rules
from tierscore.scoring.summary import points_unit
from tierscore.scoring.window import parse_window

from .conftest import on_both_engines, tierscore_here
from .test_trust_outputs import NASTY, assert_inert, hostile_summary

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SAMPLE_ARGS = ["--balances", str(SAMPLE / "balances.csv"), "--transactions",
               str(SAMPLE / "transactions.csv"), "--period", "2026H1"]  # fmt: skip
ORDER = ["tiers", "concentration", "migration", "branches", "upgrade", "quality", "rows", "facts"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def sample_summary(tiers: tuple[str, ...] = ("七星级", "六星级", "非星级")) -> dict[str, Any]:
    """A summary with every section the report draws, like a run with --customers and
    --previous on a rule set with gates and a key group."""
    size = len(tiers) + 1
    return {
        "ruleset": {"name": "icbc-star", "title": "星级", "version": "2026.1", "sha256": "ab" * 32},
        "points_unit": "points",
        "window": {"start": "2026-01-01", "end": "2026-06-30", "days": 181},
        "customers": 1_234_567,
        "quality_customers": 1000,
        "tiers": [
            {
                "tier": tiers[0],
                "customers": 7,
                "share": 0.0001,
                "points": "1234567.80",
                "assets_daily_average": "98765432.10",
            },
            {
                "tier": tiers[1],
                "customers": 1_000_000,
                "share": 0.81,
                "points": "0.15",
                "assets_daily_average": "0.05",
            },
            {
                "tier": tiers[2],
                "customers": 234_560,
                "share": 0.1899,
                "points": "0.15",
                "assets_daily_average": "0.00",
            },
        ],
        "key_group": {
            "label": "关键客户",
            "tiers": list(tiers[:2]),
            "customers": 1_000_007,
            "share": 0.81,
        },
        "concentration": {
            "points_share": 0.8,
            "customers": 7,
            "customers_share": 0.0001,
            "curve": [[0, 0], [0.5, 0.9], [1, 1]],
        },
        "migration": {
            "previous": "previous_scores.csv",
            "rows": [*tiers, "new"],
            "columns": [*tiers, "gone"],
            "counts": [[1] * size for _ in range(size)],
            "movement": {"up": 3, "down": 4, "same": 5, "new": 1, "gone": 2},
        },
        "by_branch": [
            {
                "branch": b,
                "customers": c,
                "quality_customers": 1,
                "points": p,
                "tiers": {tiers[0]: 1},
            }
            for b, c, p in (
                ("北", 9, "100.00"),
                ("南", 1, "2000.00"),
                ("东", 1, "2000.00"),
                ("西", 99, "n/a"),
                ("中", 2, "-5.00"),
            )
        ],
        "by_manager": [
            {
                "branch": "北",
                "manager": "M1",
                "customers": 9,
                "quality_customers": 1,
                "points": "100.00",
                "tiers": {tiers[0]: 1},
            },
        ],
        "upgrade": {
            "pct": "10",
            "customers": 1,
            "top": [
                {
                    "branch": "北",
                    "manager": "M1",
                    "customer_id": "C1",
                    "tier": tiers[1],
                    "next_tier": tiers[0],
                    "points": "1900.00",
                    "points_to_next": "100.00",
                    "lever": "短期资产",
                    "lever_yuan": "1000000.00",
                    "lever_transactions": 31,
                    "lever_each": "10000.00",
                    "lever_codes": "REMOTE_CASH",
                }
            ],
        },
        "quality_gates": {
            "evaluated": True,
            "blocked_customers": 12_345,
            "by_gate": {"overdue_90d": 12_000, "deposits_300k": 345, "unknown": 0},
            "labels": {"overdue_90d": "逾期90天以上", "deposits_300k": "存款余额30万元以上"},
            "not_evaluated": ["overdue_90d"],
            "note": "no --customers given: the gates on its columns not applied",
        },
        "rows": {
            "balances": dict.fromkeys(report.ROW_COUNTS, 1) | {"read": 1_000_000},
            "transactions": dict.fromkeys(report.ROW_COUNTS, 2),
        },
        "unmapped_codes": {"transactions": {"ZZ99": 19}},
        "unmapped_codes_rest": {"transactions": {"codes": 4950, "rows": 12_345}},
    }


FACTS = {
    "tool": {"name": "tierscore", "version": "0.1.0", "polars": "2.1.0"},
    "started_at": "2026-07-01T00:00:00+00:00",
    "inputs": {"balances": [{"path": "b.csv", "format": "csv", "rows": 1_000_000}]},
    "timings_s": {"read": 0.1},
}


def render(lang: str | None = None, **changes: Any) -> str:
    return render_html(sample_summary() | changes, copy.deepcopy(FACTS), lang)


class Headings(HTMLParser):
    """The text of every heading-like element (headings, captions, table headers, the
    fold's handle, the page and chart titles, chart text), skipping bar and cell
    tooltips (a rect's title: data)."""

    TAGS = frozenset(("title", "h1", "h2", "h3", "caption", "figcaption", "th", "summary", "text"))
    VOID = frozenset(("meta", "br", "hr", "img", "input", "link"))

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, list[str] | None]] = []
        self.found: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        tooltip = tag == "title" and self.stack[-1:] != [] and self.stack[-1][0] == "rect"
        texts: list[str] | None = [] if tag in self.TAGS and not tooltip else None
        if texts is not None:
            self.found.append(texts)
        self.stack.append((tag, texts))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """<line/>, <circle/>: no text."""

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for _, texts in self.stack:
            if texts is not None:
                texts.append(data)

    @classmethod
    def of(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        return ["".join(parts).strip() for parts in parser.found]


def _template(text: str) -> re.Pattern[str]:
    """A table entry as a pattern: each placeholder stands for some text."""
    pieces = PLACEHOLDER.split(text)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else ".*" for i, p in enumerate(pieces)))


def _data(value: Any) -> set[str]:
    """Every text and number in a summary, keys included: what a heading may show."""
    if isinstance(value, dict):
        return {s for k, v in value.items() for s in {str(k)} | _data(v)}
    if isinstance(value, list):
        return {s for v in value for s in _data(v)}
    return {str(value)}


def assert_headings_from(page: str, lang: str, data: set[str], yuan: bool = False) -> None:
    own = [_template(t) for t in words(lang, yuan).values()]
    other = next(x for x in LANGS if x != lang)
    foreign = {t for t in words(other, yuan).values() if t not in words(lang, yuan).values()}
    number = re.compile(r"[-\d,.%]+")
    for text in Headings.of(page):
        if text in data or number.fullmatch(text):
            continue
        assert any(p.fullmatch(text) for p in own), (lang, text)
        assert not any(_template(t).fullmatch(text) for t in foreign if "{" not in t), (lang, text)


def visible(page: str) -> str:
    """The page's text as a reader sees it: no tags, no attributes."""
    return re.sub(r"<[^>]+>", " ", page.split("<body>", 1)[1])


def section_ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', page)


def section(page: str, anchor: str) -> str:
    return page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


# --- the tables of words ------------------------------------------------------------------


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(TEXT) == set(LANGS)
    assert TEXT["zh"].keys() == TEXT["en"].keys()
    for key, english in TEXT["en"].items():
        chinese = TEXT["zh"][key]
        assert set(PLACEHOLDER.findall(english)) == set(PLACEHOLDER.findall(chinese)), key
        assert english.strip() and chinese.strip(), key


def test_every_key_is_used() -> None:
    source = inspect.getsource(report) + inspect.getsource(compare_report)
    unused = [k for k in TEXT["en"] if f'"{k}"' not in source and f"'{k}'" not in source]
    assert unused == []


def test_the_chinese_table_is_chinese() -> None:
    """A key left in English in the zh table (copied, not translated) shows up here:
    only names (polars, sha256, A \\ B) may be the same in both."""
    same = {k for k, v in TEXT["zh"].items() if v == TEXT["en"][k]}
    assert same <= {"fact_polars", "ruleset_sha256", "matrix_corner_ab", "col_measure"}


# --- which language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "lang"),
    [
        (["七星级", "非星级"], "zh"),
        (["A", "B"], "en"),
        (["A", "B级"], "zh"),  # one Chinese label is enough
        ([], "en"),
        (["アイ", "가나"], "en"),  # kana and hangul are not Chinese
        (["𠀀"], "zh"),  # a Han character outside the basic plane
        ([None, 3], "en"),
    ],
)
def test_the_default_language_follows_the_tier_labels(labels: list[Any], lang: str) -> None:
    assert default_lang(labels) == lang


def test_the_page_declares_its_language_and_lang_overrides_the_default() -> None:
    assert '<html lang="zh-CN">' in render() and TEXT["zh"]["tiers_heading"] in render()
    english = render_html(sample_summary(("A", "B", "C")), {})
    assert '<html lang="en">' in english and TEXT["en"]["tiers_heading"] in english
    assert '<html lang="en">' in render("en") and "等级分布" not in render("en")
    chinese = render_html(sample_summary(("A", "B", "C")), {}, "zh")
    assert '<html lang="zh-CN">' in chinese and "Tier distribution" not in chinese


def test_lang_is_checked() -> None:
    assert check_lang("EN") == "en" and check_lang(" zh ") == "zh" and check_lang(None) is None
    for bad in ("fr", "", "zh-CN", "english"):
        with pytest.raises(ConfigError) as caught:
            check_lang(bad)
        assert caught.value.key == "--lang"
    with pytest.raises(ConfigError):
        render_html(sample_summary(), {}, "de")


# --- both languages render, every heading from the page's own table -----------------------


@pytest.mark.parametrize("lang", LANGS)
def test_every_heading_is_from_the_page_s_table(lang: str) -> None:
    summary = sample_summary()
    page = render_html(summary, copy.deepcopy(FACTS), lang)
    assert section_ids(page) == ORDER
    assert_headings_from(page, lang, _data(summary) | _data(FACTS))
    assert page.count("<svg") == 3


@pytest.mark.parametrize("lang", LANGS)
def test_comparison_headings_are_from_the_page_s_table(lang: str) -> None:
    side = {
        "ruleset": {"name": "a", "version": "1"},
        "customers": 3,
        "quality_customers": 1,
        "tiers": [{"tier": "金", "customers": 2}, {"tier": "银", "customers": 1}],
        "quality_gates": {"evaluated": True, "by_gate": {"g": 1}, "labels": {"g": "门槛"}},
    }
    summary = {"a": side, "b": side, "window": {"start": "2026-01-01", "end": "2026-06-30"},
               "customers": {"both": 3, "new": 0, "gone": 0}, "same_tiers": True,
               "migration": {"rows": ["金", "银", "new"], "columns": ["金", "银", "gone"],
                             "counts": [[2, 0, 0], [0, 1, 0], [0, 0, 0]],
                             "movement": {"up": 0, "down": 0, "same": 3, "new": 0, "gone": 0}},
               "quality": {"a": 1, "b": 1, "kept": 1, "lost_by_a_tier": {"金": 0}},
               "by_branch": [{"branch": "北", "customers": 3, "counts": [[1]]}]}  # fmt: skip
    page = render_comparison(summary, copy.deepcopy(FACTS), lang)
    assert_headings_from(page, lang, _data(summary) | _data(FACTS))
    assert section_ids(page)[-1] == "facts" and "<details><summary><h2>" in section(page, "facts")
    assert "门槛" in section(page, "quality") and "<td>g</td>" not in page  # gates by label
    default = render_comparison(summary, {})
    assert '<html lang="zh-CN">' in default  # the tiers are Chinese


# --- the business first, the run's facts last and folded ---------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_sections_in_order_and_facts_folded(lang: str) -> None:
    page = render(lang)
    assert section_ids(page) == ORDER
    facts = section(page, "facts")
    assert facts.startswith(f"<details><summary><h2>{TEXT[lang]['facts_heading']}</h2></summary>")
    assert facts.rstrip().endswith("</details>")
    for fact in ("b.csv", "2.1.0", "0.100", "2026-07-01T00:00:00+00:00"):
        assert fact in facts and page.index(fact) > page.index('<section id="rows">')


def test_the_watch_list_has_its_place_after_the_upgrades() -> None:
    """The service tiers and the watch list (``watch_report``) come right after the
    upgrade list, before quality and the rows' accounting."""
    source = inspect.getsource(report._body_sections)
    upgrades, quality = source.index("_upgrade_section"), source.index("_quality_section")
    assert upgrades < source.index("service_sections") < quality


# --- amounts, totals, gates, branches ---------------------------------------------------


def test_money_has_thousands_separators_exactly() -> None:
    huge = "12345678901234567890123.45"  # beyond a float's 17 digits
    tiers = sample_summary()["tiers"]
    tiers[1] |= {"points": huge, "assets_daily_average": "-1234.50"}
    tiers[2]["points"] = "1e9"  # not a plain amount: shown as it is
    page = render("en", tiers=tiers)
    table = section(page, "tiers")
    for shown in ("1,234,567.80", "98,765,432.10", "12,345,678,901,234,567,890,123.45",
                  "-1,234.50", ">1e9<", ">1,000,000<", ">234,560<"):  # fmt: skip
        assert shown in table, shown
    assert "1234567.80" not in page and "98765432.10" not in page
    upgrade = section(page, "upgrade")
    assert ">1,000,000.00<" in upgrade and "31 of 10,000.00 each (REMOTE_CASH)" in upgrade
    assert ">1,000,000<" in section(page, "rows") and "4,950" in section(page, "rows")
    assert "12,345 customers blocked" in page and "1,000,007 customers" in page


def test_tier_tables_have_an_exact_total_row() -> None:
    tiers = sample_summary()["tiers"]
    tiers[0]["points"] = "99999999999999999999.99"
    page = render("en", tiers=tiers)
    total = section(page, "tiers").split('<tr class="total">', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", total)
    # customers counted; amounts added as decimals: a float sum would end in ...0.29 or so
    assert cells == ["total", "1,234,567", "100.0%", "100,000,000,000,000,000,000.29",
                     "98,765,432.15"]  # fmt: skip
    tiers[2]["points"] = "n/a"
    total = section(render("zh", tiers=tiers), "tiers").split('<tr class="total">', 1)[1]
    assert total.startswith("<th>合计</th>") and '<td class="num">—</td>' in total


def test_versions_and_ids_are_not_grouped_as_amounts() -> None:
    """Only amounts and counts get separators: a version such as 2026.1 or an id made of
    digits stays as written."""
    side = {"ruleset": {"name": "x", "version": "2026.1"}, "customers": 12345, "tiers": []}
    page = render_comparison({"a": side, "b": side}, {}, "en")
    assert "<td>2026.1</td>" in page and "2,026" not in page and "<td>12,345</td>" in page
    summary = sample_summary()
    summary["upgrade"]["top"][0] |= {"customer_id": "1234567", "branch": "0012345"}
    summary["ruleset"]["version"] = "20261"
    page = render_html(summary, {}, "en")
    assert "<td>1234567</td>" in page and "<td>0012345</td>" in page and "20261" in page
    assert "1,234,567</td>" not in section(page, "upgrade") and "20,261" not in page


def test_comparison_tier_tables_have_totals() -> None:
    side = {
        "ruleset": {"name": "x"},
        "customers": 3,
        "tiers": [{"tier": "A", "customers": 2}, {"tier": "B", "customers": 1}],
    }
    page = render_comparison({"a": side, "b": side}, {}, "en")
    total = '<tr class="total"><th>total</th><td class="num">3</td>'
    assert section(page, "tiers").count(total) == 2


@pytest.mark.parametrize("lang", LANGS)
def test_gates_show_their_labels(lang: str) -> None:
    quality = section(render(lang), "quality")
    assert "<td>逾期90天以上</td>" in quality and "<td>存款余额30万元以上</td>" in quality
    assert f"<td>{TEXT[lang]['gate_unknown']}</td>" in quality
    assert "overdue_90d" not in quality and "deposits_300k" not in quality
    assert "逾期90天以上。" in quality or "逾期90天以上." in quality  # not evaluated, by label
    assert "no --customers given: the gates on its columns not applied" not in quality


def test_a_gate_without_a_label_shows_its_id() -> None:
    gates = sample_summary()["quality_gates"]
    del gates["labels"]
    quality = section(render("en", quality_gates=gates), "quality")
    assert "<td>overdue_90d</td>" in quality and "<td>deposits_300k</td>" in quality


def test_gates_not_evaluated_are_said_in_the_page_s_language() -> None:
    gates = {"evaluated": False, "note": "no --customers given: gates not applied"}
    assert TEXT["zh"]["quality_not_evaluated"] in section(render(quality_gates=gates), "quality")
    assert TEXT["en"]["quality_not_evaluated"] in section(render("en", quality_gates=gates),
                                                          "quality")  # fmt: skip


def _first_cells(table: str) -> list[str]:
    return re.findall(r"<tr><td>([^<]*)</td>", table)


def test_branches_are_ordered_by_points_then_name() -> None:
    branches = section(render("en"), "branches")
    # 2000.00 twice (by name: 东 before 南), 100.00, -5.00, and "n/a" (no number) last
    assert _first_cells(branches.split("<h3>", 2)[1]) == ["东", "南", "北", "中", "西"]
    assert "Highest points first." in branches


# --- yuan where the points are yuan -------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "unit"),
    [("card-tier", "yuan"), ("icbc-star", "points"), ("pyramid", "points"),
     ("weighted-grade", "points"), ("seed003-grade", "points")],
)  # fmt: skip
def test_points_unit_is_read_off_the_rules(rules: str, unit: str) -> None:
    assert points_unit(load_rules(rules)) == unit


def test_any_rule_set_whose_rates_equal_its_unit_is_in_yuan(tmp_path: Path) -> None:
    text = (
        '[ruleset]\nname = "x"\nunit = 10000\n\n[[components]]\nid = "a"\nsource = "balances"\n'
        'rate = {rate}\ncodes = ["CURRENT"]\n\n[[tiers]]\nlabel = "T"\nmin = 0\n'
    )
    for rate, unit in (("10000", "yuan"), ("10000.00", "yuan"), ("9999", "points")):
        path = tmp_path / f"r{rate}.toml"
        path.write_text(text.format(rate=rate), encoding="utf-8")
        assert points_unit(load_rules(str(path))) == unit, rate


@pytest.mark.parametrize("lang", LANGS)
def test_a_yuan_rule_set_says_yuan(lang: str) -> None:
    summary = sample_summary() | {"points_unit": "yuan"}
    page = render_html(summary, copy.deepcopy(FACTS), lang)
    assert_headings_from(page, lang, _data(summary) | _data(FACTS), yuan=True)
    body = visible(page)
    points = {"en": r"\bpoints\b", "zh": "积分"}[lang]
    assert not re.search(points, body), re.search(points, body)
    assert f"<th>{TEXT[lang]['yuan']}</th>" in section(page, "tiers")
    assert TEXT[lang]["chart_measure_per_tier"].replace("{measure}", TEXT[lang]["yuan"]) in body


# --- print ----------------------------------------------------------------------------------


def test_a_print_stylesheet_for_a4() -> None:
    style = render().split("<style>", 1)[1].split("</style>", 1)[0]
    printed = style.split("@media print", 1)[1]
    assert "size: A4" in printed
    assert "break-inside: avoid" in printed and "page-break-inside: avoid" in printed
    assert "thead { display: table-header-group; }" in printed  # headers repeat per page
    assert "details > :not(summary) { display: block !important; }" in printed  # unfolded
    assert "details::details-content" in printed
    assert "summary::-webkit-details-marker { display: none; }" in printed
    assert style.count("{") == style.count("}")


# --- escaping of the new text paths ---------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("bad", [*NASTY, "{customers}{0}{measure}"])
def test_new_text_paths_are_escaped(lang: str, bad: str) -> None:
    """Gate labels, the key group, input and movement names, the lever's amount, the
    title's name, a branch name in the order: each shown as text, never as markup, and
    never read as a template."""
    found = hostile_summary(bad)
    found["quality_gates"] |= {"labels": {bad: bad}, "not_evaluated": [bad], "note": bad}
    found["key_group"] = {"label": bad, "tiers": [bad], "customers": 1, "share": 1}
    found["rows"] = {bad: {"read": 1}, "balances": {"read": 2}}
    found["upgrade"]["top"][0] |= {"lever_each": bad, "lever_transactions": 2, "lever_codes": bad}
    found["by_branch"].append({**found["by_branch"][0], "branch": bad + "2", "points": "9"})
    page = render_html(found, {"inputs": {bad: [{"path": bad}]}}, lang)
    assert_inert(page, (bad, f"2 of {bad} each ({bad})" if lang == "en" else bad))


@pytest.mark.parametrize("bad", NASTY)
def test_comparison_escapes_gate_labels(bad: str) -> None:
    side = {
        "ruleset": {"name": bad},
        "tiers": [{"tier": bad, "customers": 1}],
        "customers": 1,
        "quality_gates": {"evaluated": True, "by_gate": {bad: 1}, "labels": {bad: bad}},
    }
    page = render_comparison({"a": side, "b": side, "migration": {}}, {})
    assert_inert(page, (bad,))


# --- end to end -------------------------------------------------------------------------------


def test_score_writes_a_chinese_report_for_chinese_tiers(tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = tierscore_here(
        "score", *SAMPLE_ARGS, "--customers", str(SAMPLE / "customers.csv"),
        "--rules", "icbc-star-strict", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert '<html lang="zh-CN">' in page and summary["points_unit"] == "points"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # the service tiers and the watch list have their own words (watch_report.TEXT)
    ours = re.sub(r'<section id="(service|watch)">.*?</section>', "", page, flags=re.DOTALL)
    assert_headings_from(ours, "zh", _data(summary) | _data(manifest))
    mine = [s for s in section_ids(page) if s not in ("service", "watch")]
    assert mine == [s for s in ORDER if s != "migration"]  # no --previous: no migration
    assert summary["quality_gates"]["labels"]["deposits_300k"] in section(page, "quality")
    assert section_ids(page)[-1] == "facts"


def cli(*args: str) -> int:
    return _outcome(lambda: app(list(args), prog_name="tierscore"), verbose=False)


def test_score_lang_en_and_card_tier_in_yuan(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("score", *SAMPLE_ARGS, "--rules", "card-tier", "--lang", "EN", "--out",
               str(out), "--quiet") == 0  # fmt: skip
    page = (out / "report.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert '<html lang="en">' in page and summary["points_unit"] == "yuan"
    assert "<th>yuan</th>" in section(page, "tiers") and "yuan per tier" in page
    assert not re.search(r"\bpoints\b", visible(page))


def test_an_unknown_lang_is_exit_2_and_publishes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert cli("score", *SAMPLE_ARGS, "--lang", "fr", "--out", str(out)) == 2
    assert not (out / "report.html").exists()
    rules = ["--rules", "icbc-star", "--rules", "card-tier"]
    assert cli("compare", *rules, *SAMPLE_ARGS, "--lang", "xx", "--out", str(out)) == 2


def test_compare_lang_en(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rules = ["--rules", "icbc-star", "--rules", "card-tier"]
    assert cli("compare", *rules, *SAMPLE_ARGS, "--max-reject-rate", "1", "--lang", "en",
               "--out", str(out), "--quiet") == 0  # fmt: skip
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and ">tier under A</text>" in page
    assert section_ids(page)[-1] == "facts" and "迁移" not in page


@pytest.mark.spark
def test_spark_writes_the_same_report(spark: Any) -> None:
    """points_unit and the gates' labels come from the shared summary code: the Spark
    engine's summary draws the same page, yuan and labels included."""
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
              parse_window("2026H1"), "card-tier")  # fmt: skip
    local, remote = on_both_engines(job, spark)  # test_spark_engine's card-tier run
    assert remote.summary["points_unit"] == local.summary["points_unit"] == "yuan"
    for lang in LANGS:
        assert render_html(remote.summary, {}, lang) == render_html(local.summary, {}, lang)
