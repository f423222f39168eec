"""The service tier over time (issue 22): upgrades at once, falls only on rating days
after a buffer, floors, overrides, and the watch list's hold_yuan.

The scenario runs five months chained through --previous, on a rule set whose points
are easy to follow by hand: points = deposits' daily average + 2 x loans' daily
average + card spending (yuan), tiers A >= 1000, B >= 500, C >= 100, D; A's buffer is
6 months, B's 0. Monthly windows (``--months 1``) make a month's contribution its
balance. hold_yuan is checked against a day-by-day recomputation: the future balance
rows built explicitly and scored by the real scorer.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tierscore.scoring.errors import ConfigError, InputError
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.rules import load_rules
from tierscore.scoring.split import write_scores
from tierscore.scoring.watch import next_rating_day, rating_window
from tierscore.scoring.window import Window, trailing_months

from .conftest import BAL_COLUMNS, TXN_COLUMNS, tierscore_here, txn_rows, write_csv

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

RULES = """
[ruleset]
name = "svc-test"
version = "1"
unit = 1

[[components]]
id = "deposits"
label = "存款"
source = "balances"
rate = 1
codes = ["DEP"]

[[components]]
id = "loans"
label = "贷款"
source = "balances"
rate = 2
codes = ["LOAN"]

[[components]]
id = "spend"
source = "transactions"
rate = 1
codes = ["POS"]

[[tiers]]
label = "A"
min = 1000

[[tiers]]
label = "B"
min = 500

[[tiers]]
label = "C"
min = 100

[[tiers]]
label = "D"
min = 0
"""
SERVICE = """
[service]
rating_days = ["06-30", "12-31"]
buffer_months = { A = 6 }

[[service.floors]]
column = "private_banking"
is_true = true
tier = "A"

