"""One run's summary as a single HTML page an analyst can open anywhere, offline.

Bank desktops often have no internet access and mail filters strip attachments
that pull in scripts, so the page carries everything inside itself: CSS in a
``<style>`` block and the charts (``charts``) as inline SVG. The same inputs
give byte-identical HTML, so two reports can be compared with ``diff`` or a
checksum.

The page stays small whatever the data: a table shows at most ``TABLE_ROWS`` rows
(the largest groups, the closest customers) and says how many more there are and
where they all are, and a cell at most ``CELL_CHARS`` characters. Every value from
the data is escaped (``charts.escape``), in tables, chart text and tooltips alike.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from .charts import (
    BAR,
    FONT_STACK,
    concentration_chart,
    count,
    escape,
    figure,
    migration_chart,
    migration_counts,
    tier_chart,
)

__all__ = ["render_html"]

TABLE_ROWS = 1_000  # per table; summary.json and the CSVs have them all
CELL_CHARS = 200  # a longer value is cut in the middle ("…"); the CSVs have it whole

STYLE = f"""
body {{ font-family: {FONT_STACK}; margin: 2em auto; max-width: 70em; padding: 0 1em;
  color: #1d2733; line-height: 1.4; }}
svg text {{ font-family: {FONT_STACK} !important; }}
h1 {{ font-size: 1.5em; border-bottom: 2px solid {BAR}; padding-bottom: .3em; }}
h2 {{ font-size: 1.2em; margin-top: 2em; color: {BAR}; }}
h3 {{ font-size: 1em; }}
table {{ border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }}
th, td {{ border: 1px solid #cfd6de; padding: .25em .6em; text-align: left; }}
th {{ background: #eef2f6; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
caption {{ text-align: left; font-weight: bold; padding: .3em 0; }}
figure {{ margin: 1em 0; }}
figure svg {{ max-width: 100%; height: auto; }}
.note {{ color: #5b6875; font-size: .9em; }}
code {{ font-size: .9em; }}
"""


# --- small formatting helpers -------------------------------------------------


def _pct(value: Any) -> str:
    try:
        return f"{float(value):.1%}"
    except (TypeError, ValueError):
        return "—"


def _clip(value: Any) -> Any:
    """A long value cut in the middle, where a path or id is least telling."""
    text = value if isinstance(value, str) else None
    if text is None or len(text) <= CELL_CHARS:
        return value
    half = CELL_CHARS // 2
    return f"{text[:half]}…{text[-(CELL_CHARS - half - 1) :]}"


def _more(shown: int, total: int, what: str, where: str) -> str:
    """The note under a table that shows only some of its rows."""
    if total <= shown:
        return ""
    return f'<p class="note">{shown:,} of {total:,} {escape(what)} shown; all are in {where}.</p>'


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: Sequence[bool] | None = None,
    caption: str = "",
) -> str:
    """A plain table; numeric columns right-aligned so amounts line up by digit."""
    numeric = numeric or [False] * len(headers)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{escape(_clip(v))}</td>' if num else f"<td>{escape(_clip(v))}</td>"
            for v, num in zip(row, numeric, strict=False)
        )
        body.append(f"<tr>{cells}</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _facts_table(pairs: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_clip(v))}</td></tr>" for k, v in pairs)
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


# --- sections ------------------------------------------------------------------


def _title(summary: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    ruleset = summary.get("ruleset") or facts.get("ruleset") or {}
    window = summary.get("window") or facts.get("window") or {}
    return (
        f"tierscore report — {ruleset.get('name', '')} "
        f"{window.get('start', '')}..{window.get('end', '')}"
    ).strip()


def _facts_section(summary: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """Enough provenance to reproduce the run: versions, rules, window, input checksums."""
    tool = facts.get("tool") or {}
    ruleset = facts.get("ruleset") or summary.get("ruleset") or {}
    window = facts.get("window") or summary.get("window") or {}
    pairs = [
        ("tool", f"{tool.get('name', 'tierscore')} {tool.get('version', '')}".strip()),
        ("polars", tool.get("polars")),
        ("started at", facts.get("started_at")),
        ("rule set", f"{ruleset.get('name', '')} {ruleset.get('version', '')}".strip()),
        ("rule set title", ruleset.get("title")),
        ("rule set sha256", ruleset.get("sha256")),
        ("window", f"{window.get('start', '')}..{window.get('end', '')}"),
        ("days", window.get("days")),
        ("customers", summary.get("customers")),
        ("quality customers", summary.get("quality_customers")),
    ]
    body = _facts_table(pairs) + _inputs_table(facts) + _timings_table(facts)
    return _section("Run facts", body, "facts")


def _inputs_table(facts: Mapping[str, Any]) -> str:
    rows = [
        (
            kind,
            f.get("path"),
            f.get("format"),
            f.get("encoding"),
            f.get("rows"),
            str(f.get("sha256") or "")[:12],
        )
        for kind, files in (facts.get("inputs") or {}).items()
        for f in files or []
    ]
    if not rows:
        return ""
    headers = ("input", "file", "format", "encoding", "rows", "sha256 (first 12)")
    numeric = [False, False, False, False, True, False]
    more = _more(TABLE_ROWS, len(rows), "input files", "manifest.json")
    return _table(headers, rows[:TABLE_ROWS], numeric, "Input files") + more


def _timings_table(facts: Mapping[str, Any]) -> str:
    timings = facts.get("timings_s") or {}
    if not timings:
        return ""
    rows = [(stage, f"{float(s):.3f}") for stage, s in timings.items()]
    return _table(("stage", "seconds"), rows, [False, True], "Stage timings")


def _tiers_section(summary: Mapping[str, Any]) -> str:
    tiers = summary.get("tiers") or []
    rows = [
        (
            t.get("tier"),
            t.get("customers"),
            _pct(t.get("share")),
            t.get("points"),
            t.get("assets_daily_average"),
        )
        for t in tiers
    ]
    headers = ("tier", "customers", "share", "points", "assets daily average (yuan)")
    table = _table(headers, rows, [False, True, True, True, True])
    if not tiers:
        return _section("Tier distribution", '<p class="note">No customers scored.</p>', "tiers")
    chart = figure(tier_chart(tiers), "Customers and points per tier, highest tier first.")
    return _section("Tier distribution", chart + table + _key_group_note(summary), "tiers")


def _key_group_note(summary: Mapping[str, Any]) -> str:
    """The rule set's key customers by the group's own name (seed 002's 关键客户)."""
    group = summary.get("key_group")
    if not group:
        return ""
    tiers = " + ".join(str(t) for t in group.get("tiers") or [])
    customers, share = group.get("customers"), _pct(group.get("share"))
    return (
        f"<p>{escape(group.get('label'))} ({escape(tiers)}): {escape(customers)} customers, "
        f"{escape(share)} of all.</p>"
    )


def _concentration_section(concentration: Mapping[str, Any]) -> str:
    share = concentration.get("customers_share")
    target = concentration.get("points_share", 0.8)
    text = ""
    if share is not None:
        text = (
            f"<p>{escape(concentration.get('customers'))} customers ({_pct(share)}) bring "
            f"{_pct(target)} of all points.</p>"
        )
    if not concentration.get("curve"):
        return _section("Concentration", text + '<p class="note">No curve.</p>', "concentration")
    chart = figure(concentration_chart(concentration), "Customers sorted by points, highest first.")
    return _section("Concentration", text + chart, "concentration")


def _migration_section(migration: Mapping[str, Any]) -> str:
    """Where last period's customers went; the matrix is also a table for copy/paste."""
    movement = migration.get("movement") or {}
    intro = f"<p>Compared with <code>{escape(_clip(migration.get('previous')))}</code>.</p>"
    moves = _table(list(movement), [list(movement.values())], [True] * len(movement), "Movement")
    columns = [str(c) for c in migration.get("columns") or []]
    counts = migration_counts(migration)
    matrix = [[row, *line] for row, line in zip(migration.get("rows") or [], counts, strict=True)]
    detail = _table(["previous \\ current", *columns], matrix, [False] + [True] * len(columns))
    chart = ""
    if counts and columns:
        chart = figure(migration_chart(migration), "Rows: previous tier. Columns: current tier.")
    body = intro + chart + moves + f"<details><summary>matrix as table</summary>{detail}</details>"
    return _section("Tier migration", body, "migration")


def _largest(entries: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[Mapping[str, Any]]:
    """The ``TABLE_ROWS`` groups with the most customers (ties by name), in list order."""
    if len(entries) <= TABLE_ROWS:
        return list(entries)
    size = {
        i: (-count(e.get("customers")), [str(e.get(k)) for k in keys])
        for i, e in enumerate(entries)
    }
    kept = sorted(sorted(size, key=size.__getitem__)[:TABLE_ROWS])
    return [entries[i] for i in kept]


def _group_table(
    entries: Sequence[Mapping[str, Any]], keys: Sequence[str], labels: list[str]
) -> str:
    headers = [*keys, "customers", "quality customers", "points", *labels]
    rows = [
        [
            *(e.get(k) for k in keys),
            e.get("customers"),
            e.get("quality_customers"),
            e.get("points"),
            *((e.get("tiers") or {}).get(label, 0) for label in labels),
        ]
        for e in _largest(entries, keys)
    ]
    numeric = [False] * len(keys) + [True] * (3 + len(labels))
    return _table(headers, rows, numeric)


def _group_note(summary: Mapping[str, Any], view: str, what: str) -> str:
    """How many groups there are in all: those summary.json lists and its ``_rest``."""
    listed = len(summary.get(view) or [])
    rest = count((summary.get(f"{view}_rest") or {}).get("groups"))
    shown = min(listed, TABLE_ROWS)
    where = "scores.csv" if rest else "summary.json"
    return _more(shown, listed + rest, f"{what} (those with the most customers)", where)


def _tier_labels(summary: Mapping[str, Any]) -> list[str]:
    """Tier columns in rule-set order, plus any label only a branch row knows."""
    labels = [str(t.get("tier")) for t in summary.get("tiers") or []]
    for entry in [*(summary.get("by_branch") or []), *(summary.get("by_manager") or [])]:
        labels += [str(k) for k in entry.get("tiers") or {} if str(k) not in labels]
    return labels


def _branch_section(summary: Mapping[str, Any]) -> str:
    labels = _tier_labels(summary)
    parts = []
    if "by_branch" in summary:
        parts.append("<h3>Per branch</h3>")
        parts.append(_group_table(summary["by_branch"] or [], ["branch"], labels))
        parts.append(_group_note(summary, "by_branch", "branches"))
    if "by_manager" in summary:
        parts.append("<h3>Per manager</h3>")
        parts.append(_group_table(summary["by_manager"] or [], ["branch", "manager"], labels))
        parts.append(_group_note(summary, "by_manager", "managers"))
    return _section("Branches and managers", "".join(parts), "branches")


def _upgrade_section(upgrade: Mapping[str, Any], rest: Mapping[str, Any]) -> str:
    """Customers close to the next tier, with the cheapest lever to get them there."""
    top = _closest(upgrade.get("top") or [])
    intro = (
        f"<p>{escape(upgrade.get('customers'))} customers are within {escape(upgrade.get('pct'))}% "
        f"of the next tier's points; {len(top):,} listed.</p>"
    )
    listed = len(upgrade.get("top") or []) + count(rest.get("customers"))
    what = "customers closest to the next tier (at most 10 per branch)"
    more = _more(len(top), listed, what, "scores.csv (near_next, points_to_next)")
    keys = (
        "branch",
        "manager",
        "customer_id",
        "tier",
        "next_tier",
        "points",
        "points_to_next",
        "lever",
        "lever_yuan",
    )
    headers = ("branch", "manager", "customer", "tier", "next tier", "points", "points to next")
    headers += ("lever", "lever (yuan)")
    rows = [[entry.get(k) for k in keys] for entry in top]
    numeric = [False] * 5 + [True, True, False, True]
    if any(e.get("lever_transactions") is not None or e.get("lever_codes") for e in top):
        intro += (
            "<p>A capped lever's yuan count at most its cap per transaction, and only with a "
            "fee where the lever says so: no one transfer makes them. The transactions column "
            "gives the fewest that reach the next tier, at the standard fee.</p>"
        )
        headers += ("lever (transactions)",)
        rows = [[*row, _lever_transactions(e)] for row, e in zip(rows, top, strict=True)]
        numeric = [*numeric, True]
    return _section("Upgrade potential", intro + _table(headers, rows, numeric) + more, "upgrade")


def _lever_transactions(entry: Mapping[str, Any]) -> str:
    """A capped lever as "31 of 10000.00 each" (and the only codes that count that
    much); a lever without a cap that only some codes make names them."""
    n, each, codes = (entry.get(k) for k in ("lever_transactions", "lever_each", "lever_codes"))
    which = f" ({codes})" if codes else ""
    if n is None:
        return f"no cap{which}" if codes else ""
    shown = f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)
    return f"{shown} of {each} each{which}"


def _closest(top: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``TABLE_ROWS`` entries closest to the next tier (ties in list order), in list
    order; an entry whose distance is not a number counts as farthest."""
    if len(top) <= TABLE_ROWS:
        return list(top)
    gaps = {i: _distance(e.get("points_to_next")) for i, e in enumerate(top)}
    kept = sorted(sorted(gaps, key=gaps.__getitem__)[:TABLE_ROWS])
    return [top[i] for i in kept]


def _distance(value: Any) -> Decimal:
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return Decimal("Infinity")
    return found if found.is_finite() else Decimal("Infinity")


ROW_COUNTS = ("read", "used", "excluded", "unmapped", "outside_window", "duplicate", "rejected")


def _rows_section(summary: Mapping[str, Any]) -> str:
    """Every input row accounted for, so a dropped row never goes unnoticed."""
    accounting = summary.get("rows") or {}
    rows = [[name, *(counts.get(k, 0) for k in ROW_COUNTS)] for name, counts in accounting.items()]
    headers = ["input", *(k.replace("_", " ") for k in ROW_COUNTS)]
    body = _table(headers, rows, [False] + [True] * len(ROW_COUNTS))
    return _section("Row accounting", body + _unmapped_table(summary), "rows")


def _unmapped_table(summary: Mapping[str, Any]) -> str:
    """The codes summary.json names (the most rows first), and a line for the rest."""
    rest = summary.get("unmapped_codes_rest") or {}
    unmapped = [
        (name, code, rows)
        for name, codes in (summary.get("unmapped_codes") or {}).items()
        for code, rows in list((codes or {}).items())[:TABLE_ROWS]
    ]
    notes = [
        f"{escape(name)}: {count(more.get('codes')):,} more codes "
        f"({count(more.get('rows')):,} rows)"
        for name, more in rest.items()
        if isinstance(more, Mapping) and count(more.get("codes"))
    ]
    if not unmapped and not notes:
        return ""
    body = _table(("input", "code", "rows"), unmapped, [False, False, True], "Unmapped codes")
    if notes:
        listed = "; ".join(notes)
        body += f'<p class="note">{listed}; every code is in unmapped_codes.csv.</p>'
    return body


def _quality_section(gates: Mapping[str, Any]) -> str:
    if not gates.get("evaluated"):
        note = gates.get("note") or "Quality gates were not evaluated."
        return _section("Quality gates", f'<p class="note">{escape(note)}</p>', "quality")
    intro = f"<p>{escape(gates.get('blocked_customers'))} customers blocked by a quality gate.</p>"
    rows = list((gates.get("by_gate") or {}).items())
    if gates.get("not_evaluated"):  # measure gates ran, the customers columns' did not
        not_run = ", ".join(str(g) for g in gates["not_evaluated"])
        intro += f'<p class="note">{escape(gates.get("note"))}: {escape(not_run)}.</p>'
    return _section(
        "Quality gates", intro + _table(("gate", "customers"), rows, [False, True]), "quality"
    )


def _body_sections(summary: Mapping[str, Any]) -> Iterator[str]:
    if "tiers" in summary:
        yield _tiers_section(summary)
    if "concentration" in summary:
        yield _concentration_section(summary["concentration"] or {})
    if "migration" in summary:
        yield _migration_section(summary["migration"] or {})
    if "by_branch" in summary or "by_manager" in summary:
        yield _branch_section(summary)
    if "upgrade" in summary:
        yield _upgrade_section(summary["upgrade"] or {}, summary.get("upgrade_rest") or {})
    if "quality_gates" in summary:
        yield _quality_section(summary["quality_gates"] or {})
    if "rows" in summary:
        yield _rows_section(summary)


def render_html(summary: dict, facts: dict) -> str:
    """One scoring run (``summary.json`` and ``manifest.json`` contents) as an HTML page.

    The page is self-contained and deterministic, so it can be mailed, archived
    next to the run's outputs and checksummed. Sections whose data is missing
    from ``summary`` are left out rather than shown empty.
    """
    title = _title(summary, facts)
    sections = [_facts_section(summary, facts), *_body_sections(summary)]
    ruleset_title = (summary.get("ruleset") or {}).get("title")
    subtitle = f'<p class="note">{escape(ruleset_title)}</p>' if ruleset_title else ""
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{subtitle}\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
