"""A comparison of two rule sets (``compare``) as one offline HTML page.

Built from the scoring report's own pieces (``report``: style, tables, size limits;
``charts``: the migration heat map), so it reads like the report an analyst knows
and keeps its promises: self-contained, byte-identical for the same inputs, every
value from the data or a rule file escaped, no table longer than ``TABLE_ROWS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .charts import count, escape, figure, migration_chart, migration_counts
from .report import (
    STYLE,
    _facts_table,
    _inputs_table,
    _largest,
    _more,
    _pct,
    _section,
    _table,
    _timings_table,
)

__all__ = ["render_comparison"]

BRANCH_MATRICES = 20  # branches whose own matrix the page shows; summary.json has all
MOVES = ("up", "down", "same", "new", "gone")
# The heat map is the --previous one: its axis names are renamed for two rule sets.
AXES = (
    (">previous tier</text>", ">tier under A</text>"),
    (">current tier</text>", ">tier under B</text>"),
    ("<title>Customers per previous tier and current tier</title>",
     "<title>Customers per tier under A and under B</title>"),
)  # fmt: skip


def _named(side: Mapping[str, Any]) -> str:
    ruleset = side.get("ruleset") or {}
    return f"{ruleset.get('name', '')} {ruleset.get('version', '')}".strip()


def _title(summary: Mapping[str, Any]) -> str:
    a, b = (summary.get(k) or {} for k in ("a", "b"))
    window = summary.get("window") or {}
    return (
        f"tierscore comparison — {(a.get('ruleset') or {}).get('name', '')} → "
        f"{(b.get('ruleset') or {}).get('name', '')} "
        f"{window.get('start', '')}..{window.get('end', '')}"
    )


def _rulesets_section(summary: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """Which rule sets, exactly (name, version, checksum), over which window."""
    a, b = (summary.get(k) or {} for k in ("a", "b"))
    rows = [
        (key, (a.get("ruleset") or {}).get(key), (b.get("ruleset") or {}).get(key))
        for key in ("name", "version", "title", "file", "sha256")
    ]
    rows += [(key.replace("_", " "), a.get(key), b.get(key))
             for key in ("customers", "quality_customers")]  # fmt: skip
    table = _table(["rule set", "A (in use)", "B (candidate)"], rows, [False, False, False])
    tool = facts.get("tool") or {}
    window = summary.get("window") or {}
    pairs = [
        ("tool", f"{tool.get('name', 'tierscore')} {tool.get('version', '')}".strip()),
        ("started at", facts.get("started_at")),
        ("window", f"{window.get('start', '')}..{window.get('end', '')}"),
        ("days", window.get("days")),
    ]
    body = table + _facts_table(pairs) + _inputs_table(facts) + _timings_table(facts)
    return _section("Rule sets", body, "rulesets")


def _chart(migration: Mapping[str, Any]) -> str:
    svg = migration_chart(migration)
    for old, new in AXES:
        svg = svg.replace(old, new, 1)  # the first: the axis name, before any tier label
    return figure(svg, "Rows: tier under A. Columns: tier under B.")


def _moves(movement: Mapping[str, Any] | None, note: Any) -> str:
    if movement is None:
        return f'<p class="note">{escape(note or "up and down are not defined")}.</p>'
    values = [movement.get(k, 0) for k in MOVES]
    return _table(MOVES, [values], [True] * len(MOVES), "Movement from A to B")


def _matrix_table(migration: Mapping[str, Any], caption: str = "") -> str:
    columns = [str(c) for c in migration.get("columns") or []]
    counts = migration_counts(migration)
    rows = [[row, *line] for row, line in zip(migration.get("rows") or [], counts, strict=True)]
    return _table(["A \\ B", *columns], rows, [False] + [True] * len(columns), caption)


def _migration_section(summary: Mapping[str, Any]) -> str:
    """The matrix: where each of A's tiers goes under B."""
    migration = summary.get("migration") or {}
    customers = summary.get("customers") or {}
    a, b = (_named(summary.get(k) or {}) for k in ("a", "b"))
    intro = (
        f"<p>Rows: tier under A, <code>{escape(a)}</code>. Columns: tier under B, "
        f"<code>{escape(b)}</code>. {count(customers.get('both')):,} customers scored by "
        f"both; <em>new</em>: {count(customers.get('new')):,} scored only by B; "
        f"<em>gone</em>: {count(customers.get('gone')):,} scored only by A.</p>"
    )
    chart = _chart(migration) if migration.get("rows") and migration.get("columns") else ""
    moves = _moves(migration.get("movement"), migration.get("note"))
    return _section("Tier migration", intro + chart + moves + _matrix_table(migration), "migration")


