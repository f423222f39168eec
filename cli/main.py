"""The ``tierscore`` command: a thin typer shell over ``tierscore.scoring``."""

from __future__ import annotations

import re
import sys
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from tierscore.scoring import __version__
from tierscore.scoring.errors import ConfigError, RejectLimitError
from tierscore.scoring.outdir import abandon, claim
from tierscore.scoring.pipeline import Result, Stages, inspect
from tierscore.scoring.publish import publish, write_scores
from tierscore.scoring.quality import over_reject_limit
from tierscore.scoring.report_text import check_lang
from tierscore.scoring.sources import is_uri, parse_mapping

from .compare_cmd import compare_rules
from .display import answering, inspection_data, print_json, show_inspection, show_run
from .errors import ON_INTERRUPT, err, is_broken_pipe, run_cli, stdout_closed
from .examples import epilog
from .explain_cmd import explain
from .ledger_cmd import accumulate_month, ledger_app, ledger_job, no_inputs_with_ledger
from .options import (
    BalanceLayout,
    Balances,
    BalancesTable,
    Columns,
    CsvBom,
    Customers,
    DateFormat,
    Delimiter,
    Encoding,
    Engine,
    From,
    Fx,
    Lang,
    LedgerIn,
    MaxRejectRate,
    Months,
    Near,
    OptionalBalances,
    OptionalTransactions,
    Overrides,
    Parties,
    Period,
    Previous,
    Quiet,
    QuietAnswer,
    Report,
    Rules,
    ScoreBy,
    ScoresFormat,
    ScoresOut,
    Show,
    SignRules,
    SparkConf,
    Split,
    To,
    Transactions,
    TransactionsTable,
    Verbose,
    Xlsx,
    check_bom,
    check_rate,
    extras_of,
    job_of,
    percent_of,
    publish_to_uri,
    run_on,
    stdin_once,
    window_of,
)
from .progress import observer
from .rules_cmd import rules_app
from .sample_cmd import sample

EXIT_HELP = (
    "Exit codes: 0 scored and published; 1 unexpected error; 2 usage or configuration "
    "error (missing file or column, bad rule or mapping file), nothing published; "
    "3 too many rejected rows (rejects.csv and manifest.json written, scores not "
    "published); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM)."
)

app = typer.Typer(
    help=f"Score bank customers into tiers from half-year exports.\n\n{EXIT_HELP}",
    epilog=epilog(""),
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    context_settings={"help_option_names": ["-h", "--help"]},  # subcommands inherit it
)
ON_INTERRUPT.append(abandon)  # Ctrl-C: no staging folder is left behind


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", is_eager=True, callback=_print_version,
                     help="Print the tierscore version and exit."),
    ] = False,
) -> None:  # fmt: skip
    """Options before the command: the version (the ``version`` command prints it too)."""


