"""``tierscore compare``: score the same inputs with two rule sets and publish who moves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tierscore.scoring.compare import Comparison, check_two, compare, publish_comparison
from tierscore.scoring.errors import ConfigError, RejectLimitError
from tierscore.scoring.outdir import claim
from tierscore.scoring.pipeline import Job, Observer, Result
from tierscore.scoring.quality import over_reject_limit
from tierscore.scoring.report_text import check_lang
from tierscore.scoring.sources import is_uri

from .display import cell, plain
from .errors import err
from .options import (
    INPUTS,
    OUTPUTS,
    RULES,
    BalanceLayout,
    BalancesTable,
    Columns,
    DateFormat,
    Delimiter,
    Encoding,
    Engine,
    From,
    Fx,
    Lang,
    MaxRejectRate,
    Months,
    OptionalBalances,
    OptionalTransactions,
    Period,
    Quiet,
    Report,
    SparkConf,
    To,
    TransactionsTable,
    Verbose,
    check_rate,
    job_of,
    run_on,
    window_of,
)
from .progress import observer


class _Named:
    """Stage names prefixed with the rule set being run, as each runs the same stages."""

    def __init__(self, inner: Observer | None, name: str) -> None:
        self.inner, self.name = inner, name

    def started(self, stage: str, detail: str) -> None:
        if self.inner is not None:
            self.inner.started(f"{self.name} {stage}", detail)

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        if self.inner is not None:
            self.inner.finished(f"{self.name} {stage}", seconds, detail)

    def warning(self, text: str) -> None:
        """Said once: both runs read the same inputs (A's run tells it)."""
        tell = getattr(self.inner, "warning", None)
        if tell is not None and self.name == "A":
            tell(text)


_Customers = Annotated[
    list[str] | None,
    typer.Option(metavar="PATH", rich_help_panel=INPUTS,
                 help="Customer attributes (CSV/Parquet): branch, the gates' columns. "
                 "May repeat."),
]  # fmt: skip
_TwoRules = Annotated[
    list[str] | None,
    typer.Option("--rules", "-r", metavar="NAME|FILE", rich_help_panel=RULES,
                 help="Give twice: the rule set in use (A), then the candidate (B)."),
]  # fmt: skip
_Out = Annotated[
    str,
    typer.Option("--out", "-o", metavar="DIR", rich_help_panel=OUTPUTS,
                 help="Output folder: summary.json, report.html."),
]  # fmt: skip


def compare_rules(  # keyword-only: the options list in help panel order
    *,
    balances: OptionalBalances = None,
    transactions: OptionalTransactions = None,
    customers: _Customers = None,
    fx: Fx = None,
    columns: Columns = None,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    date_format: DateFormat = None,
    balance_layout: BalanceLayout = None,
    max_reject_rate: MaxRejectRate = 0.001,
    period: Period = None,
    months: Months = None,
    from_: From = None,
    to: To = None,
    rules: _TwoRules = None,
    out: _Out,
    report: Report = True,
    lang: Lang = None,
    engine: Engine = "polars",
    spark_conf: SparkConf = None,
    balances_table: BalancesTable = None,
    transactions_table: TransactionsTable = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Compare two rule sets on the same inputs: who moves between tiers.

    The tier migration matrix from A to B (per branch with --customers) and the change in quality.
    """
    given_rules = rules or []
    check_two(given_rules)
    _check_out(out)
    check_rate(max_reject_rate)
    window = window_of(period, months, from_, to)
    paths = {"balances": balances, "transactions": transactions}
    for name, given in {**paths, "customers": customers}.items():
        if "-" in (given or ()):  # each rule set's run reads the inputs again
            raise ConfigError("compare reads its inputs twice: give a file, not -", key=f"--{name}")
    tables = {"balances": balances_table, "transactions": transactions_table}
    job = job_of(paths, tables, window, "", encoding, columns, customers, delimiter)
    job.date_format, job.balance_layout, job.fx = date_format, balance_layout, fx
    stages = observer(quiet)
    with claim(Path(out)):  # locked before computing: a second run stops at once
        runs = iter(("A", "B"))

        def runner(one: Job) -> Result:
            return run_on(engine, spark_conf or [], one, _Named(stages, next(runs)))

        comparison = compare(job, given_rules, runner)
        _check_rejects(comparison, max_reject_rate)
        files = publish_comparison(comparison, Path(out), report=report, lang=check_lang(lang))
    if not quiet:
        _show(comparison, files)


def _check_out(out: str) -> None:
    if not out.strip():
        raise ConfigError("is empty: give a folder", key="--out")
    if out == "-" or is_uri(out):
        raise ConfigError("compare writes a local folder: summary.json, report.html", key="--out")


def _check_rejects(comparison: Comparison, rate: float) -> None:
    """A comparison of visibly broken exports is not published (exit 3), like scores."""
    found = over_reject_limit(comparison.a.summary, rate)
    found += over_reject_limit(comparison.b.summary, rate)
    if found:
        breaches = "; ".join(dict.fromkeys(found))
        raise RejectLimitError(
            f"too many rejected rows, comparison not published: {breaches} "
            "(tierscore score or validate lists them)"
        )


def _show(comparison: Comparison, files: dict[str, Path]) -> None:
    summary = comparison.summary
    migration = summary["migration"]
    names = [plain(summary[k]["ruleset"]["name"]) for k in ("a", "b")]
    table = Table(title=Text(f"{names[0]} (rows) -> {names[1]} (columns)"))
    table.add_column("")
    for column in migration["columns"]:
        table.add_column(cell(column), justify="right")
    for label, line in zip(migration["rows"], migration["counts"], strict=True):
        table.add_row(cell(label), *(f"{n:,}" for n in line))
    err.print(table)
    moved = migration["movement"]
    if moved is None:
        err.print(migration["note"], markup=False)
    else:
        err.print(", ".join(f"{n:,} {kind}" for kind, n in moved.items()), markup=False)
    quality = summary["quality"]
    err.print(
        f"quality: {quality['a']:,} under {names[0]}, {quality['b']:,} under {names[1]} "
        f"({quality['lost']:,} lose it, {quality['gained']:,} gain it)",
        markup=False,
    )
    for name, path in files.items():
        err.print(f"wrote {name}: {path}", markup=False)
