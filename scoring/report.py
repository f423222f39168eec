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

It is written for the people who read it, a branch manager first: in their language
(``report_text``: Chinese where the tiers have Chinese names, or ``--lang``), the
business first (tiers, concentration, migration, branches, upgrades), then what
became of every input row, and the run's facts last, folded. Amounts show thousands
separators, grouped as text so they stay exactly as summary.json has them, and the
page prints on A4 (``@media print``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from .charts import (
    BAR,
    FONT_STACK,
    CurveText,
    concentration_chart,
    count,
    escape,
    figure,
    migration_chart,
    migration_counts,
    tier_chart,
)
from .report_text import HTML_LANG, check_lang, default_lang, words
from .rules import UNKNOWN_GATE
from .watch_report import service_sections

__all__ = ["render_html"]

Words = Mapping[str, str]  # one language's table (report_text.words)
ENGLISH = words("en")  # for a caller that names no language

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
tr.total th, tr.total td {{ font-weight: bold; border-top: 2px solid #9aa5b1; }}
summary {{ cursor: pointer; }}
summary h2 {{ display: inline; }}
@media print {{
  @page {{ size: A4; margin: 14mm 12mm; }}
  body {{ max-width: none; margin: 0; padding: 0; font-size: 10pt; }}
  h2 {{ margin-top: 1.2em; }}
  h2, h3, caption {{ break-after: avoid; page-break-after: avoid; }}
  table, figure, tr {{ break-inside: avoid; page-break-inside: avoid; }}
  thead {{ display: table-header-group; }}
  table {{ font-size: 8pt; }}
  th {{ background: none; }}
  summary {{ cursor: auto; list-style: none; }}
  summary::-webkit-details-marker {{ display: none; }}
  details > :not(summary) {{ display: block !important; }}
  details > table {{ display: table !important; }}
}}
@media print {{  /* its own rule: a browser without the pseudo-element drops only this one */
  details::details-content {{ display: block; content-visibility: visible; }}
}}
"""


# --- small formatting helpers -------------------------------------------------


def _pct(value: Any) -> str:
    try:
        return f"{float(value):.1%}"
    except (TypeError, ValueError):
        return "—"


PLAIN = re.compile(r"(-?)(\d+)(\.\d+)?")  # an amount as summary.json writes it: 1234567.80


def _grouped(value: Any) -> Any:
    """A whole number or a decimal amount with thousands separators (1,234,567.80),
    grouped as text: no digit is converted, so the page shows exactly what summary.json
    has, however large. Anything else is returned as it is."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return value
    text = value if isinstance(value, str) else str(value)
    found = PLAIN.fullmatch(text)
    if found is None:
        return value
    sign, whole, fraction = found.groups()
    head = len(whole) % 3 or 3
    groups = [whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))]
    return sign + ",".join(groups) + (fraction or "")


def _exact_sum(values: Iterable[Any]) -> str | None:
    """The sum of whole numbers or decimal amounts, exact (a Decimal context with room
    for every digit); None when one of them is not such a number."""
    texts = [str(v) for v in values]  # True, None or 1e3 is no such number
    if not all(PLAIN.fullmatch(t) for t in texts):
        return None
    with localcontext() as context:
        context.prec = max((len(t) for t in texts), default=1) + len(str(len(texts))) + 2
        return format(sum((Decimal(t) for t in texts), Decimal(0)), "f")


def _say(say: Words, key: str, **values: str) -> str:
    """A sentence of the page's language as HTML: the template is escaped here, the
    ``values`` are HTML already (escaped by the caller: data never reaches a page raw)."""
    return html.escape(say[key]).format(**values)


def _clip(value: Any) -> Any:
    """A long value cut in the middle, where a path or id is least telling."""
    text = value if isinstance(value, str) else None
    if text is None or len(text) <= CELL_CHARS:
        return value
    half = CELL_CHARS // 2
    return f"{text[:half]}…{text[-(CELL_CHARS - half - 1) :]}"


def _more(shown: int, total: int, what: str, where: str, say: Words = ENGLISH) -> str:
    """The note under a table that shows only some of its rows (``where``: a file name,
    HTML already)."""
    if total <= shown:
        return ""
    sentence = _say(say, "more_rows", shown=f"{shown:,}", total=f"{total:,}", what=escape(what),
                    where=where)  # fmt: skip
    return f'<p class="note">{sentence}</p>'


def _cells(row: Sequence[Any], numeric: Sequence[bool]) -> str:
    """A row's cells; numbers grouped by thousands and right-aligned so they line up."""
    return "".join(
        f'<td class="num">{escape(_clip(_grouped(v)))}</td>' if num
        else f"<td>{escape(_clip(v))}</td>"
        for v, num in zip(row, numeric, strict=False)
    )  # fmt: skip


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    numeric: Sequence[bool] | None = None,
    caption: str = "",
    total: Sequence[Any] | None = None,
) -> str:
    """A plain table; numeric columns right-aligned so amounts line up by digit.
    ``total``: a last row in bold, its first cell a heading (the word "total")."""
    numeric = numeric or [False] * len(headers)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = [f"<tr>{_cells(row, numeric)}</tr>" for row in rows]
    if total:
        cells = f"<th>{escape(total[0])}</th>" + _cells(total[1:], numeric[1:])
        body.append(f'<tr class="total">{cells}</tr>')
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _facts_table(pairs: Sequence[tuple[str, Any]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(_clip(v))}</td></tr>" for k, v in pairs)
    return f'<table class="facts"><tbody>{rows}</tbody></table>'


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


# --- sections ------------------------------------------------------------------


def _title(summary: Mapping[str, Any], facts: Mapping[str, Any], say: Words) -> str:
    ruleset = summary.get("ruleset") or facts.get("ruleset") or {}
    window = summary.get("window") or facts.get("window") or {}
    name, start, end = ruleset.get("name", ""), window.get("start", ""), window.get("end", "")
    return say["report_title"].format(name=name, start=start, end=end).strip()


def _facts_section(summary: Mapping[str, Any], facts: Mapping[str, Any], say: Words) -> str:
    """Enough provenance to reproduce the run: versions, rules, window, input checksums.
    Folded: the auditor opens it, the branch manager need not scroll past it."""
    tool = facts.get("tool") or {}
    ruleset = facts.get("ruleset") or summary.get("ruleset") or {}
    window = facts.get("window") or summary.get("window") or {}
    pairs = [
        (say["fact_tool"], f"{tool.get('name', 'tierscore')} {tool.get('version', '')}".strip()),
        (say["fact_polars"], tool.get("polars")),
        (say["fact_started"], facts.get("started_at")),
        (say["fact_ruleset"], f"{ruleset.get('name', '')} {ruleset.get('version', '')}".strip()),
        (say["fact_ruleset_title"], ruleset.get("title")),
        (say["fact_ruleset_sha256"], ruleset.get("sha256")),
        (say["fact_window"], f"{window.get('start', '')}..{window.get('end', '')}"),
        (say["fact_days"], window.get("days")),
        (say["col_customers"], _grouped(summary.get("customers"))),
        (say["col_quality_customers"], _grouped(summary.get("quality_customers"))),
    ]
    body = _facts_table(pairs) + _inputs_table(facts, say) + _timings_table(facts, say)
    return _folded(say["facts_heading"], body, "facts")


def _folded(title: str, body: str, anchor: str) -> str:
    """A section closed until clicked (and printed open): its heading is the handle."""
    heading = f"<summary><h2>{escape(title)}</h2></summary>"
    return f'<section id="{anchor}"><details>{heading}\n{body}\n</details></section>'


INPUT_NAMES = {  # inputs are named by what they hold; any other name is shown as it is
    "balances": "input_balances",
    "transactions": "input_transactions",
    "customers": "input_customers",
}


def _input_name(name: Any, say: Words) -> Any:
    return say[INPUT_NAMES[name]] if name in INPUT_NAMES else name


def _inputs_table(facts: Mapping[str, Any], say: Words = ENGLISH) -> str:
    rows = [
        (
            _input_name(kind, say),
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
    headers = [say[k] for k in ("col_input", "col_file", "col_format", "col_encoding")]
    headers += [say["col_rows"], say["col_sha256"]]
    numeric = [False, False, False, False, True, False]
    more = _more(TABLE_ROWS, len(rows), say["more_inputs"], "manifest.json", say)
    return _table(headers, rows[:TABLE_ROWS], numeric, say["inputs_caption"]) + more


def _timings_table(facts: Mapping[str, Any], say: Words = ENGLISH) -> str:
    timings = facts.get("timings_s") or {}
    if not timings:
        return ""
    rows = [(stage, f"{float(s):.3f}") for stage, s in timings.items()]
    headers = (say["col_stage"], say["col_seconds"])
    return _table(headers, rows, [False, True], say["timings_caption"])


def _tiers_section(summary: Mapping[str, Any], say: Words) -> str:
    tiers = summary.get("tiers") or []
    if not tiers:
        return _section(say["tiers_heading"], f'<p class="note">{_say(say, "tiers_none")}</p>',
                        "tiers")  # fmt: skip
    keys = ("tier", "customers", "share", "points", "assets_daily_average")
    rows = [[t.get(k) if k != "share" else _pct(t.get(k)) for k in keys] for t in tiers]
    headers = [say[k] for k in ("col_tier", "col_customers", "col_share", "col_measure")]
    table = _table([*headers, say["col_assets"]], rows, [False, True, True, True, True],
                   total=_tier_total(tiers, say))  # fmt: skip
    panels = (say["chart_customers_per_tier"], say["chart_measure_per_tier"])
    chart = figure(tier_chart(tiers, panels, say["chart_tiers_title"]), say["tiers_caption"])
    return _section(say["tiers_heading"], chart + table + _key_group_note(summary, say), "tiers")


def _tier_total(tiers: Sequence[Mapping[str, Any]], say: Words) -> list[Any]:
    """The tier table's total row: customers counted, amounts added exactly ("—" where
    a tier's amount is not a number)."""
    customers = sum(count(t.get("customers")) for t in tiers)
    amounts = [_exact_sum(t.get(k) for t in tiers) for k in ("points", "assets_daily_average")]
    return [say["total"], customers, _pct(1 if customers else 0), *amounts]


def _key_group_note(summary: Mapping[str, Any], say: Words) -> str:
    """The rule set's key customers by the group's own name (seed 002's 关键客户)."""
    group = summary.get("key_group")
    if not group:
        return ""
    tiers = " + ".join(str(t) for t in group.get("tiers") or [])
    customers, share = _grouped(group.get("customers")), _pct(group.get("share"))
    sentence = _say(say, "key_group", label=escape(group.get("label")), tiers=escape(tiers),
                    customers=escape(customers), share=escape(share))  # fmt: skip
    return f"<p>{sentence}</p>"


def _curve_text(say: Words) -> CurveText:
    keys = ("chart_share_customers", "chart_share_measure", "chart_equal_share",
            "chart_pareto_note", "chart_concentration_title")  # fmt: skip
    return CurveText(*(say[k] for k in keys))


def _concentration_section(concentration: Mapping[str, Any], say: Words) -> str:
    share = concentration.get("customers_share")
    target = concentration.get("points_share", 0.8)
    heading = say["concentration_heading"]
    text = ""
    if share is not None:
        customers = escape(_grouped(concentration.get("customers")))
        sentence = _say(say, "concentration_text", customers=customers, share=_pct(share),
                        target=_pct(target))  # fmt: skip
        text = f"<p>{sentence}</p>"
    if not concentration.get("curve"):
        none = f'<p class="note">{_say(say, "concentration_none")}</p>'
        return _section(heading, text + none, "concentration")
    chart = concentration_chart(concentration, _curve_text(say))
    return _section(heading, text + figure(chart, say["concentration_caption"]), "concentration")


MOVES = {"up": "move_up", "down": "move_down", "same": "move_same", "new": "move_new",
         "gone": "move_gone"}  # fmt: skip


def _moves(movement: Mapping[str, Any], say: Words) -> list[Any]:
    """The movement's kinds in the page's language (a kind the page does not know, as
    it is)."""
    return [say[MOVES[k]] if k in MOVES else k for k in movement]


def _migration_section(migration: Mapping[str, Any], say: Words) -> str:
    """Where last period's customers went; the matrix is also a table for copy/paste."""
    movement = migration.get("movement") or {}
    previous = f"<code>{escape(_clip(migration.get('previous')))}</code>"
    intro = f"<p>{_say(say, 'migration_intro', previous=previous)}</p>"
    moves = _table(_moves(movement, say), [list(movement.values())], [True] * len(movement),
                   say["movement_caption"])  # fmt: skip
    columns = [str(c) for c in migration.get("columns") or []]
    counts = migration_counts(migration)
    matrix = [[row, *line] for row, line in zip(migration.get("rows") or [], counts, strict=True)]
    detail = _table([say["matrix_corner"], *columns], matrix, [False] + [True] * len(columns))
    chart = ""
    if counts and columns:
        names = (say["migration_rows"], say["migration_columns"], say["migration_chart_title"])
        chart = figure(migration_chart(migration, *names), say["migration_caption"])
    folded = f"<details><summary>{escape(say['matrix_as_table'])}</summary>{detail}</details>"
    return _section(say["migration_heading"], intro + chart + moves + folded, "migration")


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


def _amount(value: Any) -> Decimal | None:
    """An amount from the data as a Decimal, or None when it is not a finite number."""
    found = _distance(value)
    return found if found.is_finite() else None


def _by_points(entries: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> list[Any]:
    """Groups with the most points first, ties by name; one whose points are not a
    number last."""

    def order(entry: Mapping[str, Any]) -> tuple[bool, Decimal, list[str]]:
        points = _amount(entry.get("points"))
        return points is None, -(points or Decimal(0)), [str(entry.get(k)) for k in keys]

    return sorted(entries, key=order)


GROUP_KEYS = {"branch": "col_branch", "manager": "col_manager"}


def _group_table(
    entries: Sequence[Mapping[str, Any]], keys: Sequence[str], labels: list[str], say: Words
) -> str:
    """A group per row, the most points first: the largest groups ``_largest`` keeps."""
    headers = [say[GROUP_KEYS[k]] for k in keys]
    headers += [say["col_customers"], say["col_quality_customers"], say["col_measure"], *labels]
    rows = [
        [
            *(e.get(k) for k in keys),
            e.get("customers"),
            e.get("quality_customers"),
            e.get("points"),
            *((e.get("tiers") or {}).get(label, 0) for label in labels),
        ]
        for e in _by_points(_largest(entries, keys), keys)
    ]
    numeric = [False] * len(keys) + [True] * (3 + len(labels))
    return _table(headers, rows, numeric)


def _group_note(summary: Mapping[str, Any], view: str, what: str, say: Words) -> str:
    """How many groups there are in all: those summary.json lists and its ``_rest``."""
    listed = len(summary.get(view) or [])
    rest = count((summary.get(f"{view}_rest") or {}).get("groups"))
    shown = min(listed, TABLE_ROWS)
    where = "scores.csv" if rest else "summary.json"
    return _more(shown, listed + rest, what, where, say)


def _tier_labels(summary: Mapping[str, Any]) -> list[str]:
    """Tier columns in rule-set order, plus any label only a branch row knows."""
    labels = [str(t.get("tier")) for t in summary.get("tiers") or []]
    for entry in [*(summary.get("by_branch") or []), *(summary.get("by_manager") or [])]:
        labels += [str(k) for k in entry.get("tiers") or {} if str(k) not in labels]
    return labels


def _branch_section(summary: Mapping[str, Any], say: Words) -> str:
    labels = _tier_labels(summary)
    parts = [f'<p class="note">{_say(say, "branches_order")}</p>']
    if "by_branch" in summary:
        parts.append(f"<h3>{escape(say['per_branch'])}</h3>")
        parts.append(_group_table(summary["by_branch"] or [], ["branch"], labels, say))
        parts.append(_group_note(summary, "by_branch", say["more_branches"], say))
    if "by_manager" in summary:
        parts.append(f"<h3>{escape(say['per_manager'])}</h3>")
        keys = ["branch", "manager"]
        parts.append(_group_table(summary["by_manager"] or [], keys, labels, say))
        parts.append(_group_note(summary, "by_manager", say["more_managers"], say))
    return _section(say["branches_heading"], "".join(parts), "branches")


UPGRADE_COLUMNS = {  # summary.json's key: the column's header
    "branch": "col_branch",
    "manager": "col_manager",
    "customer_id": "col_customer",
    "tier": "col_tier",
    "next_tier": "col_next_tier",
    "points": "col_measure",
    "points_to_next": "col_to_next",
    "lever": "col_lever",
    "lever_yuan": "col_lever_yuan",
}


def _upgrade_section(upgrade: Mapping[str, Any], rest: Mapping[str, Any], say: Words) -> str:
    """Customers close to the next tier, with the cheapest lever to get them there."""
    top = _closest(upgrade.get("top") or [])
    sentence = _say(say, "upgrade_intro", customers=escape(_grouped(upgrade.get("customers"))),
                    pct=escape(upgrade.get("pct")), listed=f"{len(top):,}")  # fmt: skip
    intro = f"<p>{sentence}</p>"
    listed = len(upgrade.get("top") or []) + count(rest.get("customers"))
    where = "scores.csv (near_next, points_to_next)"
    more = _more(len(top), listed, say["more_upgrade"], where, say)
    headers = [say[v] for v in UPGRADE_COLUMNS.values()]
    rows = [[entry.get(k) for k in UPGRADE_COLUMNS] for entry in top]
    numeric = [False] * 5 + [True, True, False, True]
    if any(e.get("lever_transactions") is not None or e.get("lever_codes") for e in top):
        intro += f"<p>{_say(say, 'upgrade_capped')}</p>"
        headers += [say["col_lever_transactions"]]
        rows = [[*row, _lever_transactions(e, say)] for row, e in zip(rows, top, strict=True)]
        numeric = [*numeric, True]
    table = _table(headers, rows, numeric)
    return _section(say["upgrade_heading"], intro + table + more, "upgrade")


def _lever_transactions(entry: Mapping[str, Any], say: Words) -> str:
    """A capped lever as "31 of 10,000.00 each" (and the only codes that count that
    much); a lever without a cap that only some codes make names them."""
    n, each, codes = (entry.get(k) for k in ("lever_transactions", "lever_each", "lever_codes"))
    which = f" ({codes})" if codes else ""
    if n is None:
        return say["lever_no_cap"].format(codes=which) if codes else ""
    return say["lever_transactions"].format(n=_grouped(n), each=_grouped(each), codes=which)


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


ROW_COUNTS = {  # summary.json's count: the column's header
    "read": "count_read",
    "used": "count_used",
    "excluded": "count_excluded",
    "unmapped": "count_unmapped",
    "outside_window": "count_outside_window",
    "duplicate": "count_duplicate",
    "rejected": "count_rejected",
}


def _rows_section(summary: Mapping[str, Any], say: Words) -> str:
    """Every input row accounted for, so a dropped row never goes unnoticed."""
    accounting = summary.get("rows") or {}
    rows = [
        [_input_name(name, say), *(counts.get(k, 0) for k in ROW_COUNTS)]
        for name, counts in accounting.items()
    ]
    headers = [say["col_input"], *(say[v] for v in ROW_COUNTS.values())]
    body = _table(headers, rows, [False] + [True] * len(ROW_COUNTS))
    return _section(say["rows_heading"], body + _unmapped_table(summary, say), "rows")


def _unmapped_table(summary: Mapping[str, Any], say: Words) -> str:
    """The codes summary.json names (the most rows first), and a line for the rest."""
    rest = summary.get("unmapped_codes_rest") or {}
    unmapped = [
        (_input_name(name, say), code, rows)
        for name, codes in (summary.get("unmapped_codes") or {}).items()
        for code, rows in list((codes or {}).items())[:TABLE_ROWS]
    ]
    notes = [
        _say(say, "unmapped_more", name=escape(_input_name(name, say)),
             codes=f"{count(more.get('codes')):,}", rows=f"{count(more.get('rows')):,}")
        for name, more in rest.items()
        if isinstance(more, Mapping) and count(more.get("codes"))
    ]  # fmt: skip
    if not unmapped and not notes:
        return ""
    headers = (say["col_input"], say["col_code"], say["col_rows"])
    body = _table(headers, unmapped, [False, False, True], say["unmapped_caption"])
    if notes:
        listed = html.escape(say["list_sep"]).join(notes)
        body += f'<p class="note">{_say(say, "unmapped_all", notes=listed)}</p>'
    return body


def _gate_label(gate: Any, labels: Any, say: Words) -> Any:
    """A gate by its label in the rule set (summary.json's ``labels``); the gate that
    blocks a customer whose customers row was unusable by what it means."""
    if isinstance(labels, Mapping) and labels.get(gate):
        return labels[gate]
    return say["gate_unknown"] if gate == UNKNOWN_GATE else gate


def _gate_table(gates: Mapping[str, Any], say: Words, caption: str = "") -> str:
    """Customers blocked per gate, each gate by its label."""
    labels = gates.get("labels")
    rows = [(_gate_label(g, labels, say), n) for g, n in (gates.get("by_gate") or {}).items()]
    return _table((say["col_gate"], say["col_customers"]), rows, [False, True], caption)


def _quality_section(gates: Mapping[str, Any], say: Words) -> str:
    """What the gates blocked. Gates go unapplied only without ``--customers`` (all of
    them, or those on its columns: ``summary._gate_summary``), which the page says in
    its own language rather than quoting summary.json's English note."""
    heading = say["quality_heading"]
    if not gates.get("evaluated"):
        return _section(heading, f'<p class="note">{_say(say, "quality_not_evaluated")}</p>',
                        "quality")  # fmt: skip
    labels = gates.get("labels")
    blocked = escape(_grouped(gates.get("blocked_customers")))
    intro = f"<p>{_say(say, 'quality_blocked', customers=blocked)}</p>"
    if gates.get("not_evaluated"):  # measure gates ran, the customers columns' did not
        named = (str(_gate_label(g, labels, say)) for g in gates["not_evaluated"])
        not_run = escape(say["comma"].join(named))
        intro += f'<p class="note">{_say(say, "quality_partly", gates=not_run)}</p>'
    return _section(heading, intro + _gate_table(gates, say), "quality")


def _body_sections(summary: Mapping[str, Any], say: Words = ENGLISH) -> Iterator[str]:
    """The business first (tiers to upgrades), then quality and the rows' accounting."""
    if "tiers" in summary:
        yield _tiers_section(summary, say)
    if "concentration" in summary:
        yield _concentration_section(summary["concentration"] or {}, say)
    if "migration" in summary:
        yield _migration_section(summary["migration"] or {}, say)
    if "by_branch" in summary or "by_manager" in summary:
        yield _branch_section(summary, say)
    if "upgrade" in summary:
        yield _upgrade_section(summary["upgrade"] or {}, summary.get("upgrade_rest") or {}, say)
    yield from service_sections(summary, say)  # service tiers and the watch list (流失预警)
    if "quality_gates" in summary:
        yield _quality_section(summary["quality_gates"] or {}, say)
    if "rows" in summary:
        yield _rows_section(summary, say)


def page_lang(labels: Iterable[Any], lang: str | None) -> str:
    """The language asked for (``--lang``), or the tiers' own: see ``default_lang``."""
    return check_lang(lang) or default_lang(labels)


def page(lang: str, title: str, body: Sequence[str]) -> str:
    """The HTML document around the sections: the same head and style for every page."""
    return (
        f'<!DOCTYPE html>\n<html lang="{HTML_LANG[lang]}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def render_html(summary: dict, facts: dict, lang: str | None = None) -> str:
    """One scoring run (``summary.json`` and ``manifest.json`` contents) as an HTML page.

    The page is self-contained and deterministic, so it can be mailed, archived
    next to the run's outputs and checksummed. Sections whose data is missing
    from ``summary`` are left out rather than shown empty. ``lang`` is zh or en;
    None: zh where the tier labels are Chinese (``report_text.default_lang``).
    """
    lang = page_lang((t.get("tier") for t in summary.get("tiers") or []), lang)
    say = words(lang, yuan=summary.get("points_unit") == "yuan")
    ruleset_title = (summary.get("ruleset") or {}).get("title")
    subtitle = f'<p class="note">{escape(ruleset_title)}</p>' if ruleset_title else ""
    sections = [*_body_sections(summary, say), _facts_section(summary, facts, say)]
    return page(lang, _title(summary, facts, say), [subtitle, *sections])
