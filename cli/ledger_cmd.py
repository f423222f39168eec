"""``tierscore accumulate`` and ``tierscore ledger``: the 积数 ledger of month entries.

``accumulate`` measures one month into the ledger; ``score --ledger`` scores a window
from it (``main.score``); ``ledger status`` lists what it holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tierscore.scoring.accumulate import Accumulation
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.ledger import Entry, Ledger, month_of
from tierscore.scoring.ledger_totals import current
from tierscore.scoring.pipeline import Job
from tierscore.scoring.sources import parse_mapping
from tierscore.scoring.window import Window

from .display import Col, answering, fitted, print_json, terminal
from .errors import err
from .options import (
    Balances,
    Columns,
    DateFormat,
    Delimiter,
    Encoding,
    Engine,
    Quiet,
    Rules,
    SparkConf,
    Transactions,
    Verbose,
    accumulate_on,
    parse_day,
    stdin_once,
)

LedgerDir = Annotated[
    Path,
    typer.Option("--ledger", metavar="DIR", help="The ledger folder (created if new)."),
]
Month = Annotated[
    str, typer.Option("--month", metavar="MONTH", help="The calendar month to measure, YYYY-MM.")
]
Through = Annotated[
    str | None,
    typer.Option("--to", metavar="DATE",
                 help="Measure the month to this day (YYYY-MM-DD) only: a month to date."),
]  # fmt: skip

ledger_app = typer.Typer(help="Look at a 积数 ledger.", no_args_is_help=True)


def accumulate_month(
    balances: Balances,
    transactions: Transactions,
    month: Month,
    ledger: LedgerDir,
    to: Through = None,
    rules: Rules = "icbc-star",
    columns: Columns = None,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    date_format: DateFormat = None,
    engine: Engine = "polars",
    spark_conf: SparkConf = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Measure one month into the ledger (replacing it there), for score --ledger."""
    stdin_once({"balances": balances, "transactions": transactions})
    first = month_of(month)
    job = Accumulation(
        tuple(balances), tuple(transactions), first, ledger, rules,
        parse_day(to, "--to") if to else None, encoding,
        parse_mapping(columns) if columns else None, delimiter, date_format,
    )  # fmt: skip
    done = accumulate_on(engine, spark_conf or [], job)
    for later in done.stale:
        err.print(f"warning: {later} is stale now: accumulate it again", markup=False)
    if quiet:
        return
    entry = done.entry
    through = f" to {entry.last_day}" if entry.partial else ""
    err.print(f"accumulated {entry.label}{through} into {ledger}", markup=False)
    for name, counts in done.counts.items():
        said = ", ".join(f"{n:,} {status}" for status, n in counts.items() if status != "read")
        err.print(f"  {name}: {counts['read']:,} rows read ({said})", markup=False)
    if done.rejects:
        err.print(f"  {done.rejects:,} rejects lines kept in the ledger", markup=False)


@ledger_app.command(name="status")
def status(
    ledger: Annotated[Path, typer.Argument(metavar="DIR", help="The ledger folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List the ledger's months: complete, partial (to a day) or stale, with row counts."""
    found = Ledger(ledger)
    found.check()
    entries = found.entries()
    stale = found.stale(entries)
    months = [_month_data(e, stale.get(m), current(entries, m)) for m, e in entries.items()]
    with answering():
        if as_json:
            print_json({"ledger": str(ledger), "months": months})
            return
        console = terminal()
        cols = [Col("month"), Col("state", whole=False), Col("balances", right=True),
                Col("transactions", right=True), Col("rejects", right=True), Col("rule set"),
                Col("sha256")]  # fmt: skip
        rows = [[m["month"], m["state"], f"{m['rows']['balances']['read']:,}",
                 f"{m['rows']['transactions']['read']:,}", f"{m['rejects']:,}",
                 m["ruleset"], m["ruleset_sha256"]] for m in months]  # fmt: skip
        console.print(fitted(console.width, f"ledger {ledger}", cols, rows))


def _month_data(entry: Entry, stale: str | None, totals: bool) -> dict[str, Any]:
    """``totals``: the month's running totals add up the ledger's months as they are
    (a window ending there is read from two totals; else month by month)."""
    manifest = entry.manifest
    state = f"partial to {entry.last_day}" if entry.partial else "complete"
    if stale:
        state = f"stale: {stale}"
    rejects = sum(c["rejected"] for c in manifest["rows"].values())
    return {
        "month": entry.label,
        "state": state,
        "complete": not entry.partial,
        "stale": stale is not None,
        "last_day": manifest["last_day"],
        "rows": manifest["rows"],
        "rejects": rejects,
        "ruleset": manifest["ruleset"],
        "ruleset_sha256": manifest["ruleset_sha256"],
        "totals_current": totals,
    }


def no_inputs_with_ledger(**given: object) -> None:
    """``score --ledger`` reads the ledger alone: inputs and options that read them
    would be ignored, so they stop the run."""
    for option, value in given.items():
        if value:
            raise ConfigError("is not read with --ledger (the ledger is the input)", key=option)


def ledger_job(
    window: Window,
    rules: str,
    encoding: str | None,
    columns: str | None,
    customers: list[str] | None,
    delimiter: str | None,
) -> Job:
    """``score``'s job when the ledger is the input: no exports, the rest as usual."""
    stdin_once({"customers": customers})
    mapping = parse_mapping(columns) if columns else None
    attributes = tuple(customers) if customers else None
    return Job((), (), window, rules, encoding, mapping, attributes, delimiter=delimiter)
