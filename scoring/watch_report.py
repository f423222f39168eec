"""report.html's service-tier sections: the service tiers (服务星级) and the watch list
(流失预警), the customers likely to lose their service tier on the next rating day and
the balance that would hold it (``scoring.watch``).

Kept apart from ``report`` (which calls ``service_sections`` once) with its own small
table of words in both of the report's languages; like the rest of the page, every
value from the data is escaped (``charts.escape``) and a table shows at most
``report.TABLE_ROWS`` rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from .charts import count, escape
from .report_text import TEXT as PAGE_TEXT

__all__ = ["service_sections"]


def table_rows() -> int:
    """The page's bound on a table's rows (``report.TABLE_ROWS``; summary.json has them
    all), read when a table is drawn: ``report`` imports this module, so it is loaded."""
    from . import report

    return report.TABLE_ROWS


def _clip(value: Any) -> Any:
    """A long text cut in the middle, as the page cuts every cell (``report.CELL_CHARS``;
    the CSVs have it whole)."""
    from . import report

    most = report.CELL_CHARS
    if not isinstance(value, str) or len(value) <= most:
        return value
    return f"{value[: most // 2]}…{value[-(most - most // 2 - 1) :]}"


TEXT: dict[str, dict[str, str]] = {
    "en": {
        "service_heading": "Service tiers",
        "service_intro": (
            "As of {as_of}{rating}. A service tier rises at once with the contribution "
            "tier and falls only on a rating day, after its buffer; next rating day: {next}."
        ),
        "rating": " (a rating day)",
        "service_counts": "{held} held above their contribution tier, {floored} at a "
        "product floor, {overridden} overridden.",
        "no_state": "No earlier service state was read (no --previous with service "
        "columns): every service tier starts at the contribution tier.",
        "floors_off": "Floors not applied (no such customers column, or no --customers): {cols}.",
        "overrides": "Overrides: {read} rows, {used} used, {rejected} rejected (see "
        "rejects.csv), {not_scored} for customers not scored.",
        "col_tier": "tier",
        "col_contribution": "customers by contribution tier",
        "col_service": "customers by service tier",
        "by_branch": "Service tiers per branch",
        "col_branch": "branch",
        "watch_heading": "Watch list (流失预警)",
        "watch_intro": (
            "{customers} customers are below their service tier or within {pct}% above its "
            "bound. hold (yuan) is the extra daily balance in {lever}, from the day after "
            "{as_of} through {day}, that keeps the tier's bound on {day} (window {window}), "
            "if today's balances carry forward and nothing else happens; rounded up to the "
            "cent. The 10 largest per branch:"
        ),
        "watch_none": "No customer is below their service tier or near its bound.",
        "watch_more": "{shown} of {total} listed customers shown; every watched customer "
        "has a hold_yuan in scores.csv.",
        "h_branch": "branch",
        "h_manager": "manager",
        "h_customer": "customer",
        "h_tier": "tier",
        "h_service": "service tier",
        "h_reason": "reason",
        "h_points": "points",
        "h_hold": "hold (yuan)",
        "h_below": "below since",
        "h_down": "downgrade on",
    },
    "zh": {
        "service_heading": "服务星级",
        "service_intro": (
            "截至 {as_of}{rating}。贡献星级上升时服务星级当期升级,下降时只在评定日、缓冲期满后"
            "降级;下一个评定日:{next}。"
        ),
        "rating": "(评定日)",
        "service_counts": "{held} 位客户保留高于贡献星级的服务星级,{floored} 位按产品保底,"
        "{overridden} 位人工调整。",
        "no_state": "未读到此前的服务星级(未给出含服务星级列的 --previous):"
        "服务星级均从贡献星级起算。",
        "floors_off": "未应用的保底条件(客户文件无此列或未给出 --customers):{cols}。",
        "overrides": "人工调整:{read} 行,采用 {used} 行,拒绝 {rejected} 行(见 rejects.csv),"
        "{not_scored} 行的客户本期未评分。",
        "col_tier": "星级",
        "col_contribution": "按贡献星级的客户数",
        "col_service": "按服务星级的客户数",
        "by_branch": "各支行服务星级",
        "col_branch": "支行",
        "watch_heading": "流失预警",
        "watch_intro": (
            "{customers} 位客户的贡献星级低于服务星级,或在其下限之上 {pct}% 以内。"
            "保级金额(元)是从 {as_of} 次日至 {day} 每日需在 {lever} 中增加的余额,"
            "使 {day} 的评定(窗口 {window})保持在该星级下限之上;假定现有余额延续、"
            "不再有其他交易;向上取整到分。每个支行金额最大的 10 位:"
        ),
        "watch_none": "没有客户低于服务星级或接近其下限。",
        "watch_more": "显示 {shown} / {total} 位;所有预警客户的保级金额见 scores.csv(hold_yuan)。",
        "h_branch": "支行",
        "h_manager": "客户经理",
        "h_customer": "客户",
        "h_tier": "贡献星级",
        "h_service": "服务星级",
        "h_reason": "原因",
        "h_points": "星点值",
        "h_hold": "保级金额(元)",
        "h_below": "低于起始日",
        "h_down": "预计降级日",
    },
}
_PROBE = "tiers_heading"  # a key of report_text's tables whose words tell the language


def _lang(say: Mapping[str, str] | None) -> str:
    """The page's language, read off the words the report passes (``report_text``);
    English for a language this module has no words for."""
    for lang, table in PAGE_TEXT.items():
        if say and lang in TEXT and say.get(_PROBE) == table.get(_PROBE):
            return lang
    return "en"


def service_sections(
    summary: Mapping[str, Any], say: Mapping[str, str] | None = None
) -> Iterator[str]:
    """The service tiers and the watch list, when the run has them (``[service]``)."""
    words = TEXT[_lang(say)]
    service = summary.get("service")
    if isinstance(service, Mapping):
        yield _service_section(summary, service, words)
    watch = summary.get("watch")
    if isinstance(watch, Mapping):
        yield _watch_section(watch, summary.get("watch_rest") or {}, words)


def _section(title: str, body: str, anchor: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>\n{body}\n</section>'


def _say(words: Mapping[str, str], key: str, **values: Any) -> str:
    """A sentence with escaped values (the template is the page's own, escaped too)."""
    shown = {k: "" if v == "" else escape(v) for k, v in values.items()}  # "": nothing to say
    return escape(words[key]).format(**shown)


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{escape(_clip(v))}</td>' if num else f"<td>{escape(_clip(v))}</td>"
            for v, num in zip(row, numeric, strict=False)
        ) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _service_section(
    summary: Mapping[str, Any], service: Mapping[str, Any], words: Mapping[str, str]
) -> str:
    rating = words["rating"] if service.get("rating_day") is True else ""
    intro = _say(words, "service_intro", as_of=service.get("as_of"), rating=rating,
                 next=service.get("next_rating_day"))  # fmt: skip
    parts = [f"<p>{intro}</p>"]
    parts.append("<p>" + _say(words, "service_counts", held=count(service.get("held")),
                              floored=count(service.get("floored")),
                              overridden=count(service.get("overridden"))) + "</p>")  # fmt: skip
    if service.get("previous_state") is not True:
        parts.append(f'<p class="note">{_say(words, "no_state")}</p>')
    off = service.get("floors_not_evaluated") or []
    if off:
        cols = ", ".join(str(c) for c in off)
        parts.append(f'<p class="note">{_say(words, "floors_off", cols=cols)}</p>')
    overrides = service.get("overrides")
    if isinstance(overrides, Mapping):
        shown = {k: count(overrides.get(k)) for k in ("read", "used", "rejected", "not_scored")}
        parts.append(f'<p class="note">{_say(words, "overrides", **shown)}</p>')
    by_tier = {str(t.get("tier")): count(t.get("customers")) for t in summary.get("tiers") or []}
    rows = [
        [t.get("tier"), by_tier.get(str(t.get("tier")), 0), count(t.get("customers"))]
        for t in service.get("tiers") or []
        if isinstance(t, Mapping)
    ]
    headers = [words["col_tier"], words["col_contribution"], words["col_service"]]
    parts.append(_table(headers, rows, [False, True, True]))
    parts.append(_branches(summary, words))
    return _section(words["service_heading"], "\n".join(parts), "service")