@app.command(epilog=epilog("score", EXIT_HELP))
def score(  # keyword-only: the options list in help panel order, --out among the outputs
    *,
    balances: OptionalBalances = None,
    transactions: OptionalTransactions = None,
    customers: Customers = None,
    parties: Parties = None,
    fx: Fx = None,
    ledger: LedgerIn = None,
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
    rules: Rules = "icbc-star",
    score_by: ScoreBy = "customer",
    out: ScoresOut,
    format_: ScoresFormat = "csv",
    report: Report = True,
    lang: Lang = None,
    previous: Previous = None,
    overrides: Overrides = None,
    near: Near = 10.0,
    split: Split = None,
    xlsx: Xlsx = False,
    csv_bom: CsvBom = False,
    engine: Engine = "polars",
    spark_conf: SparkConf = None,
    balances_table: BalancesTable = None,
    transactions_table: TransactionsTable = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Score every customer and publish scores, summary, rejects and manifest."""
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
    check_bom(csv_bom, out, format_)
    extras = replace(extras, lang=check_lang(lang), csv_bom=csv_bom)
    window = window_of(period, months, from_, to)
    stages = observer(quiet)
    paths = {"balances": balances, "transactions": transactions}
    tables = {"balances": balances_table, "transactions": transactions_table}
    if ledger is not None:  # the ledger is both inputs
        no_inputs_with_ledger(**{"--balances": balances, "--transactions": transactions,
                                 "--balances-table": balances_table, "--fx": fx,
                                 "--transactions-table": transactions_table,
                                 "--balance-layout": balance_layout})  # fmt: skip
        job = ledger_job(window, rules, encoding, columns, customers, delimiter)
    else:
        job = job_of(paths, tables, window, rules, encoding, columns, customers, delimiter)
    job.previous, job.near = previous, percent_of(near)
    job.overrides, job.date_format = overrides, date_format
    job.balance_layout, job.fx = balance_layout, fx
    job.parties, job.score_by = tuple(parties) if parties else None, score_by
    with _folder_of(out):  # locked before computing: a second run stops at once
        result = run_on(engine, spark_conf or [], job, stages, not is_uri(out), ledger)
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


@app.command(epilog=epilog("validate", EXIT_HELP))
def validate(
    balances: Balances,
    transactions: Transactions,
    encoding: Encoding = None,
    delimiter: Delimiter = None,
    date_format: DateFormat = None,
    balance_layout: BalanceLayout = None,
    columns: Columns = None,
    max_reject_rate: MaxRejectRate = 0.001,
    show: Show = 20,
    rules: SignRules = None,
    quiet: QuietAnswer = False,
    verbose: Verbose = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document: counts and first rejects.")
    ] = False,
) -> None:
    """Check inputs without scoring: row counts per input and the first rejects."""
    check_rate(max_reject_rate)
    if show < 0:  # polars' head(-n) would list all but the last n
        raise ConfigError(f"{show} is not a count: give 0 or more", key="--show")
    mapping = parse_mapping(columns) if columns else None
    stdin_once({"balances": balances, "transactions": transactions})
    found = inspect(
        balances, transactions, encoding, mapping, rules, delimiter=delimiter,
        date_format=date_format, balance_layout=balance_layout,
    )  # fmt: skip
    for name, files in found.skipped.items() if not quiet else ():
        for file in files:  # as ``score`` tells them (``progress``)
            err.print(f"warning: --{name}: not read, of an unknown type: {file}", markup=False)
    breaches = over_reject_limit({"rows": found.counts}, max_reject_rate)
    with answering():  # on stdout; a breach is then the error message, exit 3
        if as_json:
            print_json(inspection_data(found.counts, found.rejects, show, breaches))
        else:
            show_inspection(found.counts, found.rejects, show)
    if breaches:
        raise RejectLimitError("too many rejected rows: " + "; ".join(breaches))


# in help, commands list in the order they are registered (score and validate above)
app.command(name="explain", epilog=epilog("explain"))(explain)
app.command(name="compare", epilog=epilog("compare", EXIT_HELP))(compare_rules)
app.command(name="accumulate", epilog=epilog("accumulate", EXIT_HELP))(accumulate_month)
app.add_typer(ledger_app, name="ledger", epilog=epilog("ledger"))
for _info in ledger_app.registered_commands:
    _info.epilog = _info.epilog or epilog(f"ledger {_info.name}")
app.command(name="sample", epilog=epilog("sample"))(sample)
app.add_typer(rules_app, name="rules", epilog=epilog("rules"))
for _info in rules_app.registered_commands:  # `rules list/show/check`: examples here too
    _info.epilog = _info.epilog or epilog(f"rules {_info.name}")


@app.command(epilog=epilog("version"))
def version() -> None:
    """Print the tierscore version (as -V/--version does)."""
    typer.echo(__version__)


def wants_verbose(argv: list[str]) -> bool:
    """--verbose or -v, also in a cluster of short flags (``-qv``, ``-vo out``, not ``-bv``:
    -b takes the rest as its value), decides before the command parses whether an
    unexpected error shows its traceback. Read from the words, not the parse (an error
    can end the parse): a value spelled ``-v`` would show a traceback too, which is
    harmless; words after ``--`` are arguments."""
    words = argv[: argv.index("--")] if "--" in argv else argv
    return any(w == "--verbose" or re.match(r"-[qh]*v", w) for w in words)


def main() -> None:
    """Console-script entry point: exit with the code the run earned."""
    raise SystemExit(run_cli(app, verbose=wants_verbose(sys.argv[1:])))
