"""Trust in values (issue #17): a cell that is not plain ASCII in a documented form is
rejected with its line and reason, never read as some other number; a typed value
too large for the documented range is rejected per row, never wrapped or rounded."""

from __future__ import annotations

import re
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.validate import BALANCE_PARSERS, check, parse_money
from tierscore.scoring.window import parse_window

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here, write_csv

H1 = parse_window("2026H1")

# C1's good rows: every test adds bad rows of C1 and checks that C1 scores as before
GOOD_BAL = [("C1", "A0", "CURRENT", "2025-12-31", "100000.00")]
GOOD_TXN = [("C1", "T0", "2026-03-05", "POS", "100.00", "", "")]

# Text that is not a plain ASCII decimal: each is rejected, never read as a number
NOT_NUMBERS = [
    "１２３",  # full-width digits: was 92,233,720,368,547,758.07 yuan as an amount
    "١٢٣",  # Arabic-Indic
    "۱۲۳",  # extended Arabic-Indic
    "१२३",  # Devanagari
    "𝟙𝟚𝟛",  # mathematical double-struck
    "²",  # superscript
    "١٢٣.٤٥",
    "12３",  # one full-width digit among ASCII ones
    "−5",  # U+2212 minus sign
    "－5",  # full-width hyphen-minus
    "＋5",
    "5．00",  # full-width full stop
    "1e3",
    "0x10",
    "1_000",
    '"1,000"',
    ".5",
    "12 3",
    "5\u200b",  # zero-width space
    "\u200b5",
    "Infinity",
    "NaN",
    "+-5",
    "5-",
    "1.2.3",
    "¥5",
]


def _run(tmp_path: Path, bal: list[Any], txn: list[Any], name: str = "") -> Result:
    b = write_csv(tmp_path / f"bal{name}.csv", BAL_COLUMNS, bal)
    t = write_csv(tmp_path / f"txn{name}.csv", TXN_COLUMNS, txn)
    return run(Job(str(b), str(t), H1))


def _rejects(result: Result) -> dict[tuple[str, int, str], str]:
    return {(Path(f).name, line, c): why for f, line, c, _, why in result.rejects.rows()}


def _scores(result: Result) -> dict[str, dict[str, Any]]:
    return {r["customer_id"]: r for r in result.scores.iter_rows(named=True)}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """C1's scores row from its good rows alone."""
    result = _run(tmp_path_factory.mktemp("baseline"), GOOD_BAL, GOOD_TXN)
    return _scores(result)["C1"]


def _bad_txn(column: str, value: str, i: int) -> tuple[str, ...]:
    row = {"amount": "1.00", "fee": "", "fee_ratio": "", column: value}
    return ("C1", f"T{i + 1}", "2026-03-05", "POS", row["amount"], row["fee"], row["fee_ratio"])


@pytest.mark.parametrize("column", ["balance", "amount", "fee", "fee_ratio"])
def test_unicode_and_odd_numbers_are_rejected_from_csv(
    tmp_path: Path, baseline: dict[str, Any], column: str
) -> None:
    many = "9" * 16 if column != "fee_ratio" else "9" * 13  # a ratio has 12 digits at most
    cases = [(v, "not a number") for v in NOT_NUMBERS] + [(many, "too large")]
    decimals = 6 if column == "fee_ratio" else 2
    cases.append(("0." + "0" * decimals + "1", f"more than {decimals} decimal places"))
    if column == "balance":
        bal = GOOD_BAL + [
            ("C1", f"A{i + 1}", "CURRENT", "2025-12-31", v) for i, (v, _) in enumerate(cases)
        ]
        txn, file = GOOD_TXN, "bal.csv"
    else:
        bal = GOOD_BAL
        txn = GOOD_TXN + [_bad_txn(column, v, i) for i, (v, _) in enumerate(cases)]
        file = "txn.csv"
    result = _run(tmp_path, bal, txn)
    expected = {(file, i + 3, column): why for i, (_, why) in enumerate(cases)}
    assert _rejects(result) == expected
    shown = {line: value for _, line, _, value, _ in result.rejects.rows()}
    assert shown[3] == "１２３"  # the cell as written
    assert _scores(result) == {"C1": baseline}


