"""Inputs too large to measure at once are measured in parts, with the same answers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.sample import write_sample
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, as_parquet, txn_rows, write_csv

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


def same(job: Job, rows_per_part: int, said: str = " parts,") -> None:
    whole = run(job)
    job.rows_per_part = rows_per_part
    details = Details()
    parted = run(job, details)
    assert said in details.said["compute"]  # it did measure in parts (or whole)
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


def test_parquet_in_key_order_is_measured_whole_however_large(tmp_path: Path) -> None:
    """Parquet rows are counted from the files' metadata (too many for one part here),
    but an export in key order is measured whole by the pass that holds no rows."""
    write_sample(tmp_path / "s", 400, "parquet", seed=9)
    job = Job(str(tmp_path / "s" / "balances"), str(tmp_path / "s" / "transactions"), H1)
    same(job, 5_000, said="balances whole, transactions whole,")


def test_parquet_out_of_key_order_is_measured_in_parts(tmp_path: Path) -> None:
    """Shuffled balances and transactions with an id twice cannot be measured without
    holding their rows: they go in parts, with the same results."""
    write_sample(tmp_path / "s", 400, "parquet", seed=9)
    for name in ("balances", "transactions"):
        path = next((tmp_path / "s" / name).glob("*.parquet"))
        frame = pl.read_parquet(path)
        if name == "balances":
            frame = frame.sample(fraction=1.0, shuffle=True, seed=3)
        else:
            frame = pl.concat([frame, frame.head(1)])  # the first id again, at the end
        frame.write_parquet(path)
    job = Job(str(tmp_path / "s" / "balances"), str(tmp_path / "s" / "transactions"), H1)
    assert run(job).summary["rows"]["transactions"]["duplicate"] == 1
    same(job, 5_000, said="balances in 6 parts, transactions in 6 parts,")


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


def test_parquet_whole_folds_again_with_unmapped_products_unseen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Measured whole, sums that may overflow 64 bits are folded again with 128-bit
    sums, and balances of an unmapped product the first look did not see are counted
    by reading their accounts again: both stay whole, with the results of parts."""
    from tierscore.scoring import measures

    monkeypatch.setattr(measures, "FIRST_ROWS", 1)
    big = "999999999999999.00"
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, [
        ("BIG", "A", "CURRENT", "2025-12-31", big), ("BIG", "B", "TIME", "2025-12-31", big),
        ("BIG", "C", "ODD", "2025-12-31", "5.00"), ("SMALL", "D", "CURRENT", "2025-12-31", "1.00"),
    ])  # fmt: skip
    txns = [("BIG", "2026-02-01", "POS", big), ("SMALL", "2026-02-01", "POS", "3.00")]
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, txn_rows(txns))
    job = Job(as_parquet(bal), as_parquet(txn), H1)
    same(job, 2, said="balances whole, transactions whole,")
    result = run(job)
    scored = result.scores.filter(pl.col("customer_id") == "BIG")
    assert str(scored["card_spending_amount"].item()) == big
    assert result.summary["unmapped_codes"]["balances"] == {"ODD": 1}