[[service.floors]]
column = "card_level"
equals = "gold"
tier = "B"
"""
PEOPLE = ("customer_id", "branch", "manager", "private_banking", "card_level")


def rules_file(tmp_path: Path, text: str = RULES + SERVICE) -> str:
    path = tmp_path / "svc.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def month(year: int, number: int) -> Window:
    return trailing_months(year, number, 1)


def by_id(result: Result) -> dict[str, dict[str, Any]]:
    return {row["customer_id"]: row for row in result.scores.iter_rows(named=True)}


# --- the scenario: five monthly runs chained through --previous -------------------

BALANCES = [
    ("U", "U1", "DEP", "2026-04-01", "200.00"),  # C, then B from May: upgraded at once
    ("U", "U1", "DEP", "2026-05-01", "600.00"),
    ("H", "H1", "DEP", "2026-04-01", "1500.00"),  # A, falls to B in May and stays
    ("H", "H1", "DEP", "2026-05-01", "700.00"),
    ("V", "V1", "DEP", "2026-04-01", "1500.00"),  # A, B in May, A again in June
    ("V", "V1", "DEP", "2026-05-01", "700.00"),
    ("V", "V1", "DEP", "2026-06-01", "1200.00"),
    ("F", "F1", "DEP", "2026-04-01", "300.00"),  # C; a private-banking floor until July
    ("G", "G1", "DEP", "2026-04-01", "300.00"),  # C; a gold card: B at least
    ("O", "O1", "DEP", "2026-04-01", "200.00"),  # C; overridden to A until 2026-06-30
]
OVERRIDES = "customer_id,tier,reason,until\nO,A,VIP 客户 (approved),2026-06-30\n"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """Runs at 2026-04-30, 05-31, 06-30 (a rating day), 07-31 and 12-31 (a rating day),
    each given the one before as --previous (its scores CSV, as published)."""
    tmp = tmp_path_factory.mktemp("chain")
    rules = rules_file(tmp)
    bal = write_csv(tmp / "bal.csv", BAL_COLUMNS, BALANCES)
    txn = write_csv(tmp / "txn.csv", TXN_COLUMNS, [])
    before = [("F", "朝阳", "M1", "true", ""), ("G", "朝阳", "M1", "false", "gold"),
              ("H", "海淀", "M2", "false", ""), ("V", "海淀", "M2", "false", "")]  # fmt: skip
    after = [("F", "朝阳", "M1", "false", ""), *before[1:]]  # F leaves private banking
    people = {
        "before": write_csv(tmp / "people1.csv", PEOPLE, before),
        "after": write_csv(tmp / "people2.csv", PEOPLE, after),
    }
    overrides = tmp / "overrides.csv"
    overrides.write_text(OVERRIDES, encoding="utf-8")
    runs = {"04": (2026, 4), "05": (2026, 5), "06": (2026, 6), "07": (2026, 7), "12": (2026, 12)}
    out: dict[str, dict[str, dict[str, Any]]] = {}
    previous = None
    for name, (year, number) in runs.items():
        job = Job(str(bal), str(txn), month(year, number), rules)
        job.customers = str(people["before" if number < 7 else "after"])
        job.previous, job.overrides = previous, str(overrides)
        result = run(job)
        out[name] = by_id(result)
        out[name]["_result"] = {"summary": result.summary, "rejects": result.rejects}
        previous = str(tmp / f"scores-{name}.csv")
        write_scores(result.scores, Path(previous))
    return out


def state(row: dict[str, Any]) -> tuple[Any, ...]:
    """(tier, service_tier, service_since, below_since, downgrade_on, service_reason)."""
    keys = ("tier", "service_tier", "service_since", "below_since", "downgrade_on",
            "service_reason")  # fmt: skip
    return tuple(row[k] for k in keys)


D = date  # dates as the scores hold them


def test_upgrade_mid_half_year_is_at_once(chain: dict) -> None:
    assert state(chain["04"]["U"]) == ("C", "C", D(2026, 4, 30), None, None, "contribution")
    for name in ("05", "06", "07", "12"):  # upgraded in May, not on a rating day
        assert state(chain[name]["U"]) == ("B", "B", D(2026, 5, 31), None, None, "contribution")


def test_fall_held_through_one_rating_day_and_dropped_on_the_next(chain: dict) -> None:
    """H falls from A to B in May: below since 05-31; A's buffer is 6 months, so on
    06-30 (a rating day, one month on) A holds; on 12-31 (seven months on) it drops."""
    assert state(chain["04"]["H"]) == ("A", "A", D(2026, 4, 30), None, None, "contribution")
    held = ("B", "A", D(2026, 4, 30), D(2026, 5, 31), D(2026, 12, 31), "held")
    assert state(chain["05"]["H"]) == held
    assert state(chain["06"]["H"]) == held  # the rating day: 05-31 + 6 months is 11-30
    assert state(chain["07"]["H"]) == held
    assert state(chain["12"]["H"]) == ("B", "B", D(2026, 12, 31), None, None, "contribution")


def test_fall_then_recovery_clears_below_since(chain: dict) -> None:
    held = ("B", "A", D(2026, 4, 30), D(2026, 5, 31), D(2026, 12, 31), "held")
    assert state(chain["05"]["V"]) == held
    back = ("A", "A", D(2026, 4, 30), None, None, "contribution")  # since kept: never left A
    assert state(chain["06"]["V"]) == back
    assert state(chain["12"]["V"]) == back


def test_floors_hold_the_tier_and_their_loss_waits_for_the_buffer(chain: dict) -> None:
    """F is C by points, A by its private-banking floor (a floor guards: no downgrade
    date). In July the floor is gone: A is held (below since April) until the rating
    day after the buffer, 12-31. G's gold card keeps B whatever B's 0-month buffer."""
    floor = ("C", "A", D(2026, 4, 30), D(2026, 4, 30), None, "floor:private_banking")
    for name in ("04", "05", "06"):
        assert state(chain[name]["F"]) == floor
    assert state(chain["07"]["F"]) == ("C", "A", D(2026, 4, 30), D(2026, 4, 30),
                                       D(2026, 12, 31), "held")  # fmt: skip
    assert state(chain["12"]["F"]) == ("C", "C", D(2026, 12, 31), None, None, "contribution")
    gold = ("C", "B", D(2026, 4, 30), D(2026, 4, 30), None, "floor:card_level")
    assert all(state(chain[name]["G"]) == gold for name in chain)


def test_override_until_its_date_then_the_rule(chain: dict) -> None:
    for name in ("04", "05", "06"):  # until 2026-06-30: the day itself is covered
        row = chain[name]["O"]
        assert (row["service_tier"], row["service_reason"]) == ("A", "override")
        assert (row["override_reason"], row["lifecycle_tier"]) == ("VIP 客户 (approved)", "C")
        assert row["hold_yuan"] is None  # an override through the rating day keeps it
    row = chain["07"]["O"]
    assert state(row) == ("C", "C", D(2026, 4, 30), None, None, "contribution")
    assert row["override_reason"] is None and row["lifecycle_tier"] is None
    rejects = chain["07"]["_result"]["rejects"]
    expired = rejects.filter(pl.col("file").str.ends_with("overrides.csv"))
    assert expired.select("line", "column", "value").row(0) == (2, "until", "2026-06-30")
    assert expired["reason"][0] == "expired: before the as-of date 2026-07-31"
    counts = chain["07"]["_result"]["summary"]["service"]["overrides"]
    assert counts == {"read": 1, "used": 0, "duplicate": 0, "rejected": 1, "applied": 0,
                      "not_scored": 0}  # fmt: skip


def test_hold_yuan_by_hand(chain: dict) -> None:
    """05-31: the next rating day is 06-30, its window 2026H1 (181 days); H's balances
    carried forward give 1500 x 30 + 700 x 31 + 700 x 30 = 87,700 yuan-days, and A needs
    1000 x 181: 93,300 more, from a loan (2 points a yuan) held the 30 days of June:
    93,300 / 60 = 1555.00. 07-31: towards 12-31 (07-01..12-31, 184 days), 153 days to
    come: H needs 300 x 184 / (2 x 153) = 180.39... -> 180.40; F (no floor now) needs
    700 x 184 / 306 = 420.91... -> 420.92, rounded up to the cent."""
    assert chain["05"]["H"]["hold_yuan"] == Decimal("1555.00")
    assert chain["05"]["V"]["hold_yuan"] == Decimal("1555.00")
    assert chain["06"]["H"]["hold_yuan"] == Decimal("150.00")  # 300 x 184 / (2 x 184)
    assert chain["07"]["H"]["hold_yuan"] == Decimal("180.40")
    assert chain["07"]["F"]["hold_yuan"] == Decimal("420.92")
    assert chain["04"]["F"]["hold_yuan"] is None  # a floor keeps it: nothing to hold
    assert chain["04"]["U"]["hold_yuan"] is None  # at its tier, far from the bound (200 / 100)


def test_summary_counts_and_watch_list(chain: dict) -> None:
    summary = chain["07"]["_result"]["summary"]
    service = summary["service"]
    assert (service["held"], service["floored"], service["overridden"]) == (2, 1, 0)
    assert {t["tier"]: t["customers"] for t in service["tiers"]} == {"A": 3, "B": 2, "C": 1,
                                                                     "D": 0}  # fmt: skip
    assert service["previous_state"] is True and service["rating_day"] is False
    assert service["next_rating_day"] == "2026-12-31"
    watch = summary["watch"]
    assert watch["window"]["start"] == "2026-07-01" and watch["days_held"] == 153
    assert watch["lever"] == "贷款 (loans)"
    listed = {(e["branch"], e["customer_id"]): e["hold_yuan"] for e in watch["top"]}
    assert listed == {("朝阳", "F"): "420.92", ("海淀", "H"): "180.40"}
    branches = {b["branch"]: b["service_tiers"] for b in summary["by_branch"]}
    assert branches["朝阳"] == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert chain["04"]["_result"]["summary"]["service"]["previous_state"] is False


# --- hold_yuan against a day-by-day recomputation ----------------------------------


def _holding(rows: list[tuple[str, ...]], as_of: date, holds: dict[str, Decimal], product: str,
             ) -> list[tuple[str, ...]]:  # fmt: skip
    """The balance rows a run at the next rating day would read if nothing changed after
    ``as_of`` but each customer's extra ``hold`` held in ``product`` from the next day."""
    kept = [r for r in rows if date.fromisoformat(r[3]) <= as_of]
    start = date.fromordinal(as_of.toordinal() + 1).isoformat()
    return kept + [(c, f"HOLD-{c}", product, start, f"{h:.2f}") for c, h in holds.items() if h]


