"""Options several commands share, declared once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer

from tierscore.scoring.accumulate import Accumulated, Accumulation, accumulate
from tierscore.scoring.csv_bytes import codec_of, delimiter_of
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.layouts import LAYOUTS
from tierscore.scoring.ledger_score import run_from_ledger
from tierscore.scoring.pipeline import Job, Observer, Result, run
from tierscore.scoring.publish import SCORES_FORMATS, Extras
from tierscore.scoring.sources import is_uri, parse_mapping
from tierscore.scoring.split import SPLIT_FOLDERS
from tierscore.scoring.validate import check_date_format
from tierscore.scoring.window import Window, parse_window

from .errors import spark_output

# Help panels: a command's options grouped by what they are about, in this order after
# the general ones (-q, -v, -h), so that `score --help` reads in 80 columns.
INPUTS, WINDOW, RULES = "Inputs", "Window", "Rules"
OUTPUTS, VIEWS, ENGINE = "Outputs", "Analyst views", "Engine"


def _known_encoding(name: str | None) -> str | None:
    """An --encoding Python does not know stops the command before anything is read or
    started (a Spark session, a locked folder), whichever inputs it would have applied to
    (Parquet files have none)."""
    if name is not None:
        codec_of(name)  # raises ConfigError (exit 2) naming --encoding
    return name


def _known_delimiter(given: str | None) -> str | None:
    """A --delimiter tierscore does not read stops the command before anything is read
    (exit 2 naming --delimiter); a known one is the character it names."""
    return delimiter_of(given) if given is not None else None


def _known_date_format(text: str | None) -> str | None:
    """A --date-format that cannot write and read back a whole date stops the command
    before anything is read (``validate.check_date_format``: exit 2 naming it)."""
    return check_date_format(text)


def one_of(option: str, *values: str) -> dict[str, Any]:
    """A choice typed in any case (``--format CSV``) is the value it names; another stops
    the command as every configuration error does (exit 2, one line naming the option,
    which typer's own choice check would not give); the shell completes the values."""

    def folded(given: str | None) -> str | None:
        if given is None:
            return None
        if given.casefold() not in values:
            raise ConfigError(f"must be {' or '.join(values)}, not {given!r}", key=option)
        return given.casefold()

    def complete(incomplete: str) -> list[str]:
        return [value for value in values if value.startswith(incomplete.casefold())]

    return {"callback": folded, "autocompletion": complete, "metavar": "|".join(values)}


Balances = Annotated[
    list[str],
    typer.Option("--balances", "-b", metavar="PATH", rich_help_panel=INPUTS,
                 help="Balances: a file, glob, folder or - (stdin CSV); may repeat."),
]  # fmt: skip
Transactions = Annotated[
    list[str],
    typer.Option("--transactions", "-t", metavar="PATH", rich_help_panel=INPUTS,
                 help="Transactions: a file, glob, folder or - (stdin CSV); may repeat."),
]  # fmt: skip
OptionalBalances = Annotated[
    list[str] | None,
    typer.Option("--balances", "-b", metavar="PATH", rich_help_panel=INPUTS,
                 help="Balances: a file, glob, folder, URI or - (stdin CSV); may repeat."),
]  # fmt: skip
OptionalTransactions = Annotated[
    list[str] | None,
    typer.Option("--transactions", "-t", metavar="PATH", rich_help_panel=INPUTS,
                 help="Transactions: a file, glob, folder, URI or - (stdin CSV); may repeat."),
]  # fmt: skip
Encoding = Annotated[
    str | None,
    typer.Option(metavar="NAME", rich_help_panel=INPUTS, callback=_known_encoding,
                 help="CSV encoding (default: detect UTF-8 / GB18030); bytes it does not "
                 "decode stop the run."),
]  # fmt: skip
Delimiter = Annotated[
    str | None,
    typer.Option(metavar="CHAR", rich_help_panel=INPUTS, callback=_known_delimiter,
                 help="Text files' delimiter: , | ; or \\t (default: from each header; "
                 ".tsv: tab)."),
]  # fmt: skip
DateFormat = Annotated[
    str | None,
    typer.Option(metavar="FORMAT", rich_help_panel=INPUTS, callback=_known_date_format,
                 help="Text dates in this one strftime format (%y%m%d, %d/%m/%Y); a date "
                 "not in it is rejected."),
]  # fmt: skip
Columns = Annotated[
    str | None,
    typer.Option(metavar="FILE", rich_help_panel=INPUTS,
                 help="TOML file mapping export headers to columns."),
]  # fmt: skip
BalanceLayout = Annotated[
    str | None,
    typer.Option(rich_help_panel=INPUTS, **{**one_of("--balance-layout", *LAYOUTS),
                                            "metavar": "LAYOUT"},
                 help="Balances as changes, intervals, accumulations or postings "
                 "(default: from their columns)."),
]  # fmt: skip
Customers = Annotated[
    list[str] | None,
    typer.Option(metavar="PATH", rich_help_panel=INPUTS,
                 help="Customer attributes (CSV/Parquet): branch, manager, the quality "
                 "gates' columns; every column is carried into scores. May repeat."),
]  # fmt: skip
Fx = Annotated[
    str | None,
    typer.Option("--fx", metavar="FILE", rich_help_panel=INPUTS,
                 help="Exchange rates (CSV/Parquet: date, currency, rate = yuan per unit) "
                 "for balances and transactions with a currency column."),
]  # fmt: skip
LedgerIn = Annotated[
    Path | None,
    typer.Option("--ledger", metavar="DIR", rich_help_panel=INPUTS,
                 help="Score from a 积数 ledger (tierscore accumulate), not from exports."),
]  # fmt: skip
Parties = Annotated[
    list[str] | None,
    typer.Option(metavar="PATH", rich_help_panel=INPUTS,
                 help="Each customer number's party_id (a person) and household_id "
                 "(CSV/Parquet), for --score-by party or household. May repeat."),
]  # fmt: skip
ScoreBy = Annotated[
    str,
    typer.Option(rich_help_panel=RULES, **one_of("--score-by", "customer", "party", "household"),
                 help="The unit tiered: each customer number, or all numbers of a party or "
                 "household as one (needs --parties)."),
]  # fmt: skip
MaxRejectRate = Annotated[
    float,
    typer.Option(metavar="SHARE", rich_help_panel=INPUTS,
                 help="Largest tolerated share of rejected rows per input (0 to 1)."),
]  # fmt: skip
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
# explain, validate: their answer is what they are run for, -q keeps it
QuietAnswer = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only the answer and errors, no notes.")
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show tracebacks of unexpected errors.")
]
Report = Annotated[bool, typer.Option(rich_help_panel=OUTPUTS, help="Write report.html.")]
Lang = Annotated[
    str | None,
    typer.Option(rich_help_panel=OUTPUTS, **one_of("--lang", "zh", "en"),
                 help="report.html's language (default: zh if the tier labels are Chinese)."),
]  # fmt: skip
Engine = Annotated[
    str,
    typer.Option(rich_help_panel=ENGINE, **one_of("--engine", "polars", "spark"),
                 help="polars (this machine) or spark (a cluster, or local[*])."),
]  # fmt: skip
SparkConf = Annotated[
    list[str] | None,
    typer.Option("--spark-conf", metavar="KEY=VALUE", rich_help_panel=ENGINE,
                 help="A Spark session setting; may repeat."),
]  # fmt: skip
BalancesTable = Annotated[
    str | None,
    typer.Option(metavar="TABLE", rich_help_panel=ENGINE,
                 help="Balances from a catalog table, instead of --balances."),
]  # fmt: skip
TransactionsTable = Annotated[
    str | None,
    typer.Option(metavar="TABLE", rich_help_panel=ENGINE,
                 help="Transactions from a catalog table, instead of --transactions."),
]  # fmt: skip

