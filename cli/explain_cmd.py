"""``tierscore explain``: one customer's score, component by component, and what the
next tier takes."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from tierscore.scoring.explain import explain as explain_customer
from tierscore.scoring.pipeline import Job
from tierscore.scoring.sources import parse_mapping

from .display import Col, answering, fitted, inert, plain, print_json, terminal
from .options import (
    BalanceLayout,
    Balances,
    Columns,
    DateFormat,
    Delimiter,
    Encoding,
    From,
    Fx,
    Months,
    Period,
    QuietAnswer,
    Rules,
    To,
    Transactions,
    Verbose,
    stdin_once,
    window_of,
)


def explain(
    customer_id: Annotated[
        str, typer.Argument(metavar="CUSTOMER_ID", help="The customer to explain.")
    ],
    balances: Balances,
    transactions: Transactions,
    period: Period = None,
    months: Months = None,
    from_: From = None,
    to: To = None,
    rules: Rules = "icbc-star",
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    date_format: DateFormat = None,
    balance_layout: BalanceLayout = None,
    columns: Columns = None,
    fx: Fx = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    quiet: QuietAnswer = False,  # the answer is all explain prints: -q keeps it
    verbose: Verbose = False,  # read by main() before parsing: tracebacks
) -> None:
    """Explain one customer's points: accounts, transaction types, caps, fees, levers."""
    mapping = parse_mapping(columns) if columns else None
    stdin_once({"balances": balances, "transactions": transactions})
    job = Job(balances, transactions, window_of(period, months, from_, to), rules, encoding,
              mapping)  # fmt: skip
    job.delimiter, job.date_format = delimiter, date_format
    job.balance_layout, job.fx = balance_layout, fx
    data = explain_customer(job, customer_id)
    with answering():
        if as_json:
            print_json(data)
        else:
            _show(data, terminal())


def _show(data: dict[str, Any], out: Console) -> None:
    """The customer on stdout, each part a table that keeps every id and number whole
    at any width (``fitted``); lines wrap at spaces. Data values are shown ``plain``."""
    window = data["window"]
    span = f"{window['start']}..{window['end']}, {window['days']} days"
    _line(out, f"{plain(data['customer_id'])}: {data['ruleset']} {window['label']} ({span})")
    for comp in data["components"]:
        if not comp["parts"] and comp["amount"] in ("0.00", None):
            continue
        result = f"{comp['amount']} yuan x rate {comp['rate']} = {comp['points']}"
        title = f"{comp['id']} {comp['label']} ({comp['measure']}): {result}"
        columns = [c for c in (comp["parts"] or [{}])[0] if _shown(c, comp["parts"])]
        rows = [[plain("" if part[c] is None else part[c]) for c in columns]
                for part in comp["parts"]]  # fmt: skip
        cols = [Col(column, right=True) for column in columns]
        out.print(fitted(out.width, title, cols, rows, caption=_counting(comp)))
    for code, rates in (data.get("fx") or {}).get("rates", {}).items():
        said = ", ".join(f"{r['rate']} from {r['from']}" for r in rates) or "none in the window"
        _line(out, f"{code}: yuan per unit {said} ({data['fx']['convert']})")
    _line(out, f"total {data['points']} points: {data['tier']}"
               f"{' (quality)' if data['quality'] else ''}")  # fmt: skip
    if data["next_tier"]:
        _line(out, f"{data['next_tier']} needs {data['points_to_next']} more points, e.g.:")
        for lever in data["levers"]:
            _line(out, f"  +{lever['yuan']} yuan of {lever['of']} in {lever['component']} "
                       f"({lever['label']}){_transactions(lever)}")  # fmt: skip


def _line(out: Console, text: str) -> None:
    """A line of the answer, wrapped at spaces: a label from the rule file is never read
    as markup or emoji, nor drives the terminal."""
    out.print(Text(inert(text)))


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
