"""Options several commands share, declared once."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Annotated

import typer

from tierscore.scoring.errors import ConfigError
from tierscore.scoring.pipeline import Job, Observer, Result, run
from tierscore.scoring.publish import Extras
from tierscore.scoring.split import SPLIT_FOLDERS
from tierscore.scoring.window import Window, parse_window

Balances = Annotated[str, typer.Option(help="Balances: a file, glob or folder (CSV/Parquet).")]
Transactions = Annotated[
    str, typer.Option(help="Transactions: a file, glob or folder (CSV/Parquet).")
]
OptionalBalances = Annotated[
    str | None, typer.Option("--balances", help="Balances: a file, glob, folder or URI.")
]
OptionalTransactions = Annotated[
    str | None, typer.Option("--transactions", help="Transactions: a file, glob, folder or URI.")
]
Encoding = Annotated[
    str | None,
    typer.Option(
        help="CSV encoding (default: detect UTF-8 / GB18030); bytes it does not decode "
        "stop the run."
    ),
]
Columns = Annotated[str | None, typer.Option(help="TOML file mapping export headers to columns.")]
MaxRejectRate = Annotated[
    float, typer.Option(help="Largest tolerated share of rejected rows per input.")
]
Verbose = Annotated[bool, typer.Option(help="Show tracebacks of unexpected errors.")]


def _date(text: str | None, option: str) -> object:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"{text!r} is not a date YYYY-MM-DD", key=option) from None


Period = Annotated[str | None, typer.Option(help="2026H1, 2026H2, or YYYY-MM with --months N.")]
Months = Annotated[
    int | None, typer.Option(help="With --period YYYY-MM: N full months ending there.")
]
From = Annotated[str | None, typer.Option("--from", help="Explicit window start YYYY-MM-DD.")]
To = Annotated[str | None, typer.Option(help="Explicit window end YYYY-MM-DD.")]
Rules = Annotated[str, typer.Option(help="Shipped rule set name or a TOML file.")]


def window_of(period: str | None, months: int | None, start: str | None, end: str | None) -> Window:
    return parse_window(period, months, _date(start, "--from"), _date(end, "--to"))


def check_rate(rate: float) -> None:
    """A share: 0 publishes only clean runs, 1 publishes whatever was rejected."""
    if not 0 <= rate <= 1:  # also false for NaN
        raise ConfigError(f"{rate} is not a share between 0 and 1", key="--max-reject-rate")


def percent_of(value: float) -> Fraction:
    """The percent as typed (10, 7.5), kept exact so that "near" is decided on integers."""
    if not 0 <= value <= 100:  # also false for NaN
        raise ConfigError(f"{value} is not a percent between 0 and 100", key="--near")
    return Fraction(repr(value)).limit_denominator(10**6)


def extras_of(split: str | None, xlsx: bool, report: bool, customers: str | None) -> Extras:
    if split not in (None, *SPLIT_FOLDERS):
        raise ConfigError("must be tier or branch", key="--split")
    if split == "branch" and not customers:
        raise ConfigError("--split branch needs --customers with a branch column", key="--split")
    return Extras(split, xlsx, report)


def run_on(
    engine: str, conf: list[str], job: Job, observer: Observer, collect: bool = True
) -> Result:
    """Run the job on the engine asked for; Spark is imported only when asked for.
    ``collect=False``: Spark keeps the scores on the cluster (for an --out URI)."""
    if engine == "polars":
        if conf:
            raise ConfigError("only with --engine spark", key="--spark-conf")
        return run(job, observer)
    if engine != "spark":
        raise ConfigError("must be polars or spark", key="--engine")
    from tierscore.scoring import spark_engine

    return spark_engine.run(job, observer, spark_engine.session(_settings(conf)), collect)


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


def inputs_of(paths: dict[str, str | None], tables: dict[str, str | None]) -> dict[str, str]:
    """Each input comes from files or from a table, exactly one of the two."""
    given = {}
    for name, path in paths.items():
        if path and tables[name]:
            raise ConfigError(f"give --{name} or --{name}-table, not both", key=f"--{name}")
        if not path and not tables[name]:
            raise ConfigError(f"missing --{name} (or --{name}-table)", key=f"--{name}")
        given[name] = path or ""
    return given