ACCEPTED = [  # text -> yuan; trimming spaces around a cell never changes its digits
    ("+5", "5.00"),
    ("5.", "5.00"),
    (" 5 ", "5.00"),
    ("\t5\t", "5.00"),
    ("\u00a05", "5.00"),  # no-break space
    ("\u30005", "5.00"),  # ideographic space
    ("1.230", "1.23"),
    ("0000000000000000000012.30", "12.30"),  # zero-padded past 15 digits
    ("999999999999999.99", "999999999999999.99"),
    ("7.00000000000000000000000000000000000000000000", "7.00"),
]


def test_documented_forms_are_read_exactly(tmp_path: Path) -> None:
    bal = [
        (f"B{i}", f"A{i}", "CURRENT", "2025-12-31", text) for i, (text, _) in enumerate(ACCEPTED)
    ]
    txn = [
        (f"T{i}", f"X{i}", "2026-03-05", "POS", text, "", "")
        for i, (text, _) in enumerate(ACCEPTED)
    ]
    result = _run(tmp_path, bal, txn)
    assert result.rejects.height == 0
    got = _scores(result)
    for i, (_, yuan) in enumerate(ACCEPTED):
        assert got[f"B{i}"]["short_term_assets_amount"] == D(yuan)
        assert got[f"T{i}"]["card_spending_amount"] == D(yuan)


def test_a_huge_fee_ratio_is_rejected_not_a_crash(tmp_path: Path, baseline: dict[str, Any]) -> None:
    """15 integer digits in millionths are beyond 64 bits: this stopped the whole run."""
    txn = [*GOOD_TXN, _bad_txn("fee_ratio", "999999999999999", 0)]
    result = _run(tmp_path, GOOD_BAL, txn)
    assert _rejects(result) == {("txn.csv", 3, "fee_ratio"): "too large"}
    assert _scores(result) == {"C1": baseline}


BAD_DATES = [
    "２０２６-01-05",
    "٢٠٢٦-01-05",
    "2026-0١-05",
    "+2026-01-05",
    "-2026-01-05",
    "2026- 1-05",
    "2026 -01-05",
    "2026035",  # 7 digits: was 2026-03-05
    "202601050",
    "+20260105",
    "２０２６０１０５",
    "2026-01-05  10:00:00",
    "2026-01-05\t10:00:00",
    "2026-01-05 10:00",
    "2026-01-05T10:00:00Z",
    "2026/01-05",
    "2026-01-05x",
]
GOOD_DATES = ["2026-01-05", "2026-1-5", "2026/1/5", "2026/01/05", "20260105",
              "2026-01-05 10:00:00", "2026-01-05T10:00:00", " 2026-01-05 "]  # fmt: skip


def test_dates_only_in_documented_forms(tmp_path: Path, baseline: dict[str, Any]) -> None:
    txn = GOOD_TXN + [
        ("C1", f"T{i + 1}", day, "POS", "1.00", "", "") for i, day in enumerate(BAD_DATES)
    ]
    txn += [(f"G{i}", f"G{i}", day, "POS", "7.00", "", "") for i, day in enumerate(GOOD_DATES)]
    result = _run(tmp_path, GOOD_BAL, txn)
    expected = {("txn.csv", i + 3, "date"): "not a valid date" for i in range(len(BAD_DATES))}
    assert _rejects(result) == expected
    got = _scores(result)
    assert got.pop("C1") == baseline
    assert {k: r["card_spending_amount"] for k, r in got.items()} == {
        f"G{i}": D("7.00") for i in range(len(GOOD_DATES))
    }


