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
        table = Table(title=f"{comp['id']} {comp['label']} ({comp['measure']}): {result}")
        if comp["parts"]:
            for column in comp["parts"][0]:
                table.add_column(column, justify="right")
            for part in comp["parts"]:
                table.add_row(*("" if v is None else str(v) for v in part.values()))
        out.print(table)
    out.print(f"total {data['points']} points: {data['tier']}"
              f"{' (quality)' if data['quality'] else ''}", markup=False)  # fmt: skip
    if data["next_tier"]:
        out.print(f"{data['next_tier']} needs {data['points_to_next']} more points, e.g.:",
                  markup=False)  # fmt: skip
        for lever in data["levers"]:
            out.print(f"  +{lever['yuan']} yuan of {lever['of']} in {lever['component']} "
                      f"({lever['label']})", markup=False)  # fmt: skip
