"""Shared helpers: write small exports and score them through the library."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import Window, parse_window

BAL_COLUMNS = ("customer_id", "account_id", "product", "date", "balance")
TXN_COLUMNS = ("customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio")

Row = Sequence[object]


def write_csv(path: Path, columns: Sequence[str], rows: Sequence[Row]) -> Path:
    lines = [",".join(columns)]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def as_parquet(csv: Path) -> str:
    """A CSV export as typed Parquet beside it: dates as dates, money as decimals,
    fee ratios as floats (a bank's Parquet export, from the same rows)."""
    import polars as pl

    frame = pl.read_csv(csv, infer_schema=False)
    money = [c for c in ("balance", "amount", "fee") if c in frame.columns]
    ratio = [pl.col("fee_ratio").cast(pl.Float64)] if "fee_ratio" in frame.columns else []
    typed = frame.with_columns(
        pl.col("date").str.to_date(), pl.col(money).cast(pl.Decimal(18, 2)), *ratio
    )
    typed.write_parquet(csv.with_suffix(".parquet"))
    return str(csv.with_suffix(".parquet"))


def txn_rows(rows: Sequence[Row]) -> list[Row]:
    """Transactions given as (customer, date, type, amount[, fee[, ratio]]) get ids."""
    out = []
    for i, row in enumerate(rows):
        customer, day, kind, amount, *rest = row
        fee = rest[0] if rest else None
        ratio = rest[1] if len(rest) > 1 else None
        out.append((customer, f"T{i:05d}", day, kind, amount, fee, ratio))
    return out


Scorer = Callable[..., dict[str, dict[str, Any]]]


@pytest.fixture
def score_rows(tmp_path: Path) -> Scorer:
    """Score balances and transactions rows; returns customer_id -> scores row."""
    counter = iter(range(10**6))

    def score(
        balances: Sequence[Row] = (),
        transactions: Sequence[Row] = (),
        window: Window | str = "2026H1",
        result: list[Result] | None = None,
    ) -> dict[str, dict[str, Any]]:
        n = next(counter)
        bal = write_csv(tmp_path / f"bal{n}.csv", BAL_COLUMNS, balances)
        txn = write_csv(tmp_path / f"txn{n}.csv", TXN_COLUMNS, txn_rows(transactions))
        win = parse_window(window) if isinstance(window, str) else window
        done = run(Job(str(bal), str(txn), win))
        if result is not None:
            result.append(done)
        return {row["customer_id"]: row for row in done.scores.iter_rows(named=True)}

    return score


def dec(text: str) -> Decimal:
    return Decimal(text)


# The property tests that run whole pipelines per example run this share of their
# examples by default (CI's and the README's run); TIERSCORE_THOROUGH=1 runs them all.
THOROUGH = os.environ.get("TIERSCORE_THOROUGH") == "1"


def examples(wanted: int) -> int:
    """How many examples a whole-pipeline property test tries: ``wanted`` when
    thorough, else two fifths of it (at least 10). Those tests were a third of the
    suite's time; a shrunk counterexample found once is kept by hypothesis' database."""
    return wanted if THOROUGH else max(10, wanted * 2 // 5)


SPARK_GROUP = "spark-session"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep what must share one process on one pytest-xdist worker (``--dist loadgroup``).

    Every test that uses the ``spark`` session goes to one worker, so a run starts one
    JVM for them (a session per worker would double JVM start-up and memory). The tests
    of a module with a module-scoped fixture stay together too: the fixture is built
    once, and tests that use an earlier test's output (the README's commands) keep their
    order. Runs before xdist's own hook, which turns the marks into work units.

    On a worker the long units go first (xdist hands them out in this order, see
    ``--no-loadscope-reorder``): the Spark group, the other groups and the tests that
    start a JVM of their own; single short tests fill the workers at the end.
    """
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs.values() if info else ()
        if "spark" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(SPARK_GROUP))
        elif any(d.scope in ("module", "class", "package") for ds in defs for d in ds):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    if getattr(config.option, "loadgroup", False):  # set on xdist workers only
        items.sort(key=_long_first)


def _long_first(item: pytest.Item) -> int:
    group = item.get_closest_marker("xdist_group")
    if group and group.args[0] == SPARK_GROUP:
        return 0
    return 1 if group or item.get_closest_marker("spark") else 2


def pytest_runtest_setup(item: pytest.Item) -> None:
    """On an xdist worker, fail a test whose group did not reach the scheduler.

    xdist tells its scheduler a test's group by appending ``@group`` to the test's id;
    pytest 9.2 ignores that (pytest-xdist issue 1386), and the groups are then dropped
    without a word: a JVM per worker, and the README's commands split between workers'
    folders. Hence the pin in pyproject.toml, and this check for the next such change.
    """
    grouped = getattr(item.config.option, "loadgroup", False)  # set on xdist workers only
    if grouped and item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
        pytest.fail(
            "pytest-xdist did not group this test (--dist loadgroup; pytest-xdist issue "
            "1386): use the pytest that pyproject.toml allows, or run with -n 0",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def spark() -> Any:
    """One local[2] Spark session for the whole run (starting one takes seconds).

    Small file splits make Spark read every CSV in several pieces, so line
    numbering across splits is exercised by every Spark test.
    """
    pytest.importorskip("pyspark")
    from tierscore.scoring.spark_engine import session

    active = session(
        {
            "spark.master": "local[2]",
            # Two shuffle partitions a core's worth, and no adaptive re-planning between
            # stages: on these tiny inputs both are overhead (the Spark tests took 65 s
            # where they now take 42). The Spark Connect test's server keeps Spark's
            # adaptive execution, as a production session has it.
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.adaptive.enabled": "false",
            "spark.sql.files.maxPartitionBytes": "65536",
            "spark.sql.files.openCostInBytes": "0",
            "spark.ui.enabled": "false",
        }
    )
    active.sparkContext.setLogLevel("ERROR")
    yield active
    active.stop()


def random_csv(rng: random.Random, max_rows: int) -> str:
    """A CSV of 4 columns whose rows have 1 to 6 fields, some quoted (with commas,
    doubled quotes and newlines inside), some blank, LF or CRLF, ending in a newline
    or not: what the byte-level shaper and polars must agree on."""

    def cell() -> str:
        if rng.random() < 0.6:
            return rng.choice(["", "a", "12.5", "客户", "x y"])
        return '"' + rng.choice(["", "a,b", 'say ""hi""', "two\nlines", "\n", ",\n,"]) + '"'

    end = rng.choice(["\n", "\r\n"])
    rows = ["h1,h2,h3,h4"]
    for _ in range(rng.randint(0, max_rows)):
        width = rng.choice([4, 4, 4, 4, 1, 2, 3, 5, 6])
        rows.append(",".join(cell() for _ in range(width)))
    return end.join(rows) + (end if rng.random() < 0.8 else "")


@pytest.fixture(scope="module")
def window_unchecked() -> Any:
    """Runs that score whatever the window: property tests draw a few rows at random
    dates around the window and compare the scores with the reference, so an input
    whose rows all miss the window would stop the run (``coverage.check_window``,
    tested in test_checks) and leave nothing to compare. Module-scoped: hypothesis
    refuses function-scoped fixtures under ``@given``."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr("tierscore.scoring.pipeline.check_window", lambda *args: None)
        yield