def _scored_at(tmp: Path, name: str, balances: list, transactions: list, window: Window,
               rules: str) -> dict[str, dict[str, Any]]:  # fmt: skip
    bal = write_csv(tmp / f"{name}-bal.csv", BAL_COLUMNS, balances)
    txn = write_csv(tmp / f"{name}-txn.csv", TXN_COLUMNS, transactions)
    # the rating day's window may start after every transaction known on the as-of
    # date: scored all the same here (a run would stop, see coverage.check_window)
    with pytest.MonkeyPatch.context() as unchecked:
        unchecked.setattr("tierscore.scoring.pipeline.check_window", lambda *args: None)
        return by_id(run(Job(str(bal), str(txn), window, rules)))


def _brute_force(tmp: Path, result: Result, balances: list, transactions: list, rules: str,
                 product: str) -> int:  # fmt: skip
    """Every watched customer reaches its service tier's bound on the next rating day
    with hold_yuan held, and falls short with a cent less (when the hold is not 0)."""
    summary = result.summary["watch"]
    as_of, day = (
        date.fromisoformat(summary["as_of"]),
        date.fromisoformat(summary["next_rating_day"]),
    )
    window = rating_window(day)
    labels = [t.label for t in load_rules(rules).tiers]
    watched = result.scores.filter(pl.col("hold_yuan").is_not_null())
    holds = dict(zip(watched["customer_id"], watched["hold_yuan"], strict=True))
    kept_txn = [t for t in transactions if date.fromisoformat(t[2][:10]) <= as_of]
    enough = _scored_at(tmp, "enough", _holding(balances, as_of, holds, product), kept_txn,
                        window, rules)  # fmt: skip
    short = {c: h - Decimal("0.01") for c, h in holds.items() if h > 0}
    less = _scored_at(tmp, "short", _holding(balances, as_of, short, product), kept_txn,
                      window, rules)  # fmt: skip
    for row in watched.iter_rows(named=True):
        target = (
            labels.index(row["lifecycle_tier"] or row["service_tier"])
            if (row["service_reason"] == "override")
            else labels.index(row["service_tier"])
        )
        assert labels.index(enough[row["customer_id"]]["tier"]) <= target, row
        if row["hold_yuan"] > 0:
            assert labels.index(less[row["customer_id"]]["tier"]) > target, row
    return watched.height


