"""Fuzzing the whole product as an attacker would: hostile cells and whole hostile files.

Whatever the input, a run ends in a decision the operator can act on (exit 0, 2 or 3,
never 1, the code for our own bugs), and every row read is accounted for exactly once:
read = used + excluded + unmapped + outside_window + duplicate + rejected.
"""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierscore.cli.errors import _outcome
from tierscore.cli.main import app

from .conftest import examples

BAL_HEADER = ("customer_id", "account_id", "product", "date", "balance")
TXN_HEADER = ("customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio")
STATUSES = ("used", "excluded", "unmapped", "outside_window", "duplicate", "rejected")

# Cells a bank export really holds, and cells an attacker (or a broken export) adds.
GOOD = {
    "customer_id": ["C1", "C2", " C3 ", "客户1"],
    "account_id": ["A1", "A2", "A3"],
    "txn_id": ["T1", "T2", "T3", "T4"],
    "product": ["CURRENT", "TIME", "MMF", "UNKNOWN"],
    "txn_type": ["POS", "INTERBANK_REMIT", "MMF_BUY", "NEW_CODE"],
    "date": ["2026-01-05", "2025-12-31", "20260301", "2026/06/30", "2026-07-01 10:00:00"],
    "balance": ["0", "100.5", "123456789012345.99", "1000"],
    "amount": ["0.01", "5000", "10000.00", "99999999"],
    "fee": ["", "25.00", "0"],
    "fee_ratio": ["", "0.5", "1", "0.333333"],
}
HOSTILE = [
    "",
    " ",
    "１２３",  # full-width digits
    "١٢٣",  # Arabic-Indic digits
    "1,000.00",
    '"1,000.00"',
    '"unbalanced',
    'a"b',
    "1e30",
    "NaN",
    "-0",
    "−5",  # U+2212
    "9" * 40,
    "0.001",
    '=HYPERLINK("http://x","y")',
    "\t1",
    "2026-02-30",
    "\u200b",
    "a\nb",
    "\x00",
    "x" * 300,
]


def _cell(column: str) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(GOOD[column]),
        st.sampled_from(HOSTILE),
        st.text(max_size=12),
    )


def _row(header: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.tuples(*(_cell(c) for c in header)).map(list)


def _quoted(cell: str) -> str:
    """Cells with a separator, quote or newline are quoted the CSV way, usually; sometimes
    they are written raw, as a broken export would."""
    if any(ch in cell for ch in ',"\n\r'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def _csv(header: tuple[str, ...], rows: list[list[str]], raw: list[bool]) -> bytes:
    lines = [",".join(header)]
    for row, as_is in zip(rows, raw, strict=True):
        lines.append(",".join(cell if as_is else _quoted(cell) for cell in row))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _score(tmp: Path, balances: bytes, transactions: bytes) -> tuple[int, Path]:
    (tmp / "bal.csv").write_bytes(balances)
    (tmp / "txn.csv").write_bytes(transactions)
    out = tmp / "out"
    args = ["score", "--balances", str(tmp / "bal.csv"), "--transactions", str(tmp / "txn.csv")]
    args += ["--period", "2026H1", "--out", str(out), "--max-reject-rate", "1", "--quiet"]
    args += ["--no-report"]
    code = _outcome(lambda: app(args, prog_name="tierscore"), verbose=False)
    return code, out


def _assert_accounted(out: Path) -> None:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name, counts in manifest["counts"]["rows"].items():
        assert counts["read"] == sum(counts[s] for s in STATUSES), (name, counts)


def _checked(tmp: Path, balances: bytes, transactions: bytes) -> int:
    code, out = _score(tmp, balances, transactions)
    assert code in (0, 2, 3), f"exit {code}"
    if code in (0, 3):
        _assert_accounted(out)
    return code


# Each example is a whole run of the command: the share ``conftest.examples`` gives
# (all 60 with TIERSCORE_THOROUGH=1), as for the other whole-pipeline property tests.
FUZZ = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    bal=st.lists(_row(BAL_HEADER), min_size=0, max_size=6),
    txn=st.lists(_row(TXN_HEADER), min_size=0, max_size=6),
    data=st.data(),
)
def test_hostile_cells_never_crash_and_every_row_is_counted(
    tmp_path_factory, bal: list[list[str]], txn: list[list[str]], data: st.DataObject
) -> None:
    tmp = tmp_path_factory.mktemp("cells")
    raw_bal = data.draw(st.lists(st.booleans(), min_size=len(bal), max_size=len(bal)))
    raw_txn = data.draw(st.lists(st.booleans(), min_size=len(txn), max_size=len(txn)))
    _checked(tmp, _csv(BAL_HEADER, bal, raw_bal), _csv(TXN_HEADER, txn, raw_txn))


@FUZZ
@given(blob=st.binary(max_size=400), keep_header=st.booleans())
def test_hostile_files_never_crash(tmp_path_factory, blob: bytes, keep_header: bool) -> None:
    tmp = tmp_path_factory.mktemp("files")
    good_txn = _csv(TXN_HEADER, [["C1", "T1", "2026-01-05", "POS", "10", "", ""]], [False])
    balances = (",".join(BAL_HEADER) + "\n").encode() + blob if keep_header else blob
    _checked(tmp, balances, good_txn)


def test_the_fuzzer_scores_a_clean_file(tmp_path: Path) -> None:
    """The harness itself works: a clean export scores with exit 0 and counts add up."""
    bal = _csv(BAL_HEADER, [["C1", "A1", "CURRENT", "2026-01-01", "100.00"]], [False])
    txn = _csv(TXN_HEADER, [["C1", "T1", "2026-01-05", "POS", "10", "", ""]], [False])
    assert _checked(tmp_path, bal, txn) == 0
    scores = (tmp_path / "out" / "scores.csv").read_text(encoding="utf-8")
    assert scores.startswith("customer_id,") and "\nC1," in scores
