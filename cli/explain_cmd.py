"""``tierscore explain``: one customer's score, component by component, and what the
next tier takes."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tierscore.scoring.explain import explain as explain_customer
from tierscore.scoring.pipeline import Job
from tierscore.scoring.sources import parse_mapping

from .options import (
    Balances,
    Columns,
    Encoding,
    From,
    Months,
    Period,
    Rules,
    To,
    Transactions,
    window_of,
)

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def explain(
    customer_id: Annotated[str, typer.Argument(help="The customer to explain.")],
    balances: Balances,
    transactions: Transactions,
    period: Period = None,
    months: Months = None,
    from_: From = None,
    to: To = None,
    rules: Rules = "icbc-star",
    encoding: Encoding = None,
    columns: Columns = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Explain one customer's points: accounts, transaction types, caps, fees, levers."""
    mapping = parse_mapping(columns) if columns else None
    job = Job(balances, transactions, window_of(period, months, from_, to), rules, encoding,
              mapping)  # fmt: skip
    data = explain_customer(job, customer_id)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _show(data)


def _show(data: dict[str, Any]) -> None:
    window = data["window"]
    span = f"{window['start']}..{window['end']}, {window['days']} days"
    out.print(f"{data['customer_id']}: {data['ruleset']} {window['label']} ({span})", markup=False)
    for comp in data["components"]:
        if not comp["parts"] and comp["amount"] in ("0.00", None):
            continue
        result = f"{comp['amount']} yuan x rate {comp['rate']} = {comp['points']}"
        table = Table(title=f"{comp['id']} {comp['label']} ({comp['measure']}): {result}",
                      caption=_counting(comp))  # fmt: skip
        if comp["parts"]:
            columns = [c for c in comp["parts"][0] if _shown(c, comp["parts"])]
            for column in columns:
                table.add_column(column, justify="right")
            for part in comp["parts"]:
                table.add_row(*("" if part[c] is None else str(part[c]) for c in columns))
        out.print(table)
    out.print(f"total {data['points']} points: {data['tier']}"
              f"{' (quality)' if data['quality'] else ''}", markup=False)  # fmt: skip
    if data["next_tier"]:
        out.print(f"{data['next_tier']} needs {data['points_to_next']} more points, e.g.:",
                  markup=False)  # fmt: skip
        for lever in data["levers"]:
            out.print(f"  +{lever['yuan']} yuan of {lever['of']} in {lever['component']} "
                      f"({lever['label']}){_transactions(lever)}", markup=False)  # fmt: skip


def _shown(column: str, parts: list[dict[str, Any]]) -> bool:
    """A cap column only where some type has a cap (the caption names the uncapped)."""
    return column != "cap" or any(part[column] is not None for part in parts)


def _counting(comp: dict[str, Any]) -> str | None:
    """What one transaction of the component counts at most, per code (codes that share
    a cap together), and whether only one with a fee counts; None when neither applies."""
    caps = comp.get("caps") or {}
    if not any(caps.values()) and not comp.get("requires_fee"):
        return None
    by_cap: dict[str | None, list[str]] = {}
    for code, cap in caps.items():
        by_cap.setdefault(cap, []).append(code)
    said = [f"{', '.join(codes)} {f'at {cap}' if cap else 'uncapped'}"
            for cap, codes in by_cap.items()]  # fmt: skip
    fee = ["only with a fee"] if comp.get("requires_fee") else []
    return "cap per transaction: " + "; ".join(said + fee)


def _transactions(lever: dict[str, Any]) -> str:
    """A capped lever as the transactions it takes, as no one transfer counts past its
    cap; and the codes that do it when not every code of the component does."""
    codes = " or ".join(lever.get("codes") or [])
    if lever.get("transactions") is None:
        return f", in {codes} (no cap)" if codes else ""
    n = lever["transactions"]
    which = f"{codes} " if codes else ""
    return f": {n:,} {which}transaction{'' if n == 1 else 's'} of {lever['each']} each"