def test_ids_with_nothing_visible_are_empty(tmp_path: Path, baseline: dict[str, Any]) -> None:
    invisible = ["\u200b", "\ufeff", "\u00a0\u200b", "\u3000", "\u2060"]
    bal = GOOD_BAL + [(c, "A9", "CURRENT", "2025-12-31", "5.00") for c in invisible]
    bal += [("C1", c, "CURRENT", "2025-12-31", "5.00") for c in invisible]
    result = _run(tmp_path, bal, GOOD_TXN)
    n = len(invisible)
    expected = {("bal.csv", i + 3, "customer_id"): "empty customer_id" for i in range(n)}
    expected |= {("bal.csv", i + 3 + n, "account_id"): "empty account_id" for i in range(n)}
    assert _rejects(result) == expected
    assert _scores(result) == {"C1": baseline}


# --- typed (Parquet) inputs ---------------------------------------------------------

TOO_LARGE = "too large"
TYPED_BALANCES = [  # dtype, good value (100000 yuan), [(bad value, reason)]
    (pl.UInt64, 100000, [(2**64 - 1, TOO_LARGE), (2**63, TOO_LARGE), (10**15, TOO_LARGE)]),
    (
        pl.Int64,
        100000,
        [
            (2**63 - 1, TOO_LARGE),
            (10**17, TOO_LARGE),
            (92233720368547759, TOO_LARGE),
            (10**15, TOO_LARGE),
            (-(2**63), TOO_LARGE),
        ],
    ),
    (pl.Int32, 100000, [(-1, "negative balance")]),
    (
        pl.Decimal(38, 2),
        D("100000.00"),
        [
            (D("1" * 30 + ".00"), TOO_LARGE),
            (D("9" * 36 + ".99"), TOO_LARGE),
            (D("1000000000000000.00"), TOO_LARGE),
            (D("-1000000000000000.01"), TOO_LARGE),
        ],
    ),
    (pl.Decimal(38, 0), D("100000"), [(D("9" * 38), TOO_LARGE), (D("9" * 16), TOO_LARGE)]),
    (pl.Decimal(18, 2), D("100000.00"), [(D("9999999999999999.99"), TOO_LARGE)]),
    (
        pl.Decimal(38, 10),
        D("100000"),
        [(D("1.0000000001"), "more than 2 decimal places"), (D("1" * 20), TOO_LARGE)],
    ),
    (
        pl.Float64,
        100000.0,
        [
            (float("nan"), "not a finite number"),
            (float("inf"), "not a finite number"),
            (float("-inf"), "not a finite number"),
            (1e300, TOO_LARGE),
            (1e15, TOO_LARGE),
            (2.0**45, "too large to be exact in a float column"),
            (12345.678, "more than 2 decimal places"),
            (0.1 + 0.2, "more than 2 decimal places"),
        ],
    ),
    (
        pl.Float32,
        100000.0,
        [
            (200000.01, "too large to be exact in a float column"),
            (1.005, "more than 2 decimal places"),
        ],
    ),
]


def _write_balances(path: Path, dtype: pl.DataType, good: object, bad: list[object]) -> Path:
    n = len(bad)
    frame = pl.DataFrame(
        {
            "customer_id": pl.Series(["C1"] * (n + 1)),
            "account_id": pl.Series([f"A{i}" for i in range(n + 1)]),
            "product": pl.Series(["CURRENT"] * (n + 1)),
            "date": pl.Series(["2025-12-31"] * (n + 1)).str.to_date(),
            "balance": pl.Series([good, *bad], dtype=dtype),
        }
    )
    assert frame.schema["balance"] == dtype
    frame.write_parquet(path)
    return path


@pytest.mark.parametrize(("dtype", "good", "bad"), TYPED_BALANCES, ids=lambda x: str(x)[:20])
def test_typed_balances_out_of_range_are_rejected_per_row(
    tmp_path: Path, baseline: dict[str, Any], dtype: pl.DataType, good: object, bad: list[Any]
) -> None:
    bal = _write_balances(tmp_path / "bal.parquet", dtype, good, [v for v, _ in bad])
    assert pl.read_parquet(bal).schema["balance"] == dtype
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, GOOD_TXN)
    result = run(Job(str(bal), str(txn), H1))
    expected = {("bal.parquet", i + 1, "balance"): why for i, (_, why) in enumerate(bad)}
    assert _rejects(result) == expected  # Parquet lines are 0-based row indices
    assert _scores(result) == {"C1": baseline}