# score's and validate's own options, declared here so that their signatures stay short
ScoresOut = Annotated[
    str,
    typer.Option("--out", "-o", metavar="DIR", rich_help_panel=OUTPUTS,
                 help="Output folder, or - for the scores CSV on stdout."),
]  # fmt: skip
ScoresFormat = Annotated[
    str,
    typer.Option("--format", rich_help_panel=OUTPUTS, **one_of("--format", *SCORES_FORMATS),
                 help="Scores file format."),
]  # fmt: skip
Previous = Annotated[
    str | None,
    typer.Option(metavar="FILE", rich_help_panel=VIEWS,
                 help="An earlier run's scores file: adds previous_tier and movement."),
]  # fmt: skip
Overrides = Annotated[
    str | None,
    typer.Option(metavar="FILE", rich_help_panel=VIEWS,
                 help="Service-tier overrides (customer_id, tier, reason, until), for a "
                 "rule set with a service table."),
]  # fmt: skip
Near = Annotated[
    float,
    typer.Option(metavar="PCT", rich_help_panel=VIEWS,
                 help="Mark customers within PCT percent of the next tier's bound."),
]  # fmt: skip
Split = Annotated[
    str | None,
    typer.Option(rich_help_panel=VIEWS, **one_of("--split", *SPLIT_FOLDERS),
                 help="Also write one scores file per tier, or per branch and tier."),
]  # fmt: skip
Xlsx = Annotated[
    bool, typer.Option("--xlsx", rich_help_panel=VIEWS, help="Also write scores.xlsx for Excel.")
]
CsvBom = Annotated[
    bool,
    typer.Option("--csv-bom", rich_help_panel=OUTPUTS,
                 help="Start scores.csv with a UTF-8 BOM, for Excel (the --split lists have one)."),
]  # fmt: skip
Show = Annotated[
    int, typer.Option(metavar="N", rich_help_panel=OUTPUTS, help="How many rejects to list.")
]
SignRules = Annotated[
    str | None,
    typer.Option("--rules", "-r", metavar="NAME|FILE", rich_help_panel=RULES,
                 help="Apply this rule set's balance signs (shipped name or TOML file)."),
]  # fmt: skip