def test_hold_yuan_equals_brute_force_on_the_sample(tmp_path: Path) -> None:
    """The sample export, icbc-star, a six-month window ending 2026-05-31 chained to one
    ending 2026-03-31: towards 2026-06-30 (window 2026H1), with transactions already in
    that window, accounts changing, rows after the as-of date (left out: not yet
    happened) and falls held by the buffers. The hold goes into icbc-star's cheapest
    balance component, other_loans (200 points per 10,000 yuan)."""
    bal = pl.read_csv(SAMPLE / "balances.csv", infer_schema=False)
    txn = pl.read_csv(SAMPLE / "transactions.csv", infer_schema=False)
    balances, transactions = bal.rows(), txn.rows()
    earlier = run(Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
                      trailing_months(2026, 3, 6)))  # fmt: skip
    write_scores(earlier.scores, tmp_path / "earlier.csv")
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
              trailing_months(2026, 5, 6), near=Fraction(40))  # fmt: skip
    job.previous = str(tmp_path / "earlier.csv")
    result = run(job)
    assert result.summary["watch"]["next_rating_day"] == "2026-06-30"
    reasons = set(result.scores.filter(pl.col("hold_yuan").is_not_null())["service_reason"])
    assert "held" in reasons and "contribution" in reasons  # below, and near the bound
    assert _brute_force(tmp_path, result, balances, transactions, "icbc-star", "CONSUMER_LOAN") > 20


def test_hold_yuan_brute_force_when_the_window_starts_after_the_as_of_date(
    tmp_path: Path,
) -> None:
    """One rating day a year (12-31): from 2026-03-31 the next is 2026-12-31, whose window
    (07-01..12-31) starts after the as-of date: nothing is accumulated yet, today's
    balances carry through it and the hold counts 184 days. A transaction before the
    window counts nothing there."""
    rules = rules_file(tmp_path, RULES + SERVICE.replace('["06-30", "12-31"]', '["12-31"]'))
    balances = [("P", "P1", "DEP", "2026-01-01", "460.00"), ("P", "P2", "LOAN", "2026-03-15",
                "10.00"), ("Q", "Q1", "DEP", "2026-01-01", "1000.00")]  # fmt: skip
    transactions = txn_rows([("P", "2026-03-02", "POS", "40.00"), ("Q", "2026-03-30", "POS",
                             "70.00"), ("Q", "2026-04-02", "POS", "5000.00")])  # fmt: skip
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, balances)
    txn = write_csv(tmp_path / "t.csv", TXN_COLUMNS, transactions)
    result = run(Job(str(bal), str(txn), trailing_months(2026, 3, 3), rules))
    watch = result.summary["watch"]
    assert (watch["next_rating_day"], watch["days_held"]) == ("2026-12-31", 184)
    rows = by_id(result)  # P: 460 + 2 x 10 x 17 / 90 + 40 = 503.78, Q: 1000 + 70 (near)
    assert (rows["P"]["tier"], rows["Q"]["tier"]) == ("B", "A")
    assert _brute_force(tmp_path, result, balances, transactions, rules, "LOAN") == 2
    assert rows["P"]["hold_yuan"] == Decimal("10.00")  # (500 - 460 - 2 x 10) / 2
    assert rows["Q"]["hold_yuan"] == Decimal("0.00")  # 1000 carried reaches A's bound


def test_rating_days_and_windows() -> None:
    days = ((6, 30), (12, 31))
    assert next_rating_day(date(2026, 6, 29), days) == date(2026, 6, 30)
    assert next_rating_day(date(2026, 6, 30), days) == date(2026, 12, 31)
    assert next_rating_day(date(2026, 12, 31), days) == date(2027, 6, 30)
    assert rating_window(date(2026, 12, 31)) == Window(
        date(2026, 7, 1), date(2026, 12, 31), "2026-07-01..2026-12-31"
    )
    leap = rating_window(date(2028, 6, 30))
    assert (leap.start, leap.days) == (date(2028, 1, 1), 182)
    mid = rating_window(date(2026, 3, 15))
    assert (mid.start, mid.end) == (date(2025, 9, 16), date(2026, 3, 15))
    assert rating_window(date(2026, 8, 30)).start == date(2026, 3, 1)  # 02-30: no such day


# --- rule files ------------------------------------------------------------------

