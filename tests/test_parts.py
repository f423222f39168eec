"""Inputs too large to measure at once are measured in parts, with the same answers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.sample import write_sample
from tierscore.scoring.window import parse_window

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
H1 = parse_window("2026H1")


class Details:
    """Keeps what each stage said when it finished."""

    def __init__(self) -> None:
        self.said: dict[str, str] = {}

    def started(self, stage: str, detail: str) -> None:
        pass

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        self.said[stage] = detail


def same(job: Job, rows_per_part: int) -> None:
    whole = run(job)
    job.rows_per_part = rows_per_part
    details = Details()
    parted = run(job, details)
    assert " parts," in details.said["compute"]  # it did measure in parts
    assert parted.scores.equals(whole.scores)
    assert parted.rejects.equals(whole.rejects)
    assert parted.summary == whole.summary


@pytest.mark.parametrize("rows_per_part", [700, 2_500])  # 15 and 4 parts
def test_sample_data_in_parts(rows_per_part: int) -> None:
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"), H1)
    job.customers = str(SAMPLE / "customers.csv")
    same(job, rows_per_part)


def test_duplicates_and_conflicts_meet_across_parts(tmp_path: Path) -> None:
    """Repeated transaction ids of different customers land in one part; an account's
    rows in one part (its balance-days need them together)."""
    bal = tmp_path / "bal.csv"
    txn = tmp_path / "txn.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance\n"
        + "".join(
            f"C{i % 37},A{i % 53},CURRENT,2026-0{1 + i % 6}-0{1 + i % 9},{i}.00\n"
            for i in range(600)
        )
        + "C1,A1,CURRENT,2026-01-01,1.00\nC1,A1,CURRENT,2026-01-01,1.00\n",
        encoding="utf-8",
    )
    txn.write_text(
        "customer_id,txn_id,date,txn_type,amount\n"
        + "".join(f"C{i % 41},T{i % 450},2026-03-0{1 + i % 9},POS,{i}.00\n" for i in range(600))
        + "C2,T9999,2026-03-01,POS,5.00\nC3,T9999,2026-03-01,POS,5.00\n",
        encoding="utf-8",
    )
    job = Job(str(bal), str(txn), H1)
    whole = run(job)
    assert whole.summary["rows"]["transactions"]["rejected"] > 0  # T9999 and others conflict
    same(job, 100)


def test_parquet_parts_counted_from_metadata(tmp_path: Path) -> None:
    write_sample(tmp_path / "s", 400, "parquet", seed=9)
    job = Job(str(tmp_path / "s" / "balances"), str(tmp_path / "s" / "transactions"), H1)
    same(job, 5_000)


def test_sums_too_large_for_64_bits_in_parts(tmp_path: Path) -> None:
    """A part whose sums may overflow 64 bits is folded again with 128-bit sums."""
    bal = tmp_path / "bal.csv"
    bal.write_text(
        "customer_id,account_id,product,date,balance\n"
        "BIG,A,CURRENT,2025-12-31,999999999999999.00\n"
        "BIG,B,TIME,2025-12-31,999999999999999.00\n"
        "SMALL,C,CURRENT,2025-12-31,1.00\n",
        encoding="utf-8",
    )
    txn = tmp_path / "txn.csv"
    txn.write_text(
        "customer_id,txn_id,date,txn_type,amount\nBIG,T1,2026-02-01,POS,999999999999999.00\n",
        encoding="utf-8",
    )
    job = Job(str(bal), str(txn), H1)
    same(job, 2)
    job.rows_per_part = 2
    big = run(job).scores.filter(pl.col("customer_id") == "BIG")
    assert str(big["short_term_assets_amount"].item()) == "999999999999999.00"
