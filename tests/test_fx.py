"""Foreign currency (``--fx``, ``[fx] convert``): hand-computed conversions, the rows
that must be rejected rather than read as yuan, bad rate files, and a run with rates
but only yuan rows giving exactly the run without them."""

from __future__ import annotations

import csv
import json
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierscore.scoring.pipeline import Job, run
from tierscore.scoring.window import parse_window

from .conftest import examples, tierscore_here, write_csv
from .simple_reference import reference_points, reference_tier, round_half_up

ROOT = Path(__file__).resolve().parents[1]
BAL = ["customer_id", "account_id", "product", "date", "balance", "currency"]
TXN = ["customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio", "currency"]
RATES = [("2025-06-01", "USD", "7.0"), ("2026-04-01", "USD", "7.2"), ("2025-01-01", "HKD", "0.9")]
# One component worth a point a yuan, a cap, tiers on exact bounds.
RULES = """
[ruleset]
name = "fx-test"
unit = 1
[fx]
convert = "{convert}"
[[components]]
id = "assets"
label = "assets"
source = "balances"
rate = 1
codes = ["CURRENT"]
[[components]]
id = "spend"
label = "spend"
source = "transactions"
rate = 1
cap = 5000.00
codes = ["POS"]
[[tiers]]
label = "high"
min = 7200
[[tiers]]
label = "low"
min = 0
"""


