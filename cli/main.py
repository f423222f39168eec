"""The ``tierscore`` command: a thin typer shell over ``tierscore.scoring``."""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import typer

from tierscore.scoring import __version__
from tierscore.scoring.errors import ConfigError, RejectLimitError
from tierscore.scoring.outdir import abandon, claim
from tierscore.scoring.pipeline import Job, Result, Stages, inspect
from tierscore.scoring.publish import SCORES_FORMATS, publish, write_scores
from tierscore.scoring.quality import over_reject_limit
from tierscore.scoring.sources import is_uri, parse_mapping

from .compare_cmd import compare_rules
from .display import show_inspection, show_run
from .errors import ON_INTERRUPT, err, is_broken_pipe, run_cli, stdout_closed
from .explain_cmd import explain
from .options import (
    Balances,
    Columns,
    Encoding,
    From,
    MaxRejectRate,
    Months,
    OptionalBalances,
    OptionalTransactions,
    Period,
    Rules,
    To,
    Transactions,
    Verbose,
    check_rate,
    extras_of,
    inputs_of,
    percent_of,
    publish_to_uri,
    run_on,
    window_of,
)
from .progress import observer
from .rules_cmd import rules_app
from .sample_cmd import sample

EXIT_HELP = (
    "Exit codes: 0 scored and published; 1 unexpected error; 2 usage or configuration "
    "error (missing file or column, bad rule or mapping file), nothing published; "
    "3 too many rejected rows (rejects.csv and manifest.json written, scores not "
    "published); 130 interrupted."
)

