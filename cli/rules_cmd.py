"""``tierscore rules``: look at and check rule sets without scoring anything.

Each command's answer goes to stdout, as tables or, with ``--json``, as one JSON document
(numbers as strings, exact as the file wrote them); only errors go to stderr.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.plan import compile_plan, longest_window
from tierscore.scoring.rules import (
    Component,
    Gate,
    Indicator,
    RuleSet,
    Tier,
    load_rules,
    shipped_rule_files,
)

from .display import Col, answering, fitted, inert, print_json, terminal

rules_app = typer.Typer(help="List, show and check rule sets.", no_args_is_help=True)


def _num(number: Decimal | None) -> str | None:
    """A rule's number as written, never in exponent form (TOML's ``1e4`` is 10000)."""
    return None if number is None else format(number, "f")


def _line(console: Console, text: str) -> None:
    """A line of rule-file text, shown as written: never read as markup or emoji, no
    control reaching the terminal; wrapped at spaces only."""
    console.print(Text(inert(text)))


# --- the tables -----------------------------------------------------------------------


def _describe(rules: RuleSet, console: Console) -> None:
    """The rule set as tables that keep every id, code and number whole (``fitted``)."""
    _line(console, f"{rules.name} {rules.version}: {rules.title}")
    cols = [Col("id"), Col("label", whole=False), Col("source"), Col("measure"),
            Col("rate", right=True), Col("codes"), Col("cap"), Col("requires_fee")]  # fmt: skip
    rows = [_component_row(c) for c in rules.components]
    title = f"components (rate per {_num(rules.unit)} yuan)"
    console.print(fitted(console.width, title, cols, rows))
    if rules.excluded:
        _line(console, "excluded codes: " + ", ".join(sorted(rules.excluded)))
    _describe_weighting(rules, console)
    _describe_tiers(rules, console)
    if rules.gates:
        cols = [Col("gate"), Col("label", whole=False), Col("column or measure"),
                Col("blocks when")]  # fmt: skip
        rows = [_gate_row(g) for g in rules.gates]
        title = "quality gates (a column's: with --customers)"
        console.print(fitted(console.width, title, cols, rows))
    _describe_service(rules, console)


def _component_row(c: Component) -> list[str]:
    caps = ", ".join(f"{code}={_num(cap)}" for code, cap in c.caps.items())
    cap = " ".join(x for x in (_num(c.cap) or "", caps) if x)
    measure = c.measure if c.sign == "positive" else f"{c.measure} (sign {c.sign})"
    return [c.id, c.label, c.source, measure, _num(c.rate) or "", ", ".join(c.codes), cap,
            "yes" if c.requires_fee else ""]  # fmt: skip


def _describe_tiers(rules: RuleSet, console: Console) -> None:
    cols = [Col("tier", whole=False), Col("reached at"), Col("quality"),
            Col("follow_up", whole=False), Col("service", whole=False)]  # fmt: skip
    quality = rules.quality_index
    last = len(rules.tiers) - 1
    rows = [[t.label, _reached(rules, t, i == last),
             "yes" if quality is not None and i <= quality else "", t.follow_up, t.service]
            for i, t in enumerate(rules.tiers)]  # fmt: skip
    title = f"tiers (highest first, by {rules.tier_by})"
    console.print(fitted(console.width, title, cols, rows))
    if rules.key_group:
        group = " + ".join(rules.key_group)
        _line(console, f"key group {rules.key_group_label}: {group} (key_customer)")
    if rules.negative_balances == "zero":
        _line(console, "negative balances: a day below zero counts as 0 (negative_balances)")


def _reached(rules: RuleSet, tier: Tier, last: bool) -> str:
    if rules.tier_by == "rank":
        return "the rest" if last else f"top {tier.bound:.2%}"
    return f"{'>' if tier.exclusive else '>='} {_num(tier.bound)}"


def _gate_row(g: Gate) -> list[str]:
    if g.column is None:  # a bar on measured components, in yuan
        return [g.id, g.label, "+".join(g.measure), f"< {g.bar:,} yuan"]
    return [g.id, g.label, g.column, "true" if g.at_least is None else f">= {g.at_least}"]


def _describe_service(rules: RuleSet, console: Console) -> None:
    """``[service]``: when the service tier may be lowered, and the floors under it."""
    service = getattr(rules, "service", None)
    if service is None:
        return
    days = ", ".join(f"{m:02d}-{d:02d}" for m, d in service.rating_days)
    buffers = ", ".join(f"{tier}={n}" for tier, n in service.buffer_months.items()) or "none"
    _line(console, f"service tier: lowered on {days} only; months below first: {buffers}")
    if service.floors:
        cols = [Col("column"), Col("when"), Col("service tier at least", whole=False)]
        rows = [[f.column, _floor_when(f), f.tier] for f in service.floors]
        console.print(fitted(console.width, "service floors (with --customers)", cols, rows))


def _floor_when(floor: Any) -> str:
    if floor.is_true:
        return "true"
    return f">= {floor.at_least}" if floor.at_least is not None else f"= {floor.equals}"


def _describe_weighting(rules: RuleSet, console: Console) -> None:
    if not rules.indicators:
        return
    cols = [Col("indicator"), Col("components"), Col("weight", right=True),
            Col("bands (min:score)")]  # fmt: skip
    rows = []
    for ind in rules.indicators:
        bands = ", ".join(f"{_num(low)}:{_num(score)}" for low, score in ind.bands)
        parts = [*ind.components, *(f"customers column {c}" for c in ind.columns)]
        rows.append([ind.id, " + ".join(parts), _num(ind.weight), bands])
    title = "indicators (score = sum of weight x band score)"
    console.print(fitted(console.width, title, cols, rows))
    if rules.bonus is not None:
        b = rules.bonus
        read = b.component if b.column is None else f"customers column {b.column}"
        _line(console, f"bonus: x {_num(b.multiplier)} when {read} > {_num(b.above)}")


# --- the same as data (--json) ----------------------------------------------------------


def rules_data(rules: RuleSet) -> dict[str, Any]:
    """``rules show --json``: everything the file declares, keys always present (null or
    empty when not declared), numbers as strings."""
    quality, tiers = rules.quality_index, rules.tiers
    group = {"label": rules.key_group_label, "tiers": list(rules.key_group)}
    return {
        "name": rules.name,
        "version": rules.version,
        "title": rules.title,
        "file": rules.source,
        "sha256": rules.sha256,
        "unit": _num(rules.unit),
        "tier_by": rules.tier_by,
        "negative_balances": rules.negative_balances,
        "quality_tier": rules.quality_tier,
        "summary_assets": list(rules.assets),
        "components": [_component_data(c) for c in rules.components],
        "excluded": sorted(rules.excluded),
        "indicators": [_indicator_data(i) for i in rules.indicators],
        "bonus": _bonus_data(rules),
        "tiers": [_tier_data(t, quality is not None and i <= quality) for i, t in enumerate(tiers)],
        "key_group": group if rules.key_group else None,
        "gates": [_gate_data(g) for g in rules.gates],
        "service": _service_data(getattr(rules, "service", None)),
    }


def _service_data(service: Any) -> dict[str, Any] | None:
    """``[service]``, or null: rating days as "MM-DD", floors as the gates have them."""
    if service is None:
        return None
    floors = [{"column": f.column, "kind": f.kind, "at_least": f.at_least, "equals": f.equals,
               "tier": f.tier} for f in service.floors]  # fmt: skip
    return {"rating_days": [f"{m:02d}-{d:02d}" for m, d in service.rating_days],
            "buffer_months": dict(service.buffer_months), "floors": floors}  # fmt: skip


def _indicator_data(i: Indicator) -> dict[str, Any]:
    bands = [{"min": _num(low), "score": _num(score)} for low, score in i.bands]
    return {"id": i.id, "label": i.label, "components": list(i.components),
            "columns": list(i.columns), "weight": _num(i.weight), "bands": bands}  # fmt: skip


def _tier_data(t: Tier, quality: bool) -> dict[str, Any]:
    """``bound``: points (``tier_by`` points; ``exclusive``: above, not from) or the
    cumulative share of customers (``tier_by`` rank)."""
    return {"label": t.label, "bound": _num(t.bound), "exclusive": t.exclusive,
            "quality": quality, "follow_up": t.follow_up, "service": t.service}  # fmt: skip


def _component_data(c: Component) -> dict[str, Any]:
    """``caps``: what one transaction of each code counts at most (null: no cap), as
    ``explain`` has it; null for a balances component, which has none."""
    caps = {code: _num(c.cap_for(code)) for code in c.codes}
    return {"id": c.id, "label": c.label, "source": c.source, "measure": c.measure,
            "sign": c.sign, "rate": _num(c.rate), "codes": list(c.codes), "cap": _num(c.cap),
            "caps": caps if c.source == "transactions" else None,
            "requires_fee": c.requires_fee}  # fmt: skip


def _gate_data(g: Gate) -> dict[str, Any]:
    """``kind``: ``flag`` (a customers column, blocks when true), ``count`` (blocks from
    ``at_least``) or ``measure`` (blocks while the components' sum is below ``bar``)."""
    kind = "measure" if g.column is None else "flag" if g.at_least is None else "count"
    return {"id": g.id, "label": g.label, "kind": kind, "column": g.column,
            "at_least": g.at_least, "measure": list(g.measure), "bar": _num(g.bar)}  # fmt: skip


def _bonus_data(rules: RuleSet) -> dict[str, Any] | None:
    b = rules.bonus
    if b is None:
        return None
    return {"multiplier": _num(b.multiplier), "component": b.component, "column": b.column,
            "above": _num(b.above)}  # fmt: skip


def _verdict(file: str, rules: RuleSet | None, error: ConfigError | None) -> dict[str, Any]:
    """``rules check --json``: the same keys whether the file passed or not."""
    return {
        "ok": error is None,
        "file": rules.source if rules else (error.file if error and error.file else file),
        "name": rules.name if rules else None,
        "version": rules.version if rules else None,
        "sha256": rules.sha256 if rules else None,
        "error": None if error is None else
        {"message": str(error), "file": error.file, "key": error.key},
    }  # fmt: skip


# --- the commands -------------------------------------------------------------------------

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


@rules_app.command("check")
def check(
    file: Annotated[
        str, typer.Argument(metavar="FILE|NAME", help="A rule set TOML file or shipped name.")
    ],
    as_json: Json = False,
) -> None:
    """Validate a rule file and print what it declares (exit 2 if it is malformed).

    The check is the one ``score`` makes: the file is loaded, then compiled into the
    integer plan, whose checks do not depend on the window (see ``plan``)."""
    try:
        rules = load_rules(file)
        compile_plan(rules, longest_window())
    except ConfigError as exc:  # the answer is "not ok"; the message still goes to stderr
        if as_json:
            with answering():
                print_json(_verdict(file, None, exc))
        raise
    with answering():
        if as_json:
            print_json(_verdict(file, rules, None))
            return
        console = terminal()
        _describe(rules, console)
        # a path is never folded: a script reads it back whole from the last line
        console.print(Text(inert(f"ok: {rules.source}")), soft_wrap=True)


@rules_app.command("show")
def show(
    name: Annotated[
        str, typer.Argument(metavar="NAME|FILE", help="A shipped rule set name or a file.")
    ],
    as_json: Json = False,
) -> None:
    """Print a rule set's components, codes, rates and tiers."""
    rules = load_rules(name)
    with answering():
        if as_json:
            print_json(rules_data(rules))
        else:
            _describe(rules, terminal())


@rules_app.command("list")
def list_(as_json: Json = False) -> None:
    """List the shipped rule sets."""
    shipped = [(name, load_rules(str(path))) for name, path in sorted(shipped_rule_files().items())]
    with answering():
        if as_json:
            print_json({"rule_sets": [
                {"name": name, "title": r.title, "version": r.version, "file": r.source,
                 "sha256": r.sha256, "tiers": [t.label for t in r.tiers]}
                for name, r in shipped
            ]})  # fmt: skip
            return
        console = terminal()
        cols = [Col("name"), Col("title", whole=False), Col("version"), Col("tiers")]
        rows = [[name, r.title, r.version, " > ".join(t.label for t in r.tiers)]
                for name, r in shipped]  # fmt: skip
        console.print(fitted(console.width, "shipped rule sets", cols, rows))