def _csv(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _rules(tmp: Path, convert: str = "daily") -> Path:
    path = tmp / f"fx-{convert}.toml"
    path.write_text(RULES.format(convert=convert), encoding="utf-8")
    return path


def _score(tmp: Path, name: str, bal: list, txn: list, *extra: object, rules: Path | None = None):
    balances = _csv(tmp / f"{name}-b.csv", BAL, bal)
    transactions = _csv(tmp / f"{name}-t.csv", TXN, txn)
    out = tmp / name
    ran = tierscore_here(
        "score", "--balances", balances, "--transactions", transactions, "--period", "2026H1",
        "--rules", rules or _rules(tmp), "--out", out, "-q", *extra,
    )  # fmt: skip
    return ran, out / "current"


def _rows(folder: Path, name: str = "scores.csv") -> dict[str, dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    key = "customer_id" if name == "scores.csv" else "line"
    return {r[key]: r for r in rows}


def _fx(tmp: Path, rows: list[tuple[str, str, str]] = RATES) -> Path:
    return _csv(tmp / "fx.csv", ["date", "currency", "rate"], rows)


def test_daily_conversion_is_the_hand_converted_yuan(tmp_path: Path) -> None:
    """USD 1,000 all half-year: 90 days at 7.0 (to 03-31), 91 at 7.2 = 1,285,200 yuan-days,
    a daily average of 7,100.55; a USD 1,000 purchase on 05-01 is 7,200 yuan, capped at
    5,000 after conversion. The same yuan given as CNY rows scores the same, column for
    column."""
    usd = [("C1", "A1", "CURRENT", "2025-12-31", "1000.00", "USD")]
    spend = [("C1", "T1", "2026-05-01", "POS", "1000.00", "", "", "USD"),
             ("C1", "T2", "2026-02-01", "POS", "100.00", "", "", "HKD")]  # fmt: skip
    ran, got = _score(tmp_path, "usd", usd, spend, "--fx", _fx(tmp_path))
    assert ran.returncode == 0, ran.stderr
    cny = [("C1", "A1", "CURRENT", "2025-12-31", "7000.00", ""),
           ("C1", "A1", "CURRENT", "2026-04-01", "7200.00", "")]  # fmt: skip
    plain = [("C1", "T1", "2026-05-01", "POS", "7200.00", "", "", ""),
             ("C1", "T2", "2026-02-01", "POS", "90.00", "", "", "")]  # fmt: skip
    ran, want = _score(tmp_path, "cny", cny, plain)
    assert ran.returncode == 0, ran.stderr
    row = _rows(got)["C1"]
    assert row["assets_amount"] == "7100.55"
    assert row["spend_amount"] == "5090.00"  # 5,000 (capped after conversion) + HKD 100 x 0.9
    assert row == _rows(want)["C1"]
    manifest = json.loads((got / "manifest.json").read_text(encoding="utf-8"))
    assert [f["path"] for f in manifest["inputs"]["fx"]] == [str(tmp_path / "fx.csv")]


def test_window_end_converts_at_the_last_days_rate_and_lands_on_the_bound(tmp_path: Path) -> None:
    """USD 1,000 at the window's last day's 7.2: exactly 7,200 points, the high tier's bound."""
    usd = [("C1", "A1", "CURRENT", "2025-12-31", "1000.00", "USD")]
    rules = _rules(tmp_path, "window_end")
    ran, got = _score(tmp_path, "end", usd, [], "--fx", _fx(tmp_path), rules=rules)
    assert ran.returncode == 0, ran.stderr
    row = _rows(got)["C1"]
    assert (row["assets_amount"], row["points"], row["tier"]) == ("7200.00", "7200.00", "high")
    # daily: 7,100.55, below the bound
    ran, got = _score(tmp_path, "daily", usd, [], "--fx", _fx(tmp_path))
    assert _rows(got)["C1"]["tier"] == "low"


def test_a_foreign_row_without_rates_is_rejected_never_read_as_yuan(tmp_path: Path) -> None:
    bal = [("C1", "A1", "CURRENT", "2025-12-31", "10000.00", "USD"),
           ("C1", "A2", "CURRENT", "2025-12-31", "50.00", "CNY"),
           ("C2", "A3", "CURRENT", "2025-12-31", "50.00", "")]  # fmt: skip
    txn = [("C1", "T1", "2026-03-01", "POS", "10.00", "", "", "EUR"),
           ("C1", "T2", "2025-03-01", "POS", "10.00", "", "", "EUR"),
           ("C2", "T3", "2026-03-01", "POS", "10.00", "", "", "")]  # fmt: skip
    ran, got = _score(tmp_path, "nofx", bal, txn, "--max-reject-rate", "1")
    assert ran.returncode == 0, ran.stderr
    scores = _rows(got)
    assert scores["C1"]["assets_amount"] == "50.00"  # the CNY account only
    assert scores["C1"]["spend_amount"] == "0.00"
    assert scores["C2"]["spend_amount"] == "10.00"
    rejects = list(csv.DictReader((got / "rejects.csv").open(encoding="utf-8")))
    reasons = {(r["column"], r["value"], r["reason"]) for r in rejects}
    never = "a foreign currency and no --fx rates: never read as yuan"
    assert reasons == {("currency", "USD", never), ("currency", "EUR", never)}
    assert len(rejects) == 2  # the 2025 transaction is outside the window: not rejected
    summary = json.loads((got / "summary.json").read_text(encoding="utf-8"))
    assert summary["rows"]["transactions"]["outside_window"] == 1
    # at the default reject rate the run stops (exit 3), publishing nothing
    ran, _ = _score(tmp_path, "nofx3", bal, txn)
    assert ran.returncode == 3


def test_no_rate_on_or_before_the_first_day_counted_is_a_reject(tmp_path: Path) -> None:
    """Rates from 02-01: a carry-in from 2025 would need 01-01's, a purchase on 01-15
    its own; a purchase on 02-03 has one. Unknown currencies and lower case too."""
    rates = [("2026-02-01", "USD", "7.1")]
    bal = [("C1", "A1", "CURRENT", "2025-12-31", "100.00", "USD"),
           ("C1", "A2", "CURRENT", "2026-03-01", "100.00", "USD"),
           ("C1", "A3", "CURRENT", "2026-03-01", "100.00", "JPY"),
           ("C1", "A4", "CURRENT", "2026-03-01", "100.00", "usd"),
           ("C1", "A5", "CURRENT", "2026-03-01", "100.00", "US$")]  # fmt: skip
    txn = [("C1", "T1", "2026-01-15", "POS", "10.00", "", "", "USD"),
           ("C1", "T2", "2026-02-03", "POS", "10.00", "", "", "USD")]  # fmt: skip
    ran, got = _score(tmp_path, "late", bal, txn, "--fx", _fx(tmp_path, rates),
                      "--max-reject-rate", "1")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    rows = list(csv.DictReader((got / "rejects.csv").open(encoding="utf-8")))
    rejects = {r["line"]: r for r in rows if r["file"].endswith("-b.csv")}
    assert rejects["2"]["reason"] == "no USD rate on or before 2026-01-01 in --fx"
    assert rejects["4"]["reason"] == "no JPY rate on or before 2026-03-01 in --fx"
    code = "not an ISO 4217 currency code (e.g. USD)"
    assert rejects["5"]["reason"] == rejects["6"]["reason"] == code
    assert sorted(rejects) == ["2", "4", "5", "6"]  # in the balances; line 3 is used
    spent = [r for r in rows if r["file"].endswith("-t.csv")]
    assert [(r["line"], r["reason"]) for r in spent] == [
        ("2", "no USD rate on or before 2026-01-15 in --fx")
    ]
    row = _rows(got)["C1"]
    # A2: USD 100 x 7.1 from 03-01: 122 days of 181; T2: 10 x 7.1
    assert row["assets_amount"] == "478.56"  # 71 x 122 / 181 = 47.856 ... x 10
    assert row["spend_amount"] == "71.00"


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ([("2026-01-01", "USD", "seven")], "line 2: rate 'seven': not a number"),
        ([("2026-01-01", "USD", "0")], "rate must be > 0"),
        ([("2026-01-01", "USD", "7.123456789")], "more than 8 decimal places"),
        ([("2026-01-01", "usd", "7")], "not an ISO 4217 currency code"),
        ([("2026-02-30", "USD", "7")], "line 2: date"),
        (
            [("2026-01-01", "USD", "7"), ("2026-01-01", "USD", "7.1")],
            "two rates for USD on 2026-01-01",
        ),
        ([("2026-01-01", "CNY", "2")], "a CNY rate other than 1"),
        ([("2026-01-01", "XAU", "1000000")], "rate must be below 1,000,000 yuan per unit"),
        ([("2026-01-01", "", "7")], "line 2: currency"),
    ],
)
def test_a_bad_rate_file_stops_the_run(tmp_path: Path, rows: list, said: str) -> None:
    """A rate left out would give its days the rate before: every row must be good."""
    bal = [("C1", "A1", "CURRENT", "2025-12-31", "100.00", "USD")]
    ran, got = _score(tmp_path, "bad", bal, [], "--fx", _fx(tmp_path, rows))
    assert ran.returncode == 2
    assert said in ran.stderr and "fx.csv" in ran.stderr and "--fx" in ran.stderr
    assert not got.exists()


