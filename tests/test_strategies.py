"""Every measuring strategy (``measures.STRATEGIES``), named by argument
(``Job.strategies``), gives the row-by-row reference's points and the same row
accounting and rejects, on the same generated inputs: rows repeated and conflicting,
out of order, in several files; and a run records the strategy it took."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierscore.scoring.measures import ONE_PASS, SEARCHED, SORTED
from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, examples, write_csv
from .simple_reference import reference_points, round_half_up

pytestmark = pytest.mark.usefixtures("window_unchecked")  # scores whatever the window

START, END = date(2026, 1, 1), date(2026, 1, 20)
PRODUCTS = ["CURRENT", "TIME", "MORTGAGE", "CC_OVERDRAFT", "ODD", "MMF"]
TYPES = ["POS", "FUND_BUY", "REMOTE_CASH", "MMF_BUY", "ODD"]
PAIRS = [
    (ONE_PASS, ONE_PASS),
    (SORTED, SEARCHED),
    (ONE_PASS, SEARCHED),
    (SORTED, ONE_PASS),
    (None, None),  # as chosen
]

days = st.integers(min_value=-4, max_value=23).map(lambda n: START + timedelta(days=n))
balances = st.lists(
    st.tuples(
        st.sampled_from(["A1", "A2", "A3", "A4"]),
        st.sampled_from(PRODUCTS),
        days,
        st.sampled_from(["0.00", "10.00", "250.50", "99999.99"]),
    ),
    max_size=16,
)
transactions = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3"]),
        st.integers(min_value=0, max_value=8),  # ids repeat
        days,
        st.sampled_from(TYPES),
        st.sampled_from(["1.00", "20000.00"]),
        st.sampled_from(["", "5.00"]),
    ),
    max_size=12,
)


def _write(folder: Path, name: str, columns: tuple, rows: list, files: int) -> str:
    """The rows in ``files`` files of one folder (an export cut in parts)."""
    (folder / name).mkdir()
    for index in range(files):
        write_csv(folder / name / f"part-{index}.csv", columns, rows[index::files])
    return str(folder / name)


def _run(folder: Path, pair: tuple, bal: str, txn: str) -> tuple:
    chosen = dict(zip(("balances", "transactions"), pair, strict=True))
    job = Job(bal, txn, parse_window(None, None, START, END))
    job.strategies = {name: path for name, path in chosen.items() if path is not None}
    result = run(job)
    rejects = result.rejects.select("file", "line", "reason").sort(pl.all())
    return result, rejects


@settings(max_examples=examples(50), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(bal=balances, txn=transactions, seed=st.integers(0, 3), files=st.sampled_from([1, 3]))
def test_every_strategy_equals_the_reference(
    tmp_path_factory: pytest.TempPathFactory, bal: list, txn: list, seed: int, files: int
) -> None:
    owner = {"A1": "C1", "A2": "C1", "A3": "C2", "A4": "C3"}
    bal_rows = [(owner[a], a, p, d, v) for a, p, d, v in bal]
    txn_rows = [(c, f"T{i}", d, k, a, f, "1") for c, i, d, k, a, f in txn]
    order = random.Random(seed)
    order.shuffle(bal_rows)
    order.shuffle(txn_rows)
    if seed == 1:  # in key order, as a table clustered by its key exports
        bal_rows.sort(key=lambda r: (r[1], r[3]))
        txn_rows.sort(key=lambda r: r[1])
    elif seed == 3:  # in date order, as a daily-appended export (``measures._dated``)
        bal_rows.sort(key=lambda r: r[3])
        txn_rows.sort(key=lambda r: r[2])
    folder = tmp_path_factory.mktemp("strategies")
    bal_in = _write(folder, "balances", BAL_COLUMNS, bal_rows, files)
    txn_in = _write(folder, "transactions", TXN_COLUMNS, txn_rows, files)
    expected = reference_points(bal_rows, txn_rows, START, END)
    seen = []
    for pair in PAIRS:
        result, rejects = _run(folder, pair, bal_in, txn_in)
        got = dict(zip(result.scores["customer_id"], result.scores["points"], strict=True))
        assert got == {c: round_half_up(p) for c, p in expected.items()}, pair
        seen.append((result.summary["rows"], rejects))
    for rows, rejects in seen[1:]:
        assert rows == seen[0][0]
        assert rejects.equals(seen[0][1])


def test_the_strategy_taken_is_recorded_and_a_late_disorder_says_so(tmp_path: Path) -> None:
    """Balances whose first rows are in account order but later ones are not start on
    the one pass and end sorted, and the manifest and the compute line say why."""
    rows = [("C1", "A1", "CURRENT", "2026-01-01", "10.00"), ("C1", "A2", "CURRENT",
            "2026-01-02", "20.00"), ("C1", "A1", "CURRENT", "2026-01-05", "30.00")]  # fmt: skip
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, rows)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    job = Job(str(bal), str(txn), parse_window(None, None, START, END))
    job.strategies = {"balances": ONE_PASS}
    result = run(job)
    assert result.measuring["balances"] == "sorted (rows out of key order after the first look)"
    assert result.scores["points"].to_list() == [
        round_half_up(p) for p in reference_points(rows_typed(rows), [], START, END).values()
    ]
    job.strategies = {}
    assert run(job).measuring["balances"] == "sorted (first rows out of key order)"
    with pytest.raises(ValueError, match="are not measured by"):
        job.strategies = {"balances": SEARCHED}
        run(job)


def rows_typed(rows: list[tuple]) -> list[tuple]:
    return [(c, a, p, date.fromisoformat(d), v) for c, a, p, d, v in rows]


def test_manifest_and_verbose_line_name_the_strategy(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from tierscore.cli.main import app

    root = Path(__file__).resolve().parents[1] / "sample_data"
    out = tmp_path / "out"
    done = CliRunner().invoke(app, ["score", "--balances", str(root / "balances.csv"),
                                    "--transactions", str(root / "transactions.csv"),
                                    "--period", "2026H1", "--out", str(out), "-v"])  # fmt: skip
    assert done.exit_code == 0, done.output
    measuring = json.loads((out / "manifest.json").read_text())["measuring"]
    assert set(measuring) == {"balances", "transactions"}
    assert f"balances: {measuring['balances']}" in done.output.replace("\n", " ")
