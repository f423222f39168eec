"""``--engine spark`` writes and reads the same 积数 ledger as the polars engine.

The sample data is cut into six month exports (the first holding every earlier row),
with rows added that take every path of a month's measuring: a joint account carried
across months, an unmapped product carried as such, a duplicate, a conflict, a bad
date, an export row before a month the ledger carries into (outside), an account
closed mid-month, and account ids wrapped in white space Spark's own ``trim`` leaves
(an ideographic space, a tab): their rows must still meet their carried balances.
The shared session measures in two tasks, so customers' accounts fall in both.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from .conftest import tierscore_here

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]
FILES = ("balances.parquet", "transactions.parquet", "closing.parquet", "carried.parquet",
         "accounts.parquet", "rejects.parquet", "account_days.parquet",
         "total_balances.parquet", "total_transactions.parquet")  # fmt: skip
ADDED_BALANCES = {
    "2026-01": ["C0009,C0009-E,CURRENT,2025-12-20,1000.00"],
    "2026-02": [
        "C0011,C0011-B,CURRENT,2026-02-30,5.00",  # no such day: rejected
        "C0005,J1,CURRENT,2026-02-05,1000.00",  # a joint account, carried into March
        "C0006,J1,CURRENT,2026-02-05,1000.00",
        "C0012,C0012-D,CURRENT,2026-02-03,70.00",  # twice: a duplicate
        "C0012,C0012-D,CURRENT,2026-02-03,70.00",
        "C0013,C0013-X,CURRENT,2026-02-04,10.00",  # one account and day, two balances
        "C0013,C0013-X,CURRENT,2026-02-04,20.00",
        "C0014,C0014-Z,ZZ_UNKNOWN,2026-02-06,100.00",  # unmapped, carried as such
    ],
    "2026-03": [
        "C0005,J1,CURRENT,2026-03-10,500.00",
        "C0006,J1,CURRENT,2026-03-10,500.00",
        "C0009,C0009-E,CURRENT,2025-12-15,5.00",  # before the ledger's carry: outside
    ],
    "2026-04": ["C0015,C0015-Q,CURRENT,2026-04-02,800.00"],
    "2026-05": ["C0015,C0015-Q,CURRENT,2026-05-15,0.00"],  # closed mid-month
}
ADDED_TRANSACTIONS = {
    "2026-02": [
        "C0020,T9001,2026-02-10,POS,100.00,,",
        "C0020,T9001,2026-02-10,POS,100.00,,",  # a duplicate
        "C0021,T9002,2026-02-11,POS,50.00,,",
        "C0021,T9002,2026-02-11,POS,60.00,,",  # a conflict
        "C0022,T9003,2026-02-12,ZZ_TYPE,10.00,,",  # unmapped
        "C0023,T9004,2026-02-13,POS,x1,,",  # rejected
    ],
}
WRAPPED = 12  # April rows of accounts carried from March, their ids in white space


def _lines(path: Path) -> tuple[str, list[str]]:
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    return header, rows


def _cut(folder: Path) -> dict[str, dict[str, Path]]:
    """The sample as month exports (see the module's docstring), by month and input."""
    folder.mkdir()
    out: dict[str, dict[str, Path]] = {m: {} for m in MONTHS}
    added = {"balances": ADDED_BALANCES, "transactions": ADDED_TRANSACTIONS}
    for name in ("balances", "transactions"):
        header, rows = _lines(SAMPLE / f"{name}.csv")
        dated = [(r.split(",")[3 if name == "balances" else 2][:7], r) for r in rows]
        for month in MONTHS:
            first = month == MONTHS[0]  # and every row before it
            mine = [r for m, r in dated if m == month or (first and m < month)]
            mine += added[name].get(month, [])
            if name == "balances" and month == "2026-04":
                mine = _wrapped(mine, out)
            out[month][name] = folder / f"{name}-{month}.csv"
            out[month][name].write_text("\n".join([header, *mine]) + "\n", encoding="utf-8")
    return out


def _wrapped(rows: list[str], earlier: dict[str, dict[str, Path]]) -> list[str]:
    """April's rows with the ids of ``WRAPPED`` accounts carried into it wrapped in an
    ideographic space and a tab (the polars engine trims both; Spark's trim neither)."""
    before = {r.split(",")[1] for m in MONTHS[:3] for r in _lines(earlier[m]["balances"])[1]}
    chosen = sorted({r.split(",")[1] for r in rows} & before)[:WRAPPED]
    assert len(chosen) == WRAPPED
    out = []
    for row in rows:
        cells = row.split(",")
        if cells[1] in chosen:
            cells[1] = f"\u3000{cells[1]}\t"
        out.append(",".join(cells))
    return out


def _accumulate(exports: dict[str, Path], month: str, ledger: Path, *engine: str) -> None:
    done = tierscore_here("accumulate", "--balances", exports["balances"], "--transactions",
                          exports["transactions"], "--month", month, "--ledger", ledger,
                          *engine)  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def ledgers(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The months accumulated on Spark (``spark``) and on polars (``polars``), by the CLI."""
    root = tmp_path_factory.mktemp("spark_ledger")
    exports = _cut(root / "exports")
    for month in MONTHS:
        _accumulate(exports[month], month, root / "spark", "--engine", "spark")
        _accumulate(exports[month], month, root / "polars")
    return {"exports": exports, "spark": root / "spark", "polars": root / "polars", "root": root}


def _same_entry(one: Path, other: Path) -> None:
    """Two entries of a month hold the same frames (folds in any row order) and manifest."""
    for name in FILES:
        a, b = pl.read_parquet(one / name), pl.read_parquet(other / name)
        assert a.schema == b.schema, (one, name)
        assert a.sort(a.columns, nulls_last=True).equals(b.sort(b.columns, nulls_last=True)), (
            one,
            name,
        )
        if name in ("carried.parquet", "accounts.parquet"):
            assert a.equals(b), (one, name)  # in the same order too (the closing's is none)
    manifests = [json.loads((p / "manifest.json").read_text()) for p in (one, other)]
    # each accumulation has an id of its own; the totals add up as many months
    ids = [(m.pop("entry_id"), m.pop("total_of")) for m in manifests]
    for manifest in manifests:  # a name, not a digest, is each ledger's own (random)
        for key in ("closing_id", "carried_id"):
            if manifest[key].startswith("id:"):
                manifest[key] = "a name"
    assert all(total_of[-1] == entry_id for entry_id, total_of in ids)
    assert len(ids[0][1]) == len(ids[1][1])
    assert manifests[0] == manifests[1]


@pytest.mark.spark
def test_spark_writes_the_entries_polars_writes(ledgers: dict[str, Any]) -> None:
    for month in MONTHS:
        entry = f"month={month}"
        _same_entry(ledgers["spark"] / entry, ledgers["polars"] / entry)
    feb = pl.read_parquet(ledgers["spark"] / "month=2026-02" / "accounts.parquet")
    assert feb.rows() == [("J1", "joint")]
    march = json.loads((ledgers["spark"] / "month=2026-03" / "manifest.json").read_text())
    assert march["rows"]["balances"]["outside_window"] >= 1  # C0009-E's row of December
    assert march["carried_from"] == "ledger"
    carried = pl.read_parquet(ledgers["spark"] / "month=2026-03" / "carried.parquet")
    assert carried.filter(pl.col("_code") == "ZZ_UNKNOWN").height == 1
    # the wrapped ids met their carried balances: no account is closed twice in April
    closing = pl.read_parquet(ledgers["spark"] / "month=2026-04" / "closing.parquet")
    assert not closing.select("account_id", "customer_id").is_duplicated().any()
    assert not closing["account_id"].str.contains("\u3000|\t").any()


def _score(out: Path, *args: str | Path) -> dict[str, bytes]:
    done = tierscore_here("score", "--period", "2026H1", "--out", out, "--no-report", *args)
    assert done.returncode == 0, done.stderr
    return {n: (out / n).read_bytes() for n in ("scores.csv", "summary.json", "rejects.csv")}


@pytest.mark.spark
def test_either_ledger_scored_on_either_engine_is_the_direct_run(
    ledgers: dict[str, Any], tmp_path: Path
) -> None:
    exports = ledgers["exports"]
    inputs: list[str | Path] = []
    for month in MONTHS:
        inputs += ["--balances", exports[month]["balances"]]
        inputs += ["--transactions", exports[month]["transactions"]]
    direct = _score(tmp_path / "direct", *inputs)
    on_spark = _score(tmp_path / "s", "--ledger", ledgers["spark"], "--engine", "spark")
    on_polars = _score(tmp_path / "p", "--ledger", ledgers["polars"])
    polars_on_spark = _score(tmp_path / "ps", "--ledger", ledgers["polars"], "--engine", "spark")
    for name in ("scores.csv", "summary.json"):
        assert on_spark[name] == direct[name], name
        assert on_polars[name] == direct[name], name
        assert polars_on_spark[name] == direct[name], name
    assert on_spark["rejects.csv"] == on_polars["rejects.csv"] == polars_on_spark["rejects.csv"]
    summary = json.loads(direct["summary.json"])
    assert summary["rows"]["balances"]["duplicate"] >= 1
    assert summary["rows"]["balances"]["rejected"] >= 3  # the bad date and the conflict
    assert summary["rows"]["transactions"]["duplicate"] >= 1


@pytest.mark.spark
def test_a_ledger_of_both_engines_months(ledgers: dict[str, Any]) -> None:
    """Polars months carried into Spark months and back: the same entries, nothing stale,
    and re-accumulating a month on the other engine changes no later month."""
    mixed = ledgers["root"] / "mixed"
    mixed.mkdir()
    shutil.copy(ledgers["polars"] / "ledger.json", mixed / "ledger.json")
    for month in MONTHS[:2]:
        shutil.copytree(ledgers["polars"] / f"month={month}", mixed / f"month={month}")
    exports = ledgers["exports"]
    for month in MONTHS[2:]:
        engine = ["--engine", "spark"] if month in ("2026-03", "2026-04") else []
        _accumulate(exports[month], month, mixed, *engine)
    _accumulate(exports["2026-05"], "2026-05", mixed, "--engine", "spark")
    for month in MONTHS:
        _same_entry(mixed / f"month={month}", ledgers["polars"] / f"month={month}")
    status = tierscore_here("ledger", "status", mixed, "--json")
    assert status.returncode == 0, status.stderr
    assert not any(m["stale"] for m in json.loads(status.stdout)["months"])


def test_spark_usage_errors_stop_before_spark(tmp_path: Path) -> None:
    """No session is needed to refuse these (exit 2): nothing is written either."""
    bal, txn = SAMPLE / "balances.csv", SAMPLE / "transactions.csv"
    args = ["accumulate", "--balances", bal, "--transactions", txn, "--month", "2026-01",
            "--ledger", tmp_path / "led"]  # fmt: skip
    for extra, key in (
        (["--spark-conf", "spark.master=local[1]"], "--spark-conf"),
        (["--engine", "spark", "--spark-conf", "novalue"], "--spark-conf"),
        (["--engine", "duckdb"], "--engine"),
    ):
        done = tierscore_here(*args, *extra)
        assert done.returncode == 2 and key in done.stderr, done.stderr
    assert not (tmp_path / "led").exists()
    empty = tmp_path / "empty"
    assert tierscore_here(*args[:-1], empty, "--to", "2026-02-03").returncode == 2
    done = tierscore_here("score", "--ledger", empty, "--period", "2026H1", "--out",
                          tmp_path / "out", "--engine", "spark")  # fmt: skip
    assert done.returncode == 2 and "ledger" in done.stderr
    assert not (tmp_path / "out").exists()


def test_merged_fold_adds_up_tasks_as_one_fold() -> None:
    """A customer's sums from two tasks are one group; codes add up; conflicts stay
    apart; a sum beyond 64 bits makes every component 128-bit, never wraps."""
    from tierscore.scoring.spark_ledger import merged_fold

    schema = pl.Schema({"customer_id": pl.String, "_conflict_file": pl.UInt16,
                        "_conflict_line": pl.Int64, "a": pl.Int64, "b": pl.Int64,
                        "_n_used": pl.UInt32, "_conflict_value": pl.String, "_code": pl.String,
                        "_code_rows": pl.Int64})  # fmt: skip
    one = pl.DataFrame(
        {"customer_id": ["C1", "C2", None, "C1"], "a": [1, 2, None, 5], "b": [2**62, 0, None, 0],
         "_n_used": [1, 1, None, 0], "_code": [None, None, "Z", None],
         "_code_rows": [None, None, 2, None], "_conflict_line": [None, None, None, 7],
         "_conflict_file": [None, None, None, 0], "_conflict_value": [None, None, None, "x"]},
        schema_overrides=schema,
    )  # fmt: skip
    other = one.head(3)
    merged = merged_fold([one, other], schema, ["a", "b"])
    assert merged.schema == pl.Schema({**schema, "a": pl.Int128, "b": pl.Int128})
    c1 = merged.filter(pl.col("customer_id") == "C1", pl.col("_conflict_line").is_null())
    assert c1.select("a", "b", "_n_used").row(0) == (2, 2**63, 2)
    assert merged.filter(pl.col("_code") == "Z")["_code_rows"].to_list() == [4]
    assert merged.filter(pl.col("_conflict_line") == 7)["a"].to_list() == [5]
    small = merged_fold([other.with_columns(pl.lit(1).alias("b"))], schema, ["a", "b"])
    assert small.schema == schema