app = typer.Typer(
    help=f"Score bank customers into tiers from half-year exports.\n\n{EXIT_HELP}",
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(rules_app, name="rules")
app.command(name="sample")(sample)
app.command(name="explain")(explain)
app.command(name="compare", epilog=EXIT_HELP)(compare_rules)
ON_INTERRUPT.append(abandon)  # Ctrl-C: no staging folder is left behind


@app.command(epilog=EXIT_HELP)
def score(
    out: Annotated[str, typer.Option(help="Output folder, or - for scores CSV on stdout.")],
    balances: OptionalBalances = None,
    transactions: OptionalTransactions = None,
    period: Period = None,
    months: Months = None,
    from_: From = None,
    to: To = None,
    rules: Rules = "icbc-star",
    format_: Annotated[
        str, typer.Option("--format", help="Scores file format: csv or parquet.")
    ] = "csv",
    encoding: Encoding = None,
    columns: Columns = None,
    customers: Annotated[
        str | None,
        typer.Option(
            help="Customer attributes (CSV/Parquet): branch, manager, the quality gates' "
            "columns; every column is carried into scores."
        ),
    ] = None,
    previous: Annotated[
        str | None,
        typer.Option(help="An earlier run's scores file: adds previous_tier and movement."),
    ] = None,
    near: Annotated[
        float, typer.Option(help="Mark customers within this percent of the next tier's bound.")
    ] = 10.0,
    split: Annotated[
        str | None,
        typer.Option(help="Also write one scores file per tier (tier) or branch and tier."),
    ] = None,
    xlsx: Annotated[bool, typer.Option(help="Also write scores.xlsx for Excel users.")] = False,
    report: Annotated[bool, typer.Option(help="Write report.html.")] = True,
    max_reject_rate: MaxRejectRate = 0.001,
    balances_table: Annotated[
        str | None, typer.Option(help="Balances from a catalog table (--engine spark).")
    ] = None,
    transactions_table: Annotated[
        str | None, typer.Option(help="Transactions from a catalog table (--engine spark).")
    ] = None,
    engine: Annotated[
        str, typer.Option(help="polars (this machine) or spark (a cluster, or local[*]).")
    ] = "polars",
    spark_conf: Annotated[
        list[str] | None,
        typer.Option("--spark-conf", help="KEY=VALUE for the Spark session; may repeat."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
    verbose: Verbose = False,
) -> None:
    """Score every customer and publish scores, summary, rejects and manifest."""
    if format_ not in SCORES_FORMATS:
        raise ConfigError("must be csv or parquet", key="--format")
    if out == "-" and format_ != "csv":
        raise ConfigError("--out - writes CSV to stdout; give a folder for parquet", key="--format")
    if out == "-" and (split or xlsx):
        raise ConfigError("--out - writes only the scores CSV; give a folder", key="--split/--xlsx")
    if is_uri(out) and engine != "spark":
        raise ConfigError("an --out URI is written by --engine spark", key="--out")
    if not out.strip():
        raise ConfigError("is empty: give a folder, or - for stdout", key="--out")
    check_rate(max_reject_rate)
    extras = extras_of(split, xlsx, report, customers)
    window = window_of(period, months, from_, to)
    mapping = parse_mapping(columns) if columns else None
    stages = observer(quiet)
    tables = {"balances": balances_table, "transactions": transactions_table}
    given = inputs_of({"balances": balances, "transactions": transactions}, tables)
    job = Job(given["balances"], given["transactions"], window, rules, encoding, mapping, customers)
    job.tables = {name: table for name, table in tables.items() if table}
    job.previous, job.near = previous, percent_of(near)
    with _folder_of(out):  # locked before computing: a second run stops at once
        result = run_on(engine, spark_conf or [], job, stages, collect=not is_uri(out))
        breaches = over_reject_limit(result.summary, max_reject_rate)
        if out == "-":
            _to_stdout(result, breaches, quiet)
            return
        with Stages(stages).stage("write", str(out)):
            if is_uri(out):
                files = publish_to_uri(result, out, not breaches, extras, spark_conf or [])
            else:
                files = publish(result, Path(out), format_, scores=not breaches, extras=extras)
    if breaches:
        _reject_limit(breaches, files)
    if not quiet:
        show_run(result.summary, files, result.rejects.height)


def _folder_of(out: str) -> AbstractContextManager[object]:
    """A local --out folder is checked and locked for the whole run (exit 2 if it is
    another run's, not tierscore's, or a link to nowhere); stdout and URIs are not."""
    if out == "-" or is_uri(out):
        return nullcontext()
    return claim(Path(out))


def _to_stdout(result: Result, breaches: list[str], quiet: bool) -> None:
    if breaches:
        _reject_limit(breaches, {})
    if not quiet:
        show_run(result.summary, None, result.rejects.height)
    try:
        write_scores(result.scores, sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except OSError as exc:  # polars reports a closed pipe as a plain OSError
        if not is_broken_pipe(exc):
            raise
        stdout_closed()


def _reject_limit(breaches: list[str], files: dict[str, Path]) -> None:
    for name, path in files.items():
        err.print(f"wrote {name}: {path}", markup=False)
    raise RejectLimitError("too many rejected rows, scores not published: " + "; ".join(breaches))


@app.command(epilog=EXIT_HELP)
def validate(
    balances: Balances,
    transactions: Transactions,
    encoding: Encoding = None,
    columns: Columns = None,
    max_reject_rate: MaxRejectRate = 0.001,
    show: Annotated[int, typer.Option(help="How many rejects to list.")] = 20,
    rules: Annotated[
        str | None,
        typer.Option(help="Apply this rule set's balance signs (shipped name or TOML file)."),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Check inputs without scoring: row counts per input and the first rejects."""
    check_rate(max_reject_rate)
    mapping = parse_mapping(columns) if columns else None
    found = inspect(balances, transactions, encoding, mapping, rules)
    show_inspection(found.counts, found.rejects, show)
    breaches = over_reject_limit({"rows": found.counts}, max_reject_rate)
    if breaches:
        raise RejectLimitError("too many rejected rows: " + "; ".join(breaches))


@app.command()
def version() -> None:
    """Print the tierscore version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point: exit with the code the run earned."""
    raise SystemExit(run_cli(app, verbose="--verbose" in sys.argv))