def test_a_rate_file_missing_a_column_stops_naming_it(tmp_path: Path) -> None:
    fx = _csv(tmp_path / "fx.csv", ["date", "currency"], [("2026-01-01", "USD")])
    bal = [("C1", "A1", "CURRENT", "2025-12-31", "100.00", "USD")]
    ran, _ = _score(tmp_path, "col", bal, [], "--fx", fx)
    assert ran.returncode == 2 and "rate" in ran.stderr and "fx.csv" in ran.stderr


def test_rate_columns_are_mapped_by_columns(tmp_path: Path) -> None:
    fx = _csv(tmp_path / "rates.csv", ["day", "ccy", "cny_per_unit"],
              [("2025-01-01", "USD", "7.2")])  # fmt: skip
    mapping = tmp_path / "map.toml"
    mapping.write_text('[fx]\ndate = "day"\ncurrency = "ccy"\nrate = "cny_per_unit"\n')
    bal = [("C1", "A1", "CURRENT", "2025-12-31", "1000.00", "USD")]
    ran, got = _score(tmp_path, "map", bal, [], "--fx", fx, "--columns", mapping)
    assert ran.returncode == 0, ran.stderr
    assert _rows(got)["C1"]["assets_amount"] == "7200.00"


def test_rates_with_only_yuan_rows_change_nothing(tmp_path: Path) -> None:
    """Every measure in 10**-8 cents and every denominator with it: the same bytes."""
    sample = ROOT / "sample_data"
    common = ["score", "--balances", sample / "balances.csv", "--transactions",
              sample / "transactions.csv", "--period", "2026H1", "-q"]  # fmt: skip
    assert tierscore_here(*common, "--out", tmp_path / "plain").returncode == 0
    fx = _fx(tmp_path)
    assert tierscore_here(*common, "--out", tmp_path / "fx", "--fx", fx).returncode == 0
    for name in ("scores.csv", "summary.json", "rejects.csv", "unmapped_codes.csv"):
        plain = (tmp_path / "plain" / "current" / name).read_bytes()
        assert plain == (tmp_path / "fx" / "current" / name).read_bytes(), name