@pytest.mark.parametrize(
    ("dtype", "amount", "ratio", "reason"),
    [
        (pl.UInt64, 2**64 - 1, 0, ("amount", TOO_LARGE)),
        (pl.Int64, 2**63 - 1, 0, ("amount", TOO_LARGE)),
        (pl.UInt64, 1, 2**64 - 1, ("fee_ratio", TOO_LARGE)),
        (pl.Int64, 1, 10**12, ("fee_ratio", TOO_LARGE)),  # millionths past 64 bits
        (pl.Int64, 1, 10**12 - 1, ("fee_ratio", "fee_ratio outside [0, 1]")),
        (pl.Decimal(38, 6), D("1"), D("9" * 32), ("fee_ratio", TOO_LARGE)),
        (pl.Decimal(38, 7), D("1"), D("0.5000001"), ("fee_ratio", "more than 6 decimal places")),
        (pl.Decimal(38, 2), D("1" * 30), D("0.5"), ("amount", TOO_LARGE)),
        (pl.Float64, 1.0, 1e19, ("fee_ratio", TOO_LARGE)),
        (pl.Float64, 1.0, 2.0**33, ("fee_ratio", "too large to be exact in a float column")),
        (pl.Float64, 1.0, 0.1234567, ("fee_ratio", "more than 6 decimal places")),
        (pl.Float64, -0.0, 0.5, ("amount", "amount must be > 0")),
    ],
)
def test_typed_transactions_out_of_range_are_rejected(
    tmp_path: Path, baseline: dict[str, Any], dtype: pl.DataType, amount: Any, ratio: Any,
    reason: tuple[str, str],
) -> None:  # fmt: skip
    good_amount = D("100") if isinstance(dtype, pl.Decimal) else 100
    frame = pl.DataFrame(
        {
            "customer_id": ["C1", "C1"],
            "txn_id": ["T0", "T1"],
            "date": pl.Series(["2026-03-05"] * 2).str.to_date(),
            "txn_type": ["POS", "POS"],
            "amount": pl.Series([good_amount, amount], dtype=dtype),
            "fee": pl.Series([None, None], dtype=dtype),
            "fee_ratio": pl.Series([None, ratio], dtype=dtype),
        }
    )
    txn = tmp_path / "txn.parquet"
    frame.write_parquet(txn)
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, GOOD_BAL)
    result = run(Job(str(bal), str(txn), H1))
    assert _rejects(result) == {("txn.parquet", 1, reason[0]): reason[1]}
    assert _scores(result) == {"C1": baseline}


def test_parquet_id_of_only_spaces_is_empty(tmp_path: Path, baseline: dict[str, Any]) -> None:
    frame = pl.DataFrame(
        {
            "customer_id": ["C1", "   ", "\u200b", "C1"],
            "account_id": ["A0", "A1", "A2", "\ufeff"],
            "product": ["CURRENT"] * 4,
            "date": pl.Series(["2025-12-31"] * 4).str.to_date(),
            "balance": pl.Series([D("100000.00"), D("1"), D("1"), D("1")], dtype=pl.Decimal(18, 2)),
        }
    )
    frame.write_parquet(tmp_path / "bal.parquet")
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, GOOD_TXN)
    result = run(Job(str(tmp_path / "bal.parquet"), str(txn), H1))
    assert _rejects(result) == {
        ("bal.parquet", 1, "customer_id"): "empty customer_id",
        ("bal.parquet", 2, "customer_id"): "empty customer_id",
        ("bal.parquet", 3, "account_id"): "empty account_id",
    }
    assert _scores(result) == {"C1": baseline}


# --- the customers file: gate counts and flags ---------------------------------------