def _branches(summary: Mapping[str, Any], words: Mapping[str, str]) -> str:
    """Customers per service tier in each branch summary.json lists (``by_branch``'s
    ``service_tiers``), the ``table_rows()`` largest, in its order."""
    groups = [g for g in summary.get("by_branch") or [] if isinstance(g, Mapping)]
    groups = [g for g in groups if isinstance(g.get("service_tiers"), Mapping)]
    if not groups:
        return ""
    labels = list(groups[0]["service_tiers"])
    order = sorted(range(len(groups)), key=lambda i: -count(groups[i].get("customers")))
    kept = sorted(order[: table_rows()])
    rows = [[groups[i].get("branch"), *(count(groups[i]["service_tiers"].get(t)) for t in labels)]
            for i in kept]  # fmt: skip
    table = _table([words["col_branch"], *labels], rows, [False] + [True] * len(labels))
    return f"<h3>{escape(words['by_branch'])}</h3>{table}"


def _watch_section(
    watch: Mapping[str, Any],
    rest: Mapping[str, Any],
    words: Mapping[str, str],
) -> str:
    top = [e for e in watch.get("top") or [] if isinstance(e, Mapping)]
    if not top:
        return _section(words["watch_heading"], f"<p>{_say(words, 'watch_none')}</p>", "watch")
    window = watch.get("window") or {}
    span = f"{window.get('start', '')}..{window.get('end', '')}"
    pct = watch.get("pct", "")
    intro = _say(words, "watch_intro", customers=count(watch.get("customers")), pct=pct,
                 lever=watch.get("lever"), as_of=watch.get("as_of"),
                 day=watch.get("next_rating_day"), window=span)  # fmt: skip
    shown = _largest(top)
    keys = ("branch", "manager", "customer_id", "tier", "service_tier", "service_reason",
            "points", "hold_yuan", "below_since", "downgrade_on")  # fmt: skip
    heads = ("h_branch", "h_manager", "h_customer", "h_tier", "h_service", "h_reason",
             "h_points", "h_hold", "h_below", "h_down")  # fmt: skip
    headers = [words[h] for h in heads]
    rows = [[e.get(k) for k in keys] for e in shown]
    numeric = [False] * 6 + [True, True, False, False]
    body = f"<p>{intro}</p>" + _table(headers, rows, numeric)
    listed = len(top) + count(rest.get("customers"))
    if listed > len(shown):
        more = _say(words, "watch_more", shown=f"{len(shown):,}", total=f"{listed:,}")
        body += f'<p class="note">{more}</p>'
    return _section(words["watch_heading"], body, "watch")


def _largest(top: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The ``table_rows()`` largest holds (ties in list order), in list order; a hold that
    is not a number counts as the smallest."""
    if len(top) <= table_rows():
        return top
    holds = {i: _amount(e.get("hold_yuan")) for i, e in enumerate(top)}
    kept = sorted(sorted(holds, key=lambda i: -holds[i])[: table_rows()])
    return [top[i] for i in kept]


def _amount(value: Any) -> Decimal:
    try:
        found = Decimal(str(value))
    except InvalidOperation:
        return Decimal("-Infinity")
    return found if found.is_finite() else Decimal("-Infinity")