def test_intervals_convert_and_accumulations_need_window_end(tmp_path: Path) -> None:
    """An interval converts day by day like a change log's row; a sum of balance-days
    cannot (its days' balances are unknown), except at the window end's rate."""
    head = ["customer_id", "account_id", "product", "start_date", "end_date", "balance", "currency"]
    interval = _csv(
        tmp_path / "iv.csv",
        head,
        [("C1", "A1", "CURRENT", "2025-12-01", "9999-12-31", "1000.00", "USD")],
    )
    txn = _csv(tmp_path / "t.csv", TXN, [])
    common = ["score", "--transactions", txn, "--period", "2026H1", "-q", "--fx", _fx(tmp_path)]
    ran = tierscore_here(*common, "--balances", interval, "--rules", _rules(tmp_path),
                         "--out", tmp_path / "iv")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert _rows(tmp_path / "iv" / "current")["C1"]["assets_amount"] == "7100.55"
    head = ["customer_id", "account_id", "product", "start_date", "end_date", "accumulated",
            "currency"]  # fmt: skip
    acc = _csv(
        tmp_path / "acc.csv",
        head,
        [("C1", "A1", "CURRENT", "2026-01-01", "2026-06-30", "181000.00", "USD")],
    )
    ran = tierscore_here(*common, "--balances", acc, "--rules", _rules(tmp_path),
                         "--out", tmp_path / "acc", "--max-reject-rate", "1")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    rejects = list(csv.DictReader((tmp_path / "acc/current/rejects.csv").open(encoding="utf-8")))
    assert len(rejects) == 1 and "cannot be converted day by day" in rejects[0]["reason"]
    ran = tierscore_here(*common, "--balances", acc, "--rules", _rules(tmp_path, "window_end"),
                         "--out", tmp_path / "acc-end")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert _rows(tmp_path / "acc-end" / "current")["C1"]["assets_amount"] == "7200.00"


# --- property: converted runs equal the row-by-row reference --------------------------

START, END = date(2026, 1, 1), date(2026, 1, 20)
CURRENCIES = ["", "CNY", "USD", "HKD", "EUR"]  # EUR has no rates: its counted rows are rejected
PRODUCTS = ["CURRENT", "TIME", "MORTGAGE", "ODD"]
days = st.integers(min_value=-4, max_value=24).map(lambda n: START + timedelta(days=n))
rates = st.lists(
    st.tuples(
        st.sampled_from(["USD", "HKD"]),
        st.integers(min_value=-6, max_value=22).map(lambda n: START + timedelta(days=n)),
        st.sampled_from(["7.1", "7.12345678", "0.91", "1", "0.00000001"]),
    ),
    max_size=5,
    unique_by=lambda r: (r[0], r[1]),
)
fx_balances = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2"]),
        st.sampled_from(["A1", "A2", "A3"]),
        st.sampled_from(PRODUCTS),
        days,
        st.sampled_from(["0.00", "10.00", "250.50", "99999.99"]),
        st.sampled_from(CURRENCIES),
    ),
    max_size=12,
)
fx_transactions = st.lists(
    st.tuples(
        st.sampled_from(["C1", "C2", "C3"]),
        st.integers(min_value=0, max_value=6),  # ids repeat
        days,
        st.sampled_from(["POS", "FUND_BUY", "REMOTE_CASH"]),
        st.sampled_from(["1.00", "20000.00", "333.33"]),
        st.sampled_from(["", "5.00"]),
        st.sampled_from(CURRENCIES),
    ),
    max_size=10,
)


