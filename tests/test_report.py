"""The HTML report: self-contained, deterministic, escaped, and readable by a browser.

Analysts open the page on machines without internet access, so anything that
points outside the file is a bug, not a style issue.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tierscore.scoring.report import render_html
from tierscore.scoring.report_text import HTML_LANG, LANGS, TEXT

TIERS = ("七星级", "六星级", "五星级", "四星级", "三星级", "准星级", "非星级")
BRANCHES = ("朝阳支行", "海淀支行", "西城支行")
MIGRATION_COUNT = 137  # a distinctive number in the migration matrix


def _tier_counts(seed: int) -> dict[str, int]:
    return {tier: (seed * (i + 3)) % 11 for i, tier in enumerate(TIERS)}


@pytest.fixture
def summary() -> dict[str, Any]:
    customers = (6, 9, 14, 25, 40, 71, 120)
    points = ("123456.78", "98000.10", "65432.00", "40210.55", "21000.00", "8000.40", "1500.00")
    size = len(TIERS) + 1
    counts = [[(r * 7 + c * 3) % 9 for c in range(size)] for r in range(size)]
    counts[6][6] = MIGRATION_COUNT
    curve = [[i / 100, min(1.0, (i / 100) ** 0.3)] for i in range(101)]
    return {
        "ruleset": {
            "name": "icbc-star",
            "title": "工行星级客户 (sample)",
            "version": "2024.1",
            "sha256": "ab12" * 16,
        },
        "window": {"start": "2026-01-01", "end": "2026-06-30", "days": 181},
        "customers": sum(customers),
        "quality_customers": 69,
        "tiers": [
            {
                "tier": tier,
                "customers": n,
                "share": n / sum(customers),
                "points": pts,
                "assets_daily_average": f"{n * 123456}.10",
            }
            for tier, n, pts in zip(TIERS, customers, points, strict=True)
        ],
        "rows": {
            "balances": {
                "read": 10,
                "used": 8,
                "excluded": 0,
                "unmapped": 1,
                "outside_window": 0,
                "duplicate": 1,
                "rejected": 0,
            },
            "transactions": {
                "read": 20,
                "used": 17,
                "excluded": 1,
                "unmapped": 0,
                "outside_window": 2,
                "duplicate": 0,
                "rejected": 0,
            },
        },
        "unmapped_codes": {"balances": {"XYZ": 1}, "transactions": {}},
        "concentration": {
            "points_share": 0.8,
            "customers": 57,
            "customers_share": 0.2,
            "curve": curve,
        },
        "by_branch": [
            {
                "branch": branch,
                "customers": 40 + i,
                "quality_customers": 9 + i,
                "points": f"4567{i}.90",
                "tiers": _tier_counts(i + 1),
            }
            for i, branch in enumerate(BRANCHES)
        ],
        "by_manager": [
            {
                "branch": branch,
                "manager": f"M{i:02d}",
                "customers": 12,
                "quality_customers": 3,
                "points": "11111.11",
                "tiers": _tier_counts(i + 5),
            }
            for i, branch in enumerate(BRANCHES)
        ],
        "migration": {
            "previous": "sample_data/previous_scores.csv",
            "rows": [*TIERS, "new"],
            "columns": [*TIERS, "gone"],
            "counts": counts,
            "movement": {"up": 40, "down": 12, "same": 200, "new": 30, "gone": 2},
        },
        "upgrade": {
            "pct": "10",
            "customers": 25,
            "top": [
                {
                    "branch": "朝阳支行",
                    "manager": "M00",
                    "customer_id": "C0012",
                    "tier": "四星级",
                    "next_tier": "五星级",
                    "points": "1890.00",
                    "points_to_next": "110.00",
                    "lever": "短期资产 half-year daily average",
                    "lever_yuan": "110000.00",
                },
                {
                    "branch": None,
                    "manager": None,
                    "customer_id": "C0444",
                    "tier": "准星级",
                    "next_tier": "三星级",
                    "points": "480.00",
                    "points_to_next": "20.00",
                    "lever": None,
                    "lever_yuan": None,
                },
            ],
        },
        "quality_gates": {"evaluated": True, "blocked_customers": 4, "by_gate": {"overdue_90d": 1}},
    }


@pytest.fixture
def facts(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": {"name": "tierscore", "version": "0.1.0", "polars": "2.1.0"},
        "started_at": "2026-11-25T15:00:00+00:00",
        "ruleset": summary["ruleset"],
        "window": summary["window"],
        "inputs": {
            "balances": [
                {
                    "path": "sample_data/balances.csv",
                    "format": "csv",
                    "encoding": "utf-8",
                    "sha256": "cd34" * 16,
                    "rows": 3900,
                }
            ],
            "transactions": [
                {
                    "path": "sample_data/transactions.parquet",
                    "format": "parquet",
                    "encoding": None,
                    "sha256": "ef56" * 16,
                    "rows": 12000,
                }
            ],
        },
        "timings_s": {"read": 0.1, "compute": 0.5},
    }


@pytest.fixture
def page(summary: dict[str, Any], facts: dict[str, Any]) -> str:
    return render_html(summary, facts, "en")  # the words asserted here; zh: test_report_lang


def test_declares_utf8_and_shows_chinese_labels(page: str) -> None:
    assert '<meta charset="utf-8">' in page
    assert "tierscore report — icbc-star 2026-01-01..2026-06-30" in page
    for label in (*TIERS, *BRANCHES):
        assert label in page
    assert "Noto Sans CJK SC" in page


def test_one_svg_per_chart(page: str, summary: dict[str, Any], facts: dict[str, Any]) -> None:
    assert page.count("<svg") == 3
    without = {k: v for k, v in summary.items() if k != "migration"}
    other = render_html(without, facts, "en")
    assert other.count("<svg") == 2
    assert "Tier migration" not in other
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page


def _external_references(page: str) -> list[str]:
    """Everything that could make a browser reach outside the file."""
    namespaces = re.compile(r'xmlns(:xlink)?="http://www\.w3\.org/[^"]*"')
    stripped = namespaces.sub("", page)
    found = re.findall(r"https?:[^\s\"'<>)]*", stripped)
    found += [m for m in re.findall(r'(?:href|src)="([^"]*)"', page) if not m.startswith("#")]
    lowered = page.lower()
    found += [bad for bad in ("<link", "<script", "@import", "<image", "<iframe") if bad in lowered]
    found += re.findall(r"url\((?!#)[^)]*\)", page)
    return found


def test_references_nothing_outside_itself(page: str) -> None:
    assert _external_references(page) == []
    assert "<metadata" not in page
    # internal references must point at ids that exist, so charts don't borrow clip paths
    ids = set(re.findall(r'\bid="([^"]+)"', page))
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', page))
    assert refs and refs <= ids
    assert len(re.findall(r'\bid="', page)) == len(ids), "ids must be unique across charts"


def test_values_from_data_appear(page: str) -> None:
    assert f">{MIGRATION_COUNT}<" in page
    assert "C0012" in page and "C0444" in page
    for money in ("123,456.78", "1,890.00", "110,000.00", "45,671.90"):
        assert money in page
    assert "20.0% of customers bring 80% of points" in page
    assert "ab12ab12ab12" in page and "cd34cd34cd34" in page
    assert "sample_data/previous_scores.csv" in page


def test_deterministic(summary: dict[str, Any], facts: dict[str, Any]) -> None:
    first = render_html(summary, facts)
    second = render_html(copy.deepcopy(summary), copy.deepcopy(facts))
    assert first == second


def test_escapes_text_from_data(summary: dict[str, Any], facts: dict[str, Any]) -> None:
    summary["by_branch"][0]["branch"] = "<b>&"
    summary["upgrade"]["top"][0]["lever"] = '"><script>alert(1)</script>'
    summary["tiers"][0]["tier"] = "$x_1$ <i>"
    page = render_html(summary, facts)
    assert "&lt;b&gt;&amp;" in page
    assert "<b>&" not in page
    assert "<script" not in page
    assert "<i>" not in page


def test_tolerates_missing_and_empty_data(facts: dict[str, Any]) -> None:
    minimal = {
        "customers": 0,
        "tiers": [],
        "concentration": {"curve": []},
        "migration": {"rows": [], "columns": [], "counts": [], "movement": {}},
        "by_branch": [],
        "upgrade": {"top": []},
        "quality_gates": {"evaluated": False, "note": "no gate data"},
    }
    page = render_html(minimal, facts, "en")
    assert "<svg" not in page
    assert "No --customers given: the quality gates were not applied." in page
    assert render_html({}, {}).startswith("<!DOCTYPE html>")


SVG = "{http://www.w3.org/2000/svg}"


def _charts(page: str) -> dict[str, ET.Element]:
    """Each chart parsed as XML, by name: proves it well-formed and its text escaped."""
    charts = {}
    for text in re.findall(r"<svg\b.*?</svg>", page, re.DOTALL):
        root = ET.fromstring(text)
        charts[root.get("id", "").removesuffix("-chart")] = root
    return charts


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_charts_are_standalone_svg(page: str) -> None:
    charts = _charts(page)
    assert list(charts) == ["tiers", "concentration", "migration"]
    for name, root in charts.items():
        assert root.tag == f"{SVG}svg"
        width, height = _number(root.get("width", "")), _number(root.get("height", ""))
        assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
        assert width > 0 and height > 0
        assert root[0].tag == f"{SVG}title" and root[0].text
        ids = [e.get("id") for e in root.iter() if e.get("id")]
        assert all(i.startswith(f"{name}-") for i in ids), ids


def test_report_loads_no_plotting_library(summary: dict[str, Any]) -> None:
    """Importing and rendering must stay cheap: no matplotlib, no numpy."""
    code = (
        "import json, sys\n"
        "from tierscore.scoring.report import render_html\n"
        "render_html(json.loads(sys.stdin.buffer.read().decode('utf-8')), {})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy')))"
    )
    data = json.dumps(summary, ensure_ascii=False).encode("utf-8")
    done = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip() == "[]"


def test_chart_labels_escaped(summary: dict[str, Any], facts: dict[str, Any]) -> None:
    summary["tiers"][0]["tier"] = "<&>"
    summary["migration"]["rows"][0] = "<&>"
    summary["migration"]["columns"][1] = '"><script>'
    page = render_html(summary, facts)
    charts = _charts(page)
    for name in ("tiers", "migration"):
        texts = [e.text for e in charts[name].iter(f"{SVG}text")]
        assert "<&>" in texts
    assert "&lt;&amp;&gt;" in page and "<&>" not in page and "<script" not in page


def test_bars_follow_the_data(page: str, summary: dict[str, Any]) -> None:
    bars = [e for e in _charts(page)["tiers"].iter(f"{SVG}rect")]
    heights = [float(bar.get("height", "")) for bar in bars]
    customers = [t["customers"] for t in summary["tiers"]]
    points = [float(t["points"]) for t in summary["tiers"]]
    assert len(bars) == len(customers) + len(points)
    for values, drawn in ((customers, heights[:7]), (points, heights[7:])):
        assert drawn.index(max(drawn)) == values.index(max(values))
        for value, height in zip(values, drawn, strict=True):
            assert height / max(drawn) == pytest.approx(value / max(values), abs=0.01)
    tips = [bar.find(f"{SVG}title").text for bar in bars]  # type: ignore[union-attr]
    assert tips[0] == "七星级: 6" and tips[7] == "七星级: 123,457"


def test_axes_have_round_ticks_with_separators(page: str) -> None:
    texts = [e.text for e in _charts(page)["tiers"].iter(f"{SVG}text")]
    # customers peak at 120: ticks every 50; points peak at 123,456.78: every 50,000
    assert {"0", "50", "100", "150"} <= set(texts)
    assert {"50,000", "100,000", "150,000"} <= set(texts)
    assert "200" not in texts and "200,000" not in texts


def test_curve_has_one_point_per_entry(page: str, summary: dict[str, Any]) -> None:
    chart = _charts(page)["concentration"]
    curve = next(e for e in chart.iter(f"{SVG}polyline") if e.get("clip-path"))
    points = curve.get("points", "").split()
    assert len(points) == len(summary["concentration"]["curve"])
    xs = [float(p.split(",")[0]) for p in points]
    assert xs == sorted(xs)


def test_heat_map_darkest_where_most_customers(page: str, summary: dict[str, Any]) -> None:
    chart = _charts(page)["migration"]
    cells = list(chart.iter(f"{SVG}rect"))
    rows, columns = summary["migration"]["rows"], summary["migration"]["columns"]
    assert len(cells) == len(rows) * len(columns)

    def lightness(cell: ET.Element) -> int:
        colour = cell.get("fill", "")
        return sum(int(colour[i : i + 2], 16) for i in (1, 3, 5))

    darkest = min(cells, key=lightness)
    tip = darkest.find(f"{SVG}title").text  # type: ignore[union-attr]
    assert tip == f"{rows[6]} → {columns[6]}: {MIGRATION_COUNT}"
    white = [e.text for e in chart.iter(f"{SVG}text") if e.get("fill") == "#fff"]
    assert white == [str(MIGRATION_COUNT)]


ODD_SUMMARIES = {
    "zero values": {
        "tiers": [{"tier": "A", "customers": 0, "points": "0"}, {"tier": "B"}],
        "concentration": {"curve": [[0, 0], [1, 1]], "customers_share": None},
        "migration": {"rows": ["A"], "columns": ["A"], "counts": [[0]]},
    },
    "missing keys and bad numbers": {
        "tiers": [{}, {"tier": None, "customers": "many", "points": "1e999"}],
        "concentration": {"curve": [["x", None], "ab", [0.5], [0.5, 0.9, 1], {}, [1, 1]]},
        "migration": {"rows": ["A", "B"], "columns": ["A", "B"], "counts": [[1, "x"], None]},
    },
    "ragged matrix": {
        "tiers": [{"tier": "A", "customers": -5, "points": "-12.5"}],
        "concentration": {"curve": [[0.2, 0.5]], "customers_share": "n/a", "points_share": 0},
        "migration": {"rows": ["A", "B", "C"], "columns": ["A"], "counts": [[4, 5, 6]]},
    },
    "eight long tiers": {
        "tiers": [
            {"tier": f"第{i}级 very long tier label {i}", "customers": 10**i} for i in range(8)
        ],
        "concentration": {"curve": [[i / 7, (i / 7) ** 0.5] for i in range(8)]},
        "migration": {
            "rows": ["x" * 40] * 2,
            "columns": ["七星级" * 9] * 8,
            "counts": [[10**7] * 8],
        },
    },
    "no migration columns": {"migration": {"rows": ["A"], "columns": [], "counts": [[1]]}},
    "no migration rows": {"migration": {"rows": [], "columns": ["A"], "counts": []}},
}


@pytest.mark.parametrize("name", list(ODD_SUMMARIES))
def test_odd_data_draws_valid_charts(name: str) -> None:
    page = render_html(copy.deepcopy(ODD_SUMMARIES[name]), {})
    charts = _charts(page)
    assert page.count("<svg") == len(charts)
    assert not re.search(r"\b(nan|inf)\b", page, re.IGNORECASE)
    for root in charts.values():
        size = (_number(root.get("width", "")), _number(root.get("height", "")))
        for e in root.iter():
            for attr in ("x", "y", "width", "height"):
                if e.get(attr) is not None and e.tag != f"{SVG}svg":
                    assert float(e.get(attr, "")) <= max(size), (name, e.tag, e.attrib)
    if name.startswith("no migration"):
        assert "migration" not in charts
    if name == "ragged matrix":  # a share that is no number draws no marker
        assert "of customers bring" not in page


def _browser() -> str | None:
    names = ("chromium", "chromium-browser", "google-chrome")
    return next((path for path in map(shutil.which, names) if path), None)


@pytest.mark.parametrize("lang", LANGS)
def test_headless_chromium_renders_charts(
    summary: dict[str, Any], facts: dict[str, Any], lang: str, tmp_path: Path
) -> None:
    browser = _browser()
    if browser is None:
        pytest.skip("no chromium")
    target = tmp_path / "report.html"
    target.write_text(render_html(summary, facts, lang), encoding="utf-8")
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        target.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert dom.count("<svg") == 3
    assert "七星级" in dom and "朝阳支行" in dom
    assert 'id="migration-chart"' in dom
    say = TEXT[lang]
    for key in ("tiers_heading", "branches_heading", "facts_heading", "migration_rows"):
        assert say[key] in dom, key
    assert f'<html lang="{HTML_LANG[lang]}">' in dom