def _gates(tmp_path: Path, people: Path) -> Result:
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, [
        (c, f"{c}-A", "TIME", "2025-12-31", "500000.00") for c in ("OK", "X1", "X2", "X3", "X4")
    ])  # fmt: skip
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [])
    return run(Job(str(bal), str(txn), H1, customers=str(people)))


def test_customer_counts_and_flags_in_ascii_only(tmp_path: Path) -> None:
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,overdue_90d,missed_consecutive,missed_total\n"
        "OK,false,+2,0005\n"  # a sign and leading zeros are plain ASCII: accepted
        "X1,false,３,0\n"  # full-width 3 would block the customer
        "X2,false,0,٦\n"
        "X3,ｙｅｓ,0,0\n"
        "X4,false,0,9999999999999999\n",
        encoding="utf-8",
    )
    result = _gates(tmp_path, people)
    assert _rejects(result) == {
        ("customers.csv", 3, "missed_consecutive"): "not a whole number",
        ("customers.csv", 4, "missed_total"): "not a whole number",
        ("customers.csv", 5, "overdue_90d"): "not true or false",
        ("customers.csv", 6, "missed_total"): TOO_LARGE,
    }
    assert _scores(result)["OK"]["quality"] is True


def test_typed_customer_counts_out_of_range_are_rejected(tmp_path: Path) -> None:
    people = tmp_path / "customers.parquet"
    pl.DataFrame(
        {
            "customer_id": ["OK", "X1", "X2"],
            "overdue_90d": [False, False, False],
            "missed_consecutive": pl.Series([2, 2**64 - 1, 0], dtype=pl.UInt64),
            "missed_total": pl.Series([0, 0, 2**63 - 1], dtype=pl.Int64),
        }
    ).write_parquet(people)
    result = _gates(tmp_path, people)
    assert _rejects(result) == {
        ("customers.parquet", 1, "missed_consecutive"): TOO_LARGE,
        ("customers.parquet", 2, "missed_total"): TOO_LARGE,
    }
    assert _scores(result)["OK"]["quality"] is True


# --- a property: any text in a money cell ---------------------------------------------

FORM = re.compile(r"[+-]?0*[0-9]{1,15}(\.[0-9]{0,2}0*)?")  # what is accepted (README)
BRIEF = re.compile(r"[+-]?[0-9]{1,15}(\.[0-9]{0,2}0*)?")  # the forms every export writes
PIECES = ["0", "5", "9", ".", "+", "-", " ", "１", "٣", "𝟙", "²", "−", "\u00a0", "e", "_", "\u200b"]
money_text = st.one_of(
    st.text(max_size=20),
    st.lists(st.sampled_from(PIECES), max_size=20).map("".join),
    st.from_regex(BRIEF, fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{14,17}(\.[0-9]{0,4})?", fullmatch=True),
)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(money_text, min_size=1, max_size=30))
def test_any_text_in_a_money_cell_is_exact_or_rejected(texts: list[str]) -> None:
    """Either the cell is rejected, or it is in the documented ASCII form and its value
    is exactly Python's Decimal of it; the forms an export writes are all accepted."""
    n = len(texts)
    frame = pl.LazyFrame(
        {
            "_file": pl.Series([0] * n, dtype=pl.UInt16),
            "_line": list(range(n)),
            "customer_id": ["C"] * n,
            "account_id": [f"A{i}" for i in range(n)],
            "product": ["CURRENT"] * n,
            "date": ["2026-01-01"] * n,
            "balance": texts,
        }
    )
    out = check(frame, BALANCE_PARSERS).collect()
    trimmed = pl.Series(texts).str.strip_chars().to_list()  # as a CSV cell is trimmed
    for text, cents, detail in zip(trimmed, out["balance"], out["_detail"], strict=True):
        if detail is None:
            assert FORM.fullmatch(text), text
            assert D(cents) / 100 == D(text)
        else:
            assert cents is None or "negative" in detail
        if BRIEF.fullmatch(text) and D(text) >= 0:
            assert detail is None, (text, detail)


INT_TYPES = [pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64]