@pytest.mark.usefixtures("window_unchecked")
@settings(max_examples=examples(50), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(balances=fx_balances, transactions=fx_transactions, given_rates=rates)
def test_converted_scores_equal_the_reference(
    balances: list, transactions: list, given_rates: list
) -> None:
    """icbc-star (daily): points and tiers as the reference converts each day, with
    repeats, conflicts, rows out of order and rates missing on the first days."""
    txns = [(c, f"T{i}", d, k, a, f, "", cur) for c, i, d, k, a, f, cur in transactions]
    fx: dict[str, list[tuple[date, Fraction]]] = {}
    for code, since, rate in given_rates:
        fx.setdefault(code, []).append((since, Fraction(rate)))
    expected = reference_points(balances, txns, START, END, fx=fx)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bal = write_csv(folder / "b.csv", BAL, balances)
        txn = write_csv(folder / "t.csv", TXN, txns)
        rated = write_csv(folder / "fx.csv", ["currency", "date", "rate"], given_rates)
        job = Job(str(bal), str(txn), parse_window(None, None, START, END), fx=str(rated))
        scores = run(job).scores
    got = {row["customer_id"]: row for row in scores.iter_rows(named=True)}
    assert set(got) == set(expected)
    for customer, points in expected.items():
        assert got[customer]["points"] == round_half_up(points), customer
        assert got[customer]["tier"] == reference_tier(points), customer


def test_explain_shows_each_accounts_currency_rates_and_yuan(tmp_path: Path) -> None:
    """The USD account in its currency and in yuan, the rates that applied, and the same
    points and levers as the same yuan given as CNY rows."""
    bal = _csv(tmp_path / "b.csv", BAL, [("C1", "A1", "CURRENT", "2025-12-31", "1000.00", "USD")])
    txn = _csv(tmp_path / "t.csv", TXN, [("C1", "T1", "2026-05-01", "POS", "10.00", "", "", "USD")])
    ran = tierscore_here("explain", "C1", "-b", bal, "-t", txn, "-p", "2026H1", "--fx",
                         _fx(tmp_path), "--json")  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assets = next(c for c in data["components"] if c["id"] == "short_term_assets")
    assert assets["parts"] == [{
        "account_id": "A1", "product": "CURRENT", "currency": "USD",
        "balance_days_in_currency": "181000.00", "daily_average_in_currency": "1000.00",
        "balance_days": "1285200.00", "days": 181, "daily_average": "7100.55",
    }]  # fmt: skip
    spend = next(c for c in data["components"] if c["id"] == "card_spending")
    part = spend["parts"][0]
    assert (part["currency"], part["amount_in_currency"], part["amount"]) == (
        "USD",
        "10.00",
        "72.00",
    )
    assert data["fx"] == {"convert": "daily", "rates": {
        "HKD": [{"from": "2025-01-01", "rate": "0.9"}],
        "USD": [{"from": "2025-06-01", "rate": "7"}, {"from": "2026-04-01", "rate": "7.2"}],
    }}  # fmt: skip
    cny = _csv(
        tmp_path / "c.csv",
        BAL,
        [
            ("C1", "A1", "CURRENT", "2025-12-31", "7000.00", ""),
            ("C1", "A1", "CURRENT", "2026-04-01", "7200.00", ""),
        ],
    )
    plain = _csv(tmp_path / "p.csv", TXN, [("C1", "T1", "2026-05-01", "POS", "72.00", "", "", "")])
    again = tierscore_here("explain", "C1", "-b", cny, "-t", plain, "-p", "2026H1", "--json")
    same = json.loads(again.stdout)
    assert (same["points"], same["levers"]) == (data["points"], data["levers"])


@pytest.mark.spark
def test_spark_converts_as_the_polars_engine_does(tmp_path: Path, spark: object) -> None:
    """The same foreign rows, rates and rejects on both engines (icbc-star: daily, and
    its watch's measure towards the next rating day)."""
    from .conftest import on_both_engines

    bal = _csv(tmp_path / "b.csv", BAL, [
        ("C1", "A1", "CURRENT", "2025-12-31", "1000.00", "USD"),
        ("C1", "A2", "TIME", "2026-02-01", "800.00", "HKD"),
        ("C2", "A3", "CURRENT", "2026-03-01", "50.00", "EUR"),  # no rate: a reject
        ("C2", "A4", "CURRENT", "2026-03-01", "7000.00", ""),
    ])  # fmt: skip
    txn = _csv(tmp_path / "t.csv", TXN, [
        ("C1", "T1", "2026-05-01", "POS", "1000.00", "", "", "USD"),
        ("C2", "T2", "2026-05-02", "REMOTE_CASH", "3000.00", "5.00", "", "USD"),
    ])  # fmt: skip
    job = Job(str(bal), str(txn), parse_window("2026H1"), fx=str(_fx(tmp_path)))
    local, remote = on_both_engines(job, spark)
    assert remote.scores.equals(local.scores)
    assert remote.summary == local.summary
    assert remote.rejects.equals(local.rejects) and local.rejects.height == 1
    assert local.scores.filter(pl.col("customer_id") == "C1")["short_term_assets_amount"][0] == (
        Decimal("7100.55")
    )


def test_every_measuring_path_converts_alike(tmp_path: Path) -> None:
    """The sample with its foreign rows as CSV and as typed Parquet, in account order
    (one pass, and in parts the pass that holds no rows), and shuffled (sorted in
    memory): the same scores, row accounting and rejects."""
    sample = ROOT / "sample_data"
    frames = {
        "balances": pl.concat(
            [pl.read_csv(sample / "balances.csv", infer_schema=False),
             pl.read_csv(sample / "foreign_and_joint.csv", infer_schema=False)],
            how="diagonal",
        ).filter(pl.col("account_id") != "JM-0001"),  # a key twice: no one pass (test_joint)
        "transactions": pl.concat(
            [pl.read_csv(sample / "transactions.csv", infer_schema=False),
             pl.read_csv(sample / "foreign_transactions.csv", infer_schema=False)],
            how="diagonal",
        ),
    }  # fmt: skip
    typed = {
        "balances": [pl.col("date").str.to_date(), pl.col("balance").cast(pl.Decimal(18, 2))],
        "transactions": [pl.col("amount").cast(pl.Decimal(18, 2))],
    }
    paths: dict[str, dict[str, str]] = {"csv": {}, "sorted": {}, "shuffled": {}}
    for name, frame in frames.items():
        paths["csv"][name] = str(tmp_path / f"{name}.csv")
        frame.write_csv(paths["csv"][name])
        key = ["account_id", "date"] if name == "balances" else ["txn_id"]
        ordered = frame.with_columns(typed[name]).sort(key)
        paths["sorted"][name] = str(tmp_path / f"{name}-sorted.parquet")
        ordered.write_parquet(paths["sorted"][name])
        paths["shuffled"][name] = str(tmp_path / f"{name}-shuffled.parquet")
        ordered.sample(fraction=1.0, shuffle=True, seed=7).write_parquet(paths["shuffled"][name])
    fx = str(ROOT / "sample_data" / "fx_rates.csv")
    results = []
    for layout, parts in (("csv", 64_000_000), ("sorted", 64_000_000), ("sorted", 3_000),
                          ("shuffled", 64_000_000), ("shuffled", 3_000)):  # fmt: skip
        given = paths[layout]
        job = Job(given["balances"], given["transactions"], parse_window("2026H1"), fx=fx)
        job.rows_per_part = parts
        results.append(run(job))
        if layout == "sorted":  # in account order: balances measured as they stream
            assert "one pass" in results[-1].measuring["balances"]
    first = results[0]
    for other in results[1:]:
        assert other.scores.equals(first.scores)
        assert other.summary["rows"] == first.summary["rows"]
        assert other.rejects.select("line", "reason").equals(first.rejects.select("line", "reason"))
    c0002 = first.scores.filter(pl.col("customer_id") == "C0002")
    assert c0002["long_term_assets_amount"][0] > Decimal("9247.26") + Decimal("20000")  # USD


def test_a_parquet_rate_file_is_read_as_typed(tmp_path: Path) -> None:
    """Dates as dates, rates as decimals and as floats (the decimal they were written
    from): the same conversion as the CSV's."""
    rates = tmp_path / "fx.parquet"
    pl.DataFrame(
        {
            "date": [date(2025, 6, 1), date(2026, 4, 1)],
            "currency": ["USD", "USD"],
            "rate": [7.0, 7.2],
        }
    ).write_parquet(rates)
    usd = [("C1", "A1", "CURRENT", "2025-12-31", "1000.00", "USD")]
    ran, got = _score(tmp_path, "pq", usd, [], "--fx", rates)
    assert ran.returncode == 0, ran.stderr
    assert _rows(got)["C1"]["assets_amount"] == "7100.55"
    decimal = tmp_path / "fx-decimal.parquet"
    pl.read_parquet(rates).with_columns(pl.col("rate").cast(pl.Decimal(12, 8))).write_parquet(
        decimal
    )
    ran, got = _score(tmp_path, "pqd", usd, [], "--fx", decimal)
    assert _rows(got)["C1"]["assets_amount"] == "7100.55"


def test_validate_checks_a_currency_codes_form_not_its_rates(tmp_path: Path) -> None:
    """validate has no window and no rates: a USD row is valid, ``usd`` is not."""
    bal = _csv(
        tmp_path / "b.csv",
        BAL,
        [
            ("C1", "A1", "CURRENT", "2026-01-05", "10.00", "USD"),
            ("C1", "A2", "CURRENT", "2026-01-05", "10.00", "usd"),
        ],
    )
    txn = _csv(tmp_path / "t.csv", TXN, [("C1", "T1", "2026-01-05", "POS", "1.00", "", "", "")])
    for rules in ([], ["--rules", "icbc-star"]):
        ran = tierscore_here("validate", "-b", bal, "-t", txn, "--json", *rules)
        found = json.loads(ran.stdout)
        assert found["inputs"]["balances"]["rejected"] == 1, found
        assert [r["value"] for r in found["rejects"]["first"]] == ["usd"]


def test_compare_converts_with_the_same_rates(tmp_path: Path) -> None:
    """compare --fx runs both rule sets on the converted rows; without it the foreign
    rows are rejected in both runs, as score rejects them."""
    sample = ROOT / "sample_data"
    common = ["compare", "-b", sample / "balances.csv", "-b", sample / "foreign_and_joint.csv",
              "-t", sample / "transactions.csv", "-t", sample / "foreign_transactions.csv",
              "-p", "2026H1", "-r", "icbc-star", "-r", "pyramid", "-q",
              "--max-reject-rate", "1"]  # fmt: skip
    rejected = {}
    for name, extra in (("fx", ["--fx", sample / "fx_rates.csv"]), ("plain", [])):
        ran = tierscore_here(*common, *extra, "--out", tmp_path / name)
        assert ran.returncode == 0, ran.stderr
        found = json.loads((tmp_path / name / "summary.json").read_text(encoding="utf-8"))
        rejected[name] = {run: found[run]["rows"]["balances"]["rejected"] for run in ("a", "b")}
    assert rejected == {"fx": {"a": 0, "b": 0}, "plain": {"a": 4, "b": 4}}  # 4 foreign rows
    manifest = json.loads((tmp_path / "fx" / "manifest.json").read_text(encoding="utf-8"))
    assert "fx" in manifest["inputs"]