def _quality_section(summary: Mapping[str, Any]) -> str:
    """Quality can change with no tier changing (a stricter gate): who loses it, where."""
    quality = summary.get("quality") or {}
    heads = ("quality under A", "quality under B", "kept", "lost", "gained", "neither")
    keys = ("a", "b", "kept", "lost", "gained", "neither")
    body = _table(heads, [[quality.get(k, 0) for k in keys]], [True] * len(keys))
    lost = list((quality.get("lost_by_a_tier") or {}).items())
    body += _table(("tier under A", "lost quality"), lost, [False, True], "Quality lost, by tier")
    for key, label in (("a", "A"), ("b", "B")):
        gates = (summary.get(key) or {}).get("quality_gates") or {}
        if gates.get("evaluated"):
            rows = list((gates.get("by_gate") or {}).items())
            body += _table(("gate", "customers"), rows, [False, True], f"Blocked under {label}")
    return _section("Quality", body, "quality")


def _tiers_section(summary: Mapping[str, Any]) -> str:
    parts = []
    for key, label in (("a", "A"), ("b", "B")):
        side = summary.get(key) or {}
        tiers = side.get("tiers") or []
        total = count(side.get("customers"))
        share = [_pct(count(t.get("customers")) / total) if total else "—" for t in tiers]
        rows = [(t.get("tier"), t.get("customers"), s) for t, s in zip(tiers, share, strict=True)]
        caption = f"{label}: {_named(side)}"
        parts.append(_table(("tier", "customers", "share"), rows, [False, True, True], caption))
    return _section("Tier distribution", "".join(parts), "tiers")


def _branch_rows(entries: Sequence[Mapping[str, Any]], same: bool) -> list[list[Any]]:
    rows = []
    for e in entries:
        quality = e.get("quality") or {}
        moved = [(e.get("movement") or {}).get(k, 0) for k in MOVES] if same else []
        rows.append([e.get("branch"), e.get("customers"), *moved, quality.get("lost", 0),
                     quality.get("gained", 0)])  # fmt: skip
    return rows


def _branch_section(summary: Mapping[str, Any]) -> str:
    """Per branch: the moves and the quality change, then the largest branches' own
    matrices."""
    entries = summary.get("by_branch") or []
    same = bool(summary.get("same_tiers"))
    shown = _largest(entries, ["branch"])
    heads = ["branch", "customers", *(MOVES if same else ()), "quality lost", "quality gained"]
    table = _table(heads, _branch_rows(shown, same), [False] + [True] * (len(heads) - 1))
    rest = count((summary.get("by_branch_rest") or {}).get("groups"))
    where = "the scores.csv of a score run with each rule set" if rest else "summary.json"
    note = _more(len(shown), len(entries) + rest, "branches (those with the most customers)", where)
    largest = _top(shown, BRANCH_MATRICES)
    matrices = "".join(
        f"<details><summary>{escape(e.get('branch'))}</summary>"
        f"{_matrix_table({**(summary.get('migration') or {}), 'counts': e.get('counts')})}"
        "</details>"
        for e in largest
    )
    more = _more(len(largest), len(entries) + rest, "branch matrices", where)
    body = table + note + "<h3>Matrix per branch</h3>" + matrices + more
    return _section("Per branch", body, "branches")


def _top(entries: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """The ``n`` entries with the most customers (ties in list order, i.e. by name)."""
    order = sorted(range(len(entries)), key=lambda i: -count(entries[i].get("customers")))
    return [entries[i] for i in order[:n]]


def render_comparison(summary: dict, facts: dict) -> str:
    """A comparison's ``summary.json`` and ``manifest.json`` contents as an HTML page."""
    title = _title(summary)
    sections = [
        _rulesets_section(summary, facts),
        _migration_section(summary),
        _quality_section(summary),
        _tiers_section(summary),
    ]
    if "by_branch" in summary:
        sections.append(_branch_section(summary))
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n" + "\n".join(sections) + "\n</body>\n</html>\n"
    )