def _money(dtype: pl.DataType, values: list[Any]) -> list[tuple[Any, str | None]]:
    """(cents, reason) of each typed value as a balance."""
    parsed = parse_money("x", dtype, positive=False, optional=True)
    frame = pl.DataFrame({"x": pl.Series(values, dtype=dtype)})
    return frame.select(parsed.value.alias("v"), parsed.reason.alias("r")).rows()


@settings(max_examples=100, deadline=None)
@given(data=st.data(), dtype=st.sampled_from(INT_TYPES))
def test_any_typed_integer_is_exact_or_too_large(data: st.DataObject, dtype: pl.DataType) -> None:
    info = np.iinfo(str(dtype).lower())
    values = data.draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=1))
    values += [int(info.min), int(info.max)]
    for v, (cents, why) in zip(values, _money(dtype, values), strict=True):
        if abs(v) >= 10**15:
            assert (cents, why) == (None, "too large"), v
        elif v < 0:
            assert (cents, why) == (v * 100, "negative x")
        else:
            assert (cents, why) == (v * 100, None)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), precision=st.integers(1, 38))
def test_any_typed_decimal_is_exact_or_rejected(data: st.DataObject, precision: int) -> None:
    scale = data.draw(st.integers(0, precision))
    digits = st.integers(-(10**precision) + 1, 10**precision - 1)
    raw = data.draw(st.lists(digits, min_size=1, max_size=20))
    values = [D(f"{n}E-{scale}") for n in raw]  # exact (scaleb rounds to 28 digits)
    for v, (cents, why) in zip(values, _money(pl.Decimal(precision, scale), values), strict=True):
        if v.copy_abs() >= 10**15:  # abs() rounds to 28 digits: 1e15 - 5e-14 is not big
            assert (cents, why) == (None, "too large"), v
        elif v != v.quantize(D("0.01")):
            assert (cents, why) == (None, "more than 2 decimal places"), v
        else:
            assert cents == v * 100 and why == (None if v >= 0 else "negative x"), v


@settings(max_examples=100, deadline=None)
@given(
    dtype=st.sampled_from([pl.Float32, pl.Float64]),
    values=st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(-(10**17), 10**17).map(lambda c: c / 100),  # a count of cents
        ),
        min_size=1,
    ),
)
def test_any_typed_float_is_its_nearest_cents_or_rejected(
    dtype: pl.DataType, values: list[float]
) -> None:
    """An accepted float is the nearest float (of its own width) to the cents it gives:
    no other count of cents is as near, and nothing is rounded away."""
    stored = pl.Series(values, dtype=dtype).to_list()  # as the column holds them
    for v, (cents, why) in zip(stored, _money(dtype, stored), strict=True):
        if why is None or why == "negative x":
            width = np.float32 if dtype == pl.Float32 else np.float64
            assert width(cents / 100) == width(v), v  # int / int: correctly rounded
            assert D(cents) / 100 == D(v).quantize(D("0.01")), v
        else:
            assert cents is None


# --- end to end, on files --------------------------------------------------------------


def test_cli_rejects_full_width_amount(tmp_path: Path) -> None:
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, GOOD_BAL)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, [*GOOD_TXN, _bad_txn("amount", "１２３", 0)])
    out = tmp_path / "out"
    args = ["score", "--balances", str(bal), "--transactions", str(txn),
            "--period", "2026H1", "--out", str(out)]  # fmt: skip
    strict = tierscore_here(*args)
    assert strict.returncode == 3, strict.stderr  # 1 of 2 rows rejected: over the limit
    done = tierscore_here(*args, "--max-reject-rate", "1")
    assert done.returncode == 0, done.stderr
    rejects = (out / "rejects.csv").read_text(encoding="utf-8").splitlines()
    assert len(rejects) == 2 and rejects[1].endswith("t.csv,3,amount,１２３,not a number")
    scores = pl.read_csv(out / "scores.csv", infer_schema=False)
    assert scores["card_spending_amount"].to_list() == ["100.00"]
    assert scores["tier"].to_list() != ["七星级"]