def parse_day(text: str, option: str) -> date:
    """A day the operator typed, YYYY-MM-DD."""
    day = _date(text, option)
    assert isinstance(day, date)
    return day


def _date(text: str | None, option: str) -> object:
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):  # strptime takes 2026-7-5, ２０２６
        raise ConfigError(f"{text!r} is not a date YYYY-MM-DD", key=option)
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"{text!r} is not a date YYYY-MM-DD", key=option) from None


Period = Annotated[
    str | None,
    typer.Option("--period", "-p", metavar="PERIOD", rich_help_panel=WINDOW,
                 help="2026H1, 2026H2 (or 2026h1), or YYYY-MM with --months N."),
]  # fmt: skip
Months = Annotated[
    int | None,
    typer.Option(metavar="N", rich_help_panel=WINDOW,
                 help="With --period YYYY-MM: N full months ending there."),
]  # fmt: skip
From = Annotated[
    str | None,
    typer.Option("--from", metavar="DATE", rich_help_panel=WINDOW,
                 help="Explicit window start YYYY-MM-DD."),
]  # fmt: skip
To = Annotated[
    str | None,
    typer.Option(metavar="DATE", rich_help_panel=WINDOW, help="Explicit window end YYYY-MM-DD."),
]  # fmt: skip
Rules = Annotated[
    str,
    typer.Option("--rules", "-r", metavar="NAME|FILE", rich_help_panel=RULES,
                 help="Shipped rule set name or a TOML file."),
]  # fmt: skip

_HALF_YEAR = re.compile(r"[0-9]{4}[hH][12]")


def window_of(period: str | None, months: int | None, start: str | None, end: str | None) -> Window:
    return parse_window(_period(period), months, _date(start, "--from"), _date(end, "--to"))


def _period(text: str | None) -> str | None:
    """``2026h1`` is ``2026H1``, as people type it; only the half-year's letter is folded,
    ASCII digits only: the YYYY-MM form and anything else stay as strict as the library
    reads them."""
    if text is not None and _HALF_YEAR.fullmatch(text.strip()):
        return text.strip().upper()
    return text


def check_rate(rate: float) -> None:
    """A share: 0 publishes only clean runs, 1 publishes whatever was rejected."""
    if not 0 <= rate <= 1:  # also false for NaN
        raise ConfigError(f"{rate} is not a share between 0 and 1", key="--max-reject-rate")


def percent_of(value: float) -> Fraction:
    """The percent as typed (10, 7.5), kept exact so that "near" is decided on integers."""
    if not 0 <= value <= 100:  # also false for NaN
        raise ConfigError(f"{value} is not a percent between 0 and 100", key="--near")
    return Fraction(repr(value)).limit_denominator(10**6)


def extras_of(split: str | None, xlsx: bool, report: bool, customers: list[str] | None) -> Extras:
    if split not in (None, *SPLIT_FOLDERS):
        raise ConfigError("must be tier or branch", key="--split")
    if split == "branch" and not customers:
        raise ConfigError("--split branch needs --customers with a branch column", key="--split")
    return Extras(split, xlsx, report)


def check_bom(csv_bom: bool, out: str, fmt: str) -> None:
    """--csv-bom is for a scores.csv file that people open in Excel. Stdout feeds
    programs, which would read the BOM as part of the first column's name; Parquet and
    an --out URI have no scores.csv. Asked there, it would do nothing: stop instead."""
    if csv_bom and (out == "-" or fmt != "csv" or is_uri(out)):
        raise ConfigError("only for a scores.csv in an --out folder", key="--csv-bom")