BAD_SERVICE = [
    ("no rating days", "[service]\n", "service.rating_days"),
    ("empty rating days", "[service]\nrating_days = []\n", "service.rating_days"),
    ("rating days not a list", '[service]\nrating_days = "06-30"\n', "service.rating_days"),
    ("one digit", '[service]\nrating_days = ["6-30"]\n', "service.rating_days[0]"),
    ("not a day", '[service]\nrating_days = ["04-31"]\n', "service.rating_days[0]"),
    ("month 13", '[service]\nrating_days = ["13-01"]\n', "service.rating_days[0]"),
    ("02-29", '[service]\nrating_days = ["02-29"]\n', "service.rating_days[0]"),
    ("full-width digits", '[service]\nrating_days = ["０６-30"]\n', "service.rating_days[0]"),
    ("twice", '[service]\nrating_days = ["06-30", "06-30"]\n', "service.rating_days[1]"),
    ("unknown key", '[service]\nrating_days = ["06-30"]\nbuffer = 1\n', "service.buffer"),
    ("buffer of no tier", '[service]\nrating_days = ["06-30"]\nbuffer_months = { E = 1 }\n',
     "service.buffer_months.E"),
    ("negative buffer", '[service]\nrating_days = ["06-30"]\nbuffer_months = { A = -1 }\n',
     "service.buffer_months.A"),
    ("half a month", '[service]\nrating_days = ["06-30"]\nbuffer_months = { A = 6.5 }\n',
     "service.buffer_months.A"),
    ("a boolean buffer", '[service]\nrating_days = ["06-30"]\nbuffer_months = { A = true }\n',
     "service.buffer_months.A"),
    ("over a century", '[service]\nrating_days = ["06-30"]\nbuffer_months = { A = 1201 }\n',
     "service.buffer_months.A"),
    ("buffers not a table", '[service]\nrating_days = ["06-30"]\nbuffer_months = 6\n',
     "service.buffer_months"),
]  # fmt: skip
FLOOR = '[service]\nrating_days = ["06-30"]\n[[service.floors]]\n'
BAD_FLOORS = [
    ("floor of no tier", 'column = "pb"\nis_true = true\ntier = "Z"\n', "service.floors[0].tier"),
    ("no condition", 'column = "pb"\ntier = "A"\n', "service.floors[0]"),
    ("two conditions", 'column = "pb"\nis_true = true\nequals = "x"\ntier = "A"\n',
     "service.floors[0]"),
    ("is_true false", 'column = "pb"\nis_true = false\ntier = "A"\n', "service.floors[0].is_true"),
    ("at_least 0", 'column = "n"\nat_least = 0\ntier = "A"\n', "service.floors[0].at_least"),
    ("empty equals", 'column = "c"\nequals = ""\ntier = "A"\n', "service.floors[0].equals"),
    ("spaced equals", 'column = "c"\nequals = " gold"\ntier = "A"\n', "service.floors[0].equals"),
    ("no column", 'is_true = true\ntier = "A"\n', "service.floors[0].column"),
    ("a scores column", 'column = "service_tier"\nis_true = true\ntier = "A"\n',
     "service.floors[0].column"),
    ("a component", 'column = "Deposits"\nis_true = true\ntier = "A"\n',
     "service.floors[0].column"),
    ("internal name", 'column = "_x"\nis_true = true\ntier = "A"\n', "service.floors[0].column"),
    ("unknown key", 'column = "pb"\nis_true = true\ntier = "A"\nlevel = 1\n',
     "service.floors[0].level"),
    ("read two ways", 'column = "pb"\nis_true = true\ntier = "A"\n[[service.floors]]\n'
     'column = "pb"\nequals = "y"\ntier = "B"\n', "service.floors[1].column"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "key"), BAD_SERVICE + [
    (case, FLOOR + body, key) for case, body, key in BAD_FLOORS])  # fmt: skip
def test_bad_service_tables_name_file_and_key(tmp_path: Path, case: str, text: str,
                                              key: str) -> None:  # fmt: skip
    path = rules_file(tmp_path, RULES + text)
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    assert caught.value.key == key, (case, str(caught.value))
    assert caught.value.file == path


def test_a_column_read_as_a_flag_by_a_gate_and_as_a_text_by_a_floor(tmp_path: Path) -> None:
    gate = '[[quality_gates]]\nid = "g"\ncolumn = "pb"\nat_least = 2\n'
    floor = FLOOR + 'column = "pb"\nis_true = true\ntier = "A"\n'
    with pytest.raises(ConfigError, match="read as a count elsewhere") as caught:
        load_rules(rules_file(tmp_path, RULES + gate + floor))
    assert caught.value.key == "service.floors[0].column"


RANK = RULES.replace("[ruleset]", '[ruleset]\ntier_by = "rank"').replace(
    "min = 1000", "top_share = 0.1").replace("min = 500", "top_share = 0.5").replace(
    "min = 100", "top_share = 0.9").replace('label = "D"\nmin = 0', 'label = "D"')  # fmt: skip
NO_LEVER = RULES.replace('rate = 1\ncodes = ["DEP"]', 'rate = 0\ncodes = ["DEP"]').replace(
    'rate = 2\ncodes = ["LOAN"]', 'rate = 0\ncodes = ["LOAN"]')  # fmt: skip


@pytest.mark.parametrize("text", [RANK, NO_LEVER], ids=["rank tiers", "no balance lever"])
def test_service_needs_rate_scored_points_tiers(tmp_path: Path, text: str) -> None:
    """hold_yuan raises the points in proportion to a balance: rank tiers, and a rule
    set without a balances component that earns points, have no such balance."""
    load_rules(rules_file(tmp_path, text))  # fine without [service]
    with pytest.raises(ConfigError) as caught:
        load_rules(rules_file(tmp_path, text + '[service]\nrating_days = ["06-30"]\n'))
    assert caught.value.key == "service"


