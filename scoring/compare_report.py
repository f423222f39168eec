"""A comparison of two rule sets (``compare``) as one offline HTML page.

Built from the scoring report's own pieces (``report``: style, tables, size limits,
the page's language; ``charts``: the migration heat map), so it reads like the report
an analyst knows and keeps its promises: self-contained, byte-identical for the same
inputs, every value from the data or a rule file escaped, no table longer than
``TABLE_ROWS``, in the language of ``report_text`` (``--lang``, or Chinese where
either rule set's tiers have Chinese names), the run's facts last and folded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .charts import count, escape, figure, migration_chart, migration_counts
from .report import (
    Words,
    _facts_table,
    _folded,
    _gate_table,
    _grouped,
    _inputs_table,
    _largest,
    _more,
    _moves,
    _pct,
    _say,
    _section,
    _table,
    _timings_table,
    page,
    page_lang,
)
from .report_text import words

__all__ = ["render_comparison"]

BRANCH_MATRICES = 20  # branches whose own matrix the page shows; summary.json has all
MOVES = ("up", "down", "same", "new", "gone")
SIDES = (("a", "A"), ("b", "B"))
NAMED = {"name": "ruleset_name", "version": "ruleset_version", "title": "ruleset_title"}
FILED = {"file": "ruleset_file", "sha256": "ruleset_sha256"}  # in the folded facts


def _named(side: Mapping[str, Any]) -> str:
    ruleset = side.get("ruleset") or {}
    return f"{ruleset.get('name', '')} {ruleset.get('version', '')}".strip()


def _title(summary: Mapping[str, Any], say: Words) -> str:
    a, b = ((summary.get(k) or {}).get("ruleset") or {} for k, _ in SIDES)
    window = summary.get("window") or {}
    return say["compare_title"].format(
        a=a.get("name", ""), b=b.get("name", ""), start=window.get("start", ""),
        end=window.get("end", ""),
    )  # fmt: skip


def _rulesets_section(summary: Mapping[str, Any], say: Words) -> str:
    """Which rule sets, by name and version, and how many customers each scored."""
    a, b = (summary.get(k) or {} for k, _ in SIDES)
    rows = [
        (say[word], (a.get("ruleset") or {}).get(key), (b.get("ruleset") or {}).get(key))
        for key, word in NAMED.items()
    ]
    rows += [
        (say[word], _grouped(a.get(key)), _grouped(b.get(key)))
        for key, word in (("customers", "col_customers"),
                          ("quality_customers", "col_quality_customers"))
    ]  # fmt: skip
    # not numeric columns: a version such as 2026.1 is no amount to group
    table = _table([say["col_ruleset"], say["side_a"], say["side_b"]], rows, [False] * 3)
    return _section(say["rulesets_heading"], table, "rulesets")


def _facts_section(summary: Mapping[str, Any], facts: Mapping[str, Any], say: Words) -> str:
    """Exactly which rule files (checksums), tool, window and inputs: folded, last."""
    a, b = ((summary.get(k) or {}).get("ruleset") or {} for k, _ in SIDES)
    rows = [(say[word], a.get(key), b.get(key)) for key, word in FILED.items()]
    table = _table([say["col_ruleset"], say["side_a"], say["side_b"]], rows, [False] * 3)
    tool = facts.get("tool") or {}
    window = summary.get("window") or {}
    pairs = [
        (say["fact_tool"], f"{tool.get('name', 'tierscore')} {tool.get('version', '')}".strip()),
        (say["fact_started"], facts.get("started_at")),
        (say["fact_window"], f"{window.get('start', '')}..{window.get('end', '')}"),
        (say["fact_days"], window.get("days")),
    ]
    body = table + _facts_table(pairs) + _inputs_table(facts, say) + _timings_table(facts, say)
    return _folded(say["facts_heading"], body, "facts")


def _chart(migration: Mapping[str, Any], say: Words) -> str:
    names = (say["compare_rows"], say["compare_columns"], say["compare_chart_title"])
    return figure(migration_chart(migration, *names), say["compare_caption"])


def _moves_table(movement: Mapping[str, Any] | None, say: Words) -> str:
    """Up and down, where both rule sets list the same tiers (else summary.json has no
    movement, and a note why: the page says it in its own language)."""
    if movement is None:
        return f'<p class="note">{_say(say, "compare_undefined")}</p>'
    values = [movement.get(k, 0) for k in MOVES]
    return _table(_moves(dict.fromkeys(MOVES), say), [values], [True] * len(MOVES),
                  say["compare_movement"])  # fmt: skip


def _matrix_table(migration: Mapping[str, Any], say: Words, caption: str = "") -> str:
    columns = [str(c) for c in migration.get("columns") or []]
    counts = migration_counts(migration)
    rows = [[row, *line] for row, line in zip(migration.get("rows") or [], counts, strict=True)]
    corner = say["matrix_corner_ab"]
    return _table([corner, *columns], rows, [False] + [True] * len(columns), caption)


def _migration_section(summary: Mapping[str, Any], say: Words) -> str:
    """The matrix: where each of A's tiers goes under B."""
    migration = summary.get("migration") or {}
    customers = summary.get("customers") or {}
    a, b = (_named(summary.get(k) or {}) for k, _ in SIDES)
    intro = _say(
        say, "compare_intro", a=f"<code>{escape(a)}</code>", b=f"<code>{escape(b)}</code>",
        both=f"{count(customers.get('both')):,}", new="<code>new</code>",
        new_count=f"{count(customers.get('new')):,}", gone="<code>gone</code>",
        gone_count=f"{count(customers.get('gone')):,}",
    )  # fmt: skip
    chart = _chart(migration, say) if migration.get("rows") and migration.get("columns") else ""
    moves = _moves_table(migration.get("movement"), say)
    body = f"<p>{intro}</p>" + chart + moves + _matrix_table(migration, say)
    return _section(say["migration_heading"], body, "migration")