def run_on(
    engine: str,
    conf: list[str],
    job: Job,
    observer: Observer,
    collect: bool = True,
    ledger: Path | None = None,
) -> Result:
    """Run the job on the engine asked for; Spark is imported only when asked for.
    ``collect=False``: Spark keeps the scores on the cluster (for an --out URI).
    ``ledger``: the job's window from that ledger (``ledger_score``), not from inputs."""
    if engine == "polars":
        if conf:
            raise ConfigError("only with --engine spark", key="--spark-conf")
        return run_from_ledger(job, ledger, observer) if ledger else run(job, observer)
    if engine != "spark":
        raise ConfigError("must be polars or spark", key="--engine")
    from tierscore.scoring import spark_engine

    if ledger is not None:  # Spark is started once the ledger gives the window
        from tierscore.scoring.spark_ledger import run_from_ledger_on_spark

        start = _starter(conf)
        return run_from_ledger_on_spark(job, ledger, start, observer, collect)
    with spark_output():  # the JVM's own stderr chatter only with --verbose
        spark = spark_engine.session(_settings(conf))
    return spark_engine.run(job, observer, spark, collect)


def accumulate_on(engine: str, conf: list[str], job: Accumulation) -> Accumulated:
    """``tierscore accumulate`` on the engine asked for (see ``run_on``); Spark is
    started once the ledger is checked and locked."""
    if engine == "polars":
        if conf:
            raise ConfigError("only with --engine spark", key="--spark-conf")
        return accumulate(job)
    if engine != "spark":
        raise ConfigError("must be polars or spark", key="--engine")
    from tierscore.scoring.spark_ledger import accumulate_on_spark

    return accumulate_on_spark(job, _starter(conf))


def _starter(conf: list[str]) -> Callable[[], Any]:
    """The Spark session, started when first asked for (``--spark-conf`` read now)."""
    settings = _settings(conf)

    def start() -> Any:
        from tierscore.scoring import spark_engine

        with spark_output():  # the JVM's own stderr chatter only with --verbose
            return spark_engine.session(settings)

    return start


def _settings(conf: list[str]) -> dict[str, str]:
    settings = {}
    for item in conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{item!r} is not KEY=VALUE", key="--spark-conf")
        settings[key.strip()] = value
    return settings


def publish_to_uri(
    result: Result, out: str, scores: bool, extras: Extras, conf: list[str]
) -> dict[str, str]:
    from tierscore.scoring import spark_engine
    from tierscore.scoring.spark_publish import publish_uri

    spark = spark_engine.session(_settings(conf))  # the session the run used
    return publish_uri(spark, result, out, scores=scores, extras=extras)


def job_of(
    paths: dict[str, list[str] | None],
    tables: dict[str, str | None],
    window: Window,
    rules: str,
    encoding: str | None,
    columns: str | None,
    customers: list[str] | None,
    delimiter: str | None = None,
) -> Job:
    """The job ``score`` and ``compare`` share: inputs from files or catalog tables,
    the window, and the columns mapping read once."""
    mapping = parse_mapping(columns) if columns else None
    given = inputs_of(paths, tables)
    stdin_once({**paths, "customers": customers})
    attributes = tuple(customers) if customers else None  # each occurrence adds files
    job = Job(given["balances"], given["transactions"], window, rules, encoding, mapping,
              attributes)  # fmt: skip
    job.tables = {name: table for name, table in tables.items() if table}
    job.delimiter = delimiter
    return job


def stdin_once(paths: dict[str, list[str] | None]) -> None:
    """Standard input (``-``) is one pipe: one input reads it, once; said before any
    input is read (the reader would stop at the second, after reading the first)."""
    takers = [f"--{name}" for name, given in paths.items() for one in given or () if one == "-"]
    if len(takers) > 1:
        raise ConfigError(f"standard input is read once, not by {' and '.join(takers)}",
                          key=takers[-1])  # fmt: skip


def inputs_of(
    paths: dict[str, list[str] | None], tables: dict[str, str | None]
) -> dict[str, tuple[str, ...]]:
    """Each input comes from files (each occurrence of its option: ``sources.locate``)
    or from a table, exactly one of the two."""
    given = {}
    for name, path in paths.items():
        if path and tables[name]:
            raise ConfigError(f"give --{name} or --{name}-table, not both", key=f"--{name}")
        if not path and not tables[name]:
            raise ConfigError(f"missing --{name} (or --{name}-table)", key=f"--{name}")
        given[name] = tuple(path or ())
    return given