def test_shipped_icbc_star_service_and_the_strict_copy() -> None:
    plain, strict = load_rules("icbc-star"), load_rules("icbc-star-strict")
    assert plain.service is not None and strict.service == plain.service
    assert plain.service.rating_days == ((6, 30), (12, 31))
    assert plain.service.buffer_months == {"五星级": 6, "六星级": 12, "七星级": 24}
    floors = [(f.column, f.kind, f.equals, f.tier) for f in plain.service.floors]
    assert floors == [("private_banking", "flag", None, "七星级"),
                      ("card_level", "text", "白金卡", "六星级"),
                      ("card_level", "text", "金卡", "五星级")]  # fmt: skip


def test_rules_check_refuses_a_bad_service_table(tmp_path: Path) -> None:
    path = rules_file(tmp_path, RULES + '[service]\nrating_days = ["02-29"]\n')
    done = tierscore_here("rules", "check", path)
    assert done.returncode == 2
    assert "service.rating_days[0]" in done.stderr and "02-29" in done.stderr


# --- overrides and the earlier run's state ------------------------------------------


def _run_with(tmp: Path, overrides: str | None = None, previous: str | None = None,
              rules: str | None = None) -> Result:  # fmt: skip
    bal = write_csv(tmp / "bal.csv", BAL_COLUMNS, BALANCES)
    txn = write_csv(tmp / "txn.csv", TXN_COLUMNS, [])
    job = Job(str(bal), str(txn), month(2026, 5), rules or rules_file(tmp))
    if overrides is not None:
        (tmp / "ov.csv").write_text(overrides, encoding="utf-8")
        job.overrides = str(tmp / "ov.csv")
    if previous is not None:
        (tmp / "prev.csv").write_text(previous, encoding="utf-8")
        job.previous = str(tmp / "prev.csv")
    return run(job)


def test_bad_override_rows_are_rejected_and_listed(tmp_path: Path) -> None:
    text = (
        "customer_id,tier,reason,until\n"
        "U,Z,no such tier,2026-12-31\n"  # 2: not a tier
        "H,A,,2026-12-31\n"  # 3: no reason
        "V,A,bad day,2026-02-30\n"  # 4: not a date
        "F,A,expired,2026-05-30\n"  # 5: before the as-of date 05-31
        ",A,no one,2026-12-31\n"  # 6: empty id
        "G,A,first,2026-12-31\n"  # 7, 8: G twice, differently: both rejected
        "G,B,second,2026-12-31\n"
        "O,A,twice the same,2026-05-31\n"  # 9, 10: an exact repeat, used once
        "O,A,twice the same,2026-05-31\n"
        "U,A\n"  # 11: fewer fields
    )
    result = _run_with(tmp_path, overrides=text)
    rejects = result.rejects.filter(pl.col("file").str.ends_with("ov.csv"))
    found = {(r["line"], r["column"]): r["reason"] for r in rejects.iter_rows(named=True)}
    assert found[(2, "tier")] == "not a tier of svc-test"
    assert found[(3, "reason")] == "empty reason"
    assert found[(4, "until")] == "not a valid date"
    assert found[(5, "until")] == "expired: before the as-of date 2026-05-31"
    assert found[(6, "customer_id")] == "empty customer_id"
    assert found[(7, "customer_id")] == found[(8, "customer_id")] == (
        "conflicting rows for the same customer_id")  # fmt: skip
    assert (11, "(fields)") in found
    rows = by_id(result)
    assert [c for c, r in rows.items() if r["service_reason"] == "override"] == ["O"]
    counts = result.summary["service"]["overrides"]
    assert counts == {"read": 10, "used": 1, "duplicate": 1, "rejected": 8, "applied": 1,
                      "not_scored": 0}  # fmt: skip
    assert result.summary["rows"].keys() == {"balances", "transactions"}  # no reject limit
    assert "overrides" in result.inputs