def _quality_section(summary: Mapping[str, Any], say: Words) -> str:
    """Quality can change with no tier changing (a stricter gate): who loses it, where."""
    quality = summary.get("quality") or {}
    heads = [say[k] for k in ("col_quality_a", "col_quality_b", "col_kept", "col_lost",
                              "col_gained", "col_neither")]  # fmt: skip
    keys = ("a", "b", "kept", "lost", "gained", "neither")
    body = _table(heads, [[quality.get(k, 0) for k in keys]], [True] * len(keys))
    lost = list((quality.get("lost_by_a_tier") or {}).items())
    body += _table((say["compare_rows"], say["col_lost_quality"]), lost, [False, True],
                   say["quality_lost_caption"])  # fmt: skip
    for key, side in SIDES:
        gates = (summary.get(key) or {}).get("quality_gates") or {}
        if gates.get("evaluated"):
            body += _gate_table(gates, say, say["blocked_under"].format(side=side))
    return _section(say["compare_quality_heading"], body, "quality")


def _tiers_section(summary: Mapping[str, Any], say: Words) -> str:
    parts = []
    heads = (say["col_tier"], say["col_customers"], say["col_share"])
    for key, side in SIDES:
        entry = summary.get(key) or {}
        tiers = entry.get("tiers") or []
        total = count(entry.get("customers"))
        share = [_pct(count(t.get("customers")) / total) if total else "—" for t in tiers]
        rows = [(t.get("tier"), t.get("customers"), s) for t, s in zip(tiers, share, strict=True)]
        counted = sum(count(t.get("customers")) for t in tiers)
        caption = say["side_caption"].format(side=side, name=_named(entry))
        footer = [say["total"], counted, _pct(counted / total) if total else "—"]
        parts.append(_table(heads, rows, [False, True, True], caption, footer))
    return _section(say["tiers_heading"], "".join(parts), "tiers")


def _branch_rows(entries: Sequence[Mapping[str, Any]], same: bool) -> list[list[Any]]:
    rows = []
    for e in entries:
        quality = e.get("quality") or {}
        moved = [(e.get("movement") or {}).get(k, 0) for k in MOVES] if same else []
        rows.append([e.get("branch"), e.get("customers"), *moved, quality.get("lost", 0),
                     quality.get("gained", 0)])  # fmt: skip
    return rows


def _branch_section(summary: Mapping[str, Any], say: Words) -> str:
    """Per branch: the moves and the quality change, then the largest branches' own
    matrices."""
    entries = summary.get("by_branch") or []
    same = bool(summary.get("same_tiers"))
    shown = _largest(entries, ["branch"])
    moves = _moves(dict.fromkeys(MOVES), say) if same else []
    heads = [say["col_branch"], say["col_customers"], *moves, say["col_quality_lost"],
             say["col_quality_gained"]]  # fmt: skip
    table = _table(heads, _branch_rows(shown, same), [False] + [True] * (len(heads) - 1))
    rest = count((summary.get("by_branch_rest") or {}).get("groups"))
    where = escape(say["where_score_runs"]) if rest else "summary.json"
    note = _more(len(shown), len(entries) + rest, say["more_branches"], where, say)
    largest = _top(shown, BRANCH_MATRICES)
    migration = summary.get("migration") or {}
    matrices = "".join(
        f"<details><summary>{escape(e.get('branch'))}</summary>"
        f"{_matrix_table({**migration, 'counts': e.get('counts')}, say)}</details>"
        for e in largest
    )
    more = _more(len(largest), len(entries) + rest, say["more_branch_matrices"], where, say)
    body = table + note + f"<h3>{escape(say['matrix_per_branch'])}</h3>" + matrices + more
    return _section(say["per_branch"], body, "branches")


def _top(entries: Sequence[Mapping[str, Any]], n: int) -> list[Mapping[str, Any]]:
    """The ``n`` entries with the most customers (ties in list order, i.e. by name)."""
    order = sorted(range(len(entries)), key=lambda i: -count(entries[i].get("customers")))
    return [entries[i] for i in order[:n]]


def render_comparison(summary: dict, facts: dict, lang: str | None = None) -> str:
    """A comparison's ``summary.json`` and ``manifest.json`` contents as an HTML page,
    in ``lang`` (zh or en; None: zh where either rule set's tier labels are Chinese)."""
    labels = [t.get("tier") for k, _ in SIDES for t in (summary.get(k) or {}).get("tiers") or []]
    lang = page_lang(labels, lang)
    say = words(lang)
    sections = [
        _rulesets_section(summary, say),
        _migration_section(summary, say),
        _quality_section(summary, say),
        _tiers_section(summary, say),
    ]
    if "by_branch" in summary:
        sections.append(_branch_section(summary, say))
    sections.append(_facts_section(summary, facts, say))
    return page(lang, _title(summary, say), sections)
