"""``tierscore rules``: look at and check rule sets without scoring anything."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from tierscore.scoring.plan import compile_plan, longest_window
from tierscore.scoring.rules import RuleSet, load_rules, shipped_rule_files

from .errors import err


def _row(table: Table, *cells: str) -> None:
    """A table row of text from the rule file, shown as written: a rich table reads
    its cells as markup, and a label like ``[/b]`` would stop the command."""
    table.add_row(*(escape(cell) for cell in cells))


rules_app = typer.Typer(help="List, show and check rule sets.", no_args_is_help=True)


def _describe(rules: RuleSet) -> None:
    err.print(f"{rules.name} {rules.version}: {rules.title}", markup=False)
    comps = Table(title=f"components (rate per {rules.unit} yuan)")
    for col in ("id", "label", "source", "measure", "rate", "codes", "cap", "requires_fee"):
        comps.add_column(col)
    for c in rules.components:
        caps = ", ".join(f"{k}={v}" for k, v in c.caps.items())
        cap = " ".join(x for x in (str(c.cap) if c.cap is not None else "", caps) if x)
        _row(
            comps,
            c.id,
            c.label,
            c.source,
            c.measure if c.sign == "positive" else f"{c.measure} (sign {c.sign})",
            str(c.rate),
            ", ".join(c.codes),
            cap,
            "yes" if c.requires_fee else "",
        )
    err.print(comps)
    if rules.excluded:
        err.print("excluded codes: " + ", ".join(sorted(rules.excluded)), markup=False)
    _describe_weighting(rules)
    tiers = Table(title=f"tiers (highest first, by {rules.tier_by})")
    for col in ("tier", "reached at", "quality", "follow_up", "service"):
        tiers.add_column(col)
    quality = rules.quality_index
    last = len(rules.tiers) - 1
    for i, t in enumerate(rules.tiers):
        if rules.tier_by == "rank":
            bound = "the rest" if i == last else f"top {t.bound:.2%}"
        else:
            bound = f"> {t.bound}" if t.exclusive else f">= {t.bound}"
        _row(tiers, t.label, bound, "yes" if quality is not None and i <= quality else "",
             t.follow_up or "", t.service or "")  # fmt: skip
    err.print(tiers)
    if rules.key_group:
        group = " + ".join(rules.key_group)
        err.print(f"key group {rules.key_group_label}: {group} (key_customer)", markup=False)
    if rules.gates:
        gates = Table(title="quality gates (a column's: with --customers)")
        for col in ("gate", "label", "column or measure", "blocks when"):
            gates.add_column(col)
        for g in rules.gates:
            if g.column is None:  # a bar on measured components, in yuan
                _row(gates, g.id, g.label, "+".join(g.measure), f"< {g.bar:,} yuan")
                continue
            when = "true" if g.at_least is None else f">= {g.at_least}"
            _row(gates, g.id, g.label, g.column, when)
        err.print(gates)


def _describe_weighting(rules: RuleSet) -> None:
    if not rules.indicators:
        return
    table = Table(title="indicators (score = sum of weight x band score)")
    for col in ("indicator", "components", "weight", "bands (min: score)"):
        table.add_column(col)
    for ind in rules.indicators:
        bands = ", ".join(f"{low}: {score}" for low, score in ind.bands)
        parts = [*ind.components, *(f"customers column {c}" for c in ind.columns)]
        _row(table, ind.id, " + ".join(parts), str(ind.weight), bands)
    err.print(table)
    if rules.bonus is not None:
        b = rules.bonus
        read = b.component if b.column is None else f"customers column {b.column}"
        err.print(f"bonus: x {b.multiplier} when {read} > {b.above}", markup=False)


@rules_app.command("check")
def check(
    file: Annotated[str, typer.Argument(help="A rule set TOML file or shipped name.")],
) -> None:
    """Validate a rule file and print what it declares (exit 2 if it is malformed).

    The check is the one ``score`` makes: the file is loaded, then compiled into the
    integer plan, whose checks do not depend on the window (see ``plan``)."""
    rules = load_rules(file)
    compile_plan(rules, longest_window())
    _describe(rules)
    err.print(f"ok: {rules.source}", markup=False)


@rules_app.command("show")
def show(name: Annotated[str, typer.Argument(help="A shipped rule set name or a file.")]) -> None:
    """Print a rule set's components, codes, rates and tiers."""
    _describe(load_rules(name))


@rules_app.command("list")
def list_() -> None:
    """List the shipped rule sets."""
    table = Table(title="shipped rule sets")
    for col in ("name", "title", "version", "tiers"):
        table.add_column(col)
    for name, path in sorted(shipped_rule_files().items()):
        rules = load_rules(str(path))
        _row(table, name, rules.title, rules.version, " > ".join(t.label for t in rules.tiers))
    err.print(table)