def test_overrides_need_a_service_table_and_their_columns(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no \\[service\\]"):
        _run_with(tmp_path, "customer_id,tier,reason,until\n", rules=rules_file(tmp_path, RULES))
    with pytest.raises(InputError, match="missing required column"):
        _run_with(tmp_path, "customer_id,tier,reason\nO,A,x\n")


def test_an_override_for_a_customer_not_scored_is_counted(tmp_path: Path) -> None:
    result = _run_with(tmp_path, "customer_id,tier,reason,until\nNOBODY,A,x,2026-12-31\n")
    assert result.summary["service"]["overrides"]["not_scored"] == 1


PREV = "customer_id,tier,service_tier,service_since,below_since\n"


@pytest.mark.parametrize(
    ("rows", "key", "message"),
    [
        ("H,A,Z,2026-04-30,\n", "service_tier", "are not tiers"),
        ("H,A,,2026-04-30,\n", "service_tier", "no service_tier"),
        ("H,A,A,2026/04/30,\n", "service_since", "not a date YYYY-MM-DD"),
        ("H,A,A,2026-4-30,\n", "service_since", "not a date YYYY-MM-DD"),
        ("H,A,A,,\n", "service_since", "no date"),
        ("H,A,A,2026-04-30,2026-06-01\n", "below_since", "after this run's as-of date"),
        ("H,A,A,2026-06-30,\n", "service_since", "after this run's as-of date"),
    ],
)
def test_a_bad_service_state_in_previous_stops_the_run(
    tmp_path: Path, rows: str, key: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        _run_with(tmp_path, previous=PREV + rows)
    assert caught.value.key == key


def test_previous_without_below_since_column_stops(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _run_with(tmp_path, previous="customer_id,tier,service_tier,service_since\nH,A,A,"
                  "2026-04-30\n")  # fmt: skip
    assert caught.value.key == "below_since"


def test_an_older_previous_file_starts_every_service_tier_at_the_contribution(
    tmp_path: Path,
) -> None:
    """Without service columns (a scores file from before [service]): S = C for everyone,
    so H, A in April and B now, is B at once; a gone row has no service tier."""
    result = _run_with(tmp_path, previous="customer_id,tier\nH,A\nGONE,B\n")
    rows = by_id(result)
    assert state(rows["H"]) == ("B", "B", D(2026, 5, 31), None, None, "contribution")
    assert rows["GONE"]["service_tier"] is None and rows["GONE"]["movement"] == "gone"
    assert result.summary["service"]["previous_state"] is False


def test_a_previous_state_is_read_from_parquet_too(tmp_path: Path) -> None:
    """A Parquet scores file keeps its dates typed: read back the same."""
    prev = pl.DataFrame({"customer_id": ["H"], "tier": ["A"], "service_tier": ["A"],
                         "service_since": [D(2026, 4, 30)], "below_since": [None]},
                        schema_overrides={"below_since": pl.Date})  # fmt: skip
    prev.write_parquet(tmp_path / "prev.parquet")
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, BALANCES)
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    job = Job(str(bal), str(txn), month(2026, 5), rules_file(tmp_path))
    job.previous = str(tmp_path / "prev.parquet")
    row = by_id(run(job))["H"]
    assert state(row) == ("B", "A", D(2026, 4, 30), D(2026, 5, 31), D(2026, 12, 31), "held")


def test_floors_on_a_customers_file_without_their_columns_are_named(tmp_path: Path) -> None:
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, BALANCES)
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    people = write_csv(tmp_path / "p.csv", ("customer_id", "branch", "card_level"),
                       [("G", "b", "gold"), ("F", "b", "ＧＯＬＤ")])  # fmt: skip
    job = Job(str(bal), str(txn), month(2026, 5), rules_file(tmp_path))
    job.customers = str(people)
    result = run(job)
    assert result.summary["service"]["floors_not_evaluated"] == ["private_banking"]
    rows = by_id(result)
    assert (rows["G"]["service_tier"], rows["F"]["service_tier"]) == ("B", "C")  # exact text


def test_a_bad_floor_flag_rejects_the_row_and_gives_no_floor(tmp_path: Path) -> None:
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, BALANCES)
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    people = write_csv(tmp_path / "p.csv", ("customer_id", "private_banking"),
                       [("F", "ture"), ("G", "是")])  # fmt: skip
    job = Job(str(bal), str(txn), month(2026, 5), rules_file(tmp_path))
    job.customers = str(people)
    result = run(job)
    rows = by_id(result)
    assert (rows["F"]["service_tier"], rows["G"]["service_tier"]) == ("C", "A")
    bad = result.rejects.filter(pl.col("file").str.ends_with("p.csv"))
    assert bad.select("line", "column", "reason").row(0) == (2, "private_banking",
                                                              "not true or false")  # fmt: skip


# --- the command line and the sample ---------------------------------------------------


def test_chained_cli_runs_on_the_sample(tmp_path: Path) -> None:
    """Two monthly runs of the shipped sample, the second chained to the first, with
    overrides and the branch lists: the lists and the report carry the service tier."""
    shutil.copytree(SAMPLE, tmp_path / "sample_data")
    common = ["score", "--balances", "sample_data/balances.csv",
              "--transactions", "sample_data/transactions.csv", "--customers",
              "sample_data/customers.csv", "--months", "6", "--quiet"]  # fmt: skip
    first = tierscore_here(*common, "--period", "2026-05", "--out", "may", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    second = tierscore_here(
        *common, "--period", "2026-06", "--previous", "may/scores.csv", "--overrides",
        "sample_data/overrides.csv", "--split", "branch", "--out", "june", cwd=tmp_path,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    june = tmp_path / "june"
    summary = json.loads((june / "summary.json").read_text(encoding="utf-8"))
    assert summary["service"]["previous_state"] is True and summary["service"]["rating_day"]
    assert summary["service"]["overrides"]["rejected"] == 1  # C0005's, ended 2026-03-31
    lists = list((june / "by_branch").rglob("*.csv"))
    assert lists and all("service_tier" in p.read_text(encoding="utf-8-sig").split("\n")[0]
                         for p in lists)  # fmt: skip
    page = (june / "report.html").read_text(encoding="utf-8")
    assert 'id="watch"' in page and 'id="service"' in page
    rejects = (june / "rejects.csv").read_text(encoding="utf-8")
    assert "overrides.csv,3,until,2026-03-31,expired" in rejects
    manifest = json.loads((june / "manifest.json").read_text(encoding="utf-8"))
    assert "overrides" in manifest["inputs"]
    scores = pl.read_csv(june / "scores.csv", infer_schema=False)
    floored = scores.filter(pl.col("service_reason").str.starts_with("floor:"))
    assert set(floored["customer_id"]) >= {"C0002", "C0007", "C0031", "C0038"}


def test_customers_column_named_like_a_service_column_stops(tmp_path: Path) -> None:
    bal = write_csv(tmp_path / "bal.csv", BAL_COLUMNS, BALANCES)
    txn = write_csv(tmp_path / "txn.csv", TXN_COLUMNS, [])
    people = write_csv(tmp_path / "p.csv", ("customer_id", "hold_yuan"), [("G", "1")])
    job = Job(str(bal), str(txn), month(2026, 5), rules_file(tmp_path))
    job.customers = str(people)
    with pytest.raises(InputError) as caught:
        run(job)
    assert caught.value.key == "hold_yuan"


@pytest.mark.spark
def test_spark_gives_the_same_service_tiers_and_watch_list(spark: Any, tmp_path: Path) -> None:
    from tierscore.scoring import spark_engine

    people = str(SAMPLE / "customers.csv")
    earlier = run(Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
                      trailing_months(2026, 5, 6), customers=people))  # fmt: skip
    write_scores(earlier.scores, tmp_path / "may.csv")
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
              trailing_months(2026, 7, 6), customers=str(SAMPLE / "customers.csv"),
              previous=str(tmp_path / "may.csv"), near=Fraction(30))  # fmt: skip
    job.overrides = str(SAMPLE / "overrides.csv")
    local, remote = run(job), spark_engine.run(job, spark=spark)
    assert remote.scores.equals(local.scores) and remote.scores.schema == local.scores.schema
    assert remote.rejects.equals(local.rejects)
    assert remote.summary == local.summary
    assert local.summary["watch"]["customers"] > 0
    assert local.scores["hold_yuan"].drop_nulls().len() == local.summary["watch"]["customers"]


def test_measured_in_parts_gives_the_same_holds(tmp_path: Path) -> None:
    """The forward measure follows the run's parts (rows_per_part): same scores."""
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
              trailing_months(2026, 5, 6), customers=str(SAMPLE / "customers.csv"),
              near=Fraction(40))  # fmt: skip
    whole = run(job)
    job.rows_per_part = 3000
    parts = run(job)
    assert parts.scores.equals(whole.scores) and parts.summary == whole.summary
    assert whole.scores["hold_yuan"].drop_nulls().len() > 20


def test_report_sections_escape_and_speak_both_languages() -> None:
    from tierscore.scoring.report import TABLE_ROWS
    from tierscore.scoring.report_text import words
    from tierscore.scoring.watch_report import service_sections

    entry = {"branch": "<script>x</script>", "manager": "=HYPERLINK()", "customer_id": "C&1",
             "tier": "B", "service_tier": "A", "service_reason": "held", "points": "700.00",
             "below_since": "2026-05-31", "downgrade_on": "2026-12-31"}  # fmt: skip
    top = [{**entry, "hold_yuan": f"{i}.00"} for i in range(TABLE_ROWS + 5)]
    summary = {
        "tiers": [{"tier": "A", "customers": 1}],
        "service": {"as_of": "2026-05-31", "rating_day": False, "next_rating_day": "2026-06-30",
                    "tiers": [{"tier": "A", "customers": 2}], "held": 1, "floored": 0,
                    "overridden": 0, "floors_not_evaluated": ["<pb>"], "previous_state": True},
        "watch": {"as_of": "2026-05-31", "next_rating_day": "2026-06-30", "pct": "10",
                  "window": {"start": "2026-01-01", "end": "2026-06-30"}, "lever": "贷款 <b>",
                  "customers": len(top), "top": top},
    }  # fmt: skip
    english = "".join(service_sections(summary, words("en")))
    chinese = "".join(service_sections(summary, words("zh")))
    for page in (english, chinese):
        assert "<script>" not in page and "&lt;script&gt;" in page and "<b>" not in page
        assert "&lt;pb&gt;" in page  # two header rows, one tier, the 1,000 largest holds
        assert page.count("<tr>") == 2 + 1 + TABLE_ROWS
        assert f"{TABLE_ROWS + 5:,}" in page  # the note: how many there are
        assert ">4.00<" not in page and f">{TABLE_ROWS + 4}.00<" in page
    assert "Watch list" in english and "流失预警" in chinese and "保级金额" in chinese
    assert "As of 2026-05-31. " in english and "截至 2026-05-31。" in chinese  # no rating day
    assert "Watch list" not in chinese
