"""The 积数 ledger stands for the exports it was accumulated from (issue 21): for random
histories cut into month exports (the first month's export also holding every earlier
row, its carry-in), accumulating month by month and scoring a window from the ledger
gives exactly what a direct run over the exports of every accumulated month up to the
window's last month gives: the same scores frame, summary and rejects.

The histories always hold accounts carried unchanged over several months, accounts
opened and closed mid-month, an account moving to another customer, a joint account,
unmapped and excluded codes, exact repeats and conflicting rows within a month, bad
rows, repeated transaction ids and customers whose only rows are before the window;
random rows come on top. Rule sets: icbc-star (its watch's figure towards the next
rating day comes from the ledger too), pyramid, card-tier and icbc-star with
``negative_balances = "zero"`` and ``joint_accounts = "split"``. Re-accumulation:
the same export changes nothing; a changed export whose closing balances change makes
every later month stale until they are accumulated again, in order; one that keeps
them does not. The one difference found, a window whose input has no used row but rows
outside it of no counted code, is ``test_an_input_with_no_usable_row_stops_neither``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tierscore.scoring.accumulate import Accumulation, accumulate
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.ledger import Ledger, month_end, month_label, next_month
from tierscore.scoring.ledger_score import run_from_ledger
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.window import Window, trailing_months

from .conftest import BAL_COLUMNS, TXN_COLUMNS, examples, write_csv

ROOT = Path(__file__).resolve().parents[1]
ZERO_SPLIT = "zero-split"  # icbc-star, overdrawn balances count 0, joint balances shared
RULE_SETS = ("icbc-star", "pyramid", "card-tier", ZERO_SPLIT)
# First accumulated months: across a year's end, and on both sides of a rating day.
FIRSTS = (date(2025, 7, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 6, 1))
EARLY = 45  # days of history before the first month (the first export's carry-in)

CUSTOMERS = ("C1", "C2", "C3", "C4")
ACCOUNTS = ("A1", "A2", "A3", "A4", "A5")
# MORTGAGE and CC_OVERDRAFT: excluded by card-tier; ODD: mapped by no rule set
PRODUCTS = ("CURRENT", "TIME", "MMF", "MORTGAGE", "CC_OVERDRAFT", "ODD")
BALANCES = ("0.00", "0.00", "100.00", "2500.50", "99999.99", "1234567.89", "-300.00", "1.2.3")
TYPES = ("POS", "FUND_BUY", "REMOTE_CASH", "MMF_BUY", "ODD_TXN")  # MMF_BUY excluded
AMOUNTS = ("1.00", "250.00", "20000.00", "-5.00", "x1")  # the last two: bad rows
FEES = ("", "5.00", "0.00")

Row = tuple[str, ...]


@dataclass(frozen=True)
class History:
    """Rows over the accumulated months (and ``EARLY`` days before them), each with the
    month whose export holds it (None: by its date); ``last_day``: the last month
    accumulated to that day only, its export then cut there if ``cut``."""

    months: tuple[date, ...]
    balances: tuple[tuple[Row, date | None], ...]
    transactions: tuple[tuple[Row, date | None], ...]
    last_day: date | None = None
    cut: bool = False


def _months(first: date, count: int) -> tuple[date, ...]:
    months = [first]
    while len(months) < count:
        months.append(next_month(months[-1]))
    return tuple(months)


def _day(month: date, day: int) -> date:
    return month.replace(day=min(day, month_end(month).day))


def _text(day: date) -> str:
    return day.isoformat()


def history_of(
    first: date,
    count: int,
    days: tuple[int, ...],
    extra_balances: tuple[Row, ...] = (),
    extra_transactions: tuple[Row, ...] = (),
    last_day: int | None = None,
    cut: bool = False,
    sentinel: bool = True,
) -> History:
    """The history every case holds (see the module docstring), its days of the month
    taken from ``days`` (9 numbers 1..31), with the extra random rows."""
    months = _months(first, count)
    last, before = months[-1], first - timedelta(days=EARLY)
    opened, moved, odd, dup, txn, bad, joint = (
        _day(months[(i + d) % count], d) for i, d in enumerate(days[:7])
    )
    closed = opened + timedelta(days=days[7])  # mid-month: the same month or the next
    bal: list[tuple[Row, date | None]] = []

    def b(*row: str, month: date | None = None) -> None:
        bal.append((row, month))

    b("C9", "AC", "CURRENT", _text(before), "5000.00")  # carried unchanged: every month
    b("C9", "AT", "TIME", _text(before + timedelta(days=3)), "800000.00")
    b("C8", "AG", "CURRENT", _text(before + timedelta(days=1)), "300.00")  # gone before
    b("C8", "AG", "CURRENT", _text(before + timedelta(days=9)), "0.00")
    b("C1", "AO", "TIME", _text(opened), "150000.00")  # opened and closed mid-month
    b("C1", "AO", "TIME", _text(closed), "0.00")
    b("C2", "AM", "MMF", _text(before + timedelta(days=5)), "42000.00")  # moves to C3
    b("C3", "AM", "MMF", _text(moved), "42000.00")
    b("C4", "AU", "ODD", _text(odd), "7000.00")  # unmapped
    b("C4", "AX", "MORTGAGE", _text(odd), "900000.00")  # excluded by card-tier
    b("C2", "AD", "CURRENT", _text(dup), "321.00")  # repeated exactly
    b("C2", "AD", "CURRENT", _text(dup), "321.00")
    b("C3", "AK", "CURRENT", _text(dup), "10.00")  # conflicting: same account and day
    b("C3", "AK", "CURRENT", _text(dup), "20.00")
    b("C1", "AJ", "CURRENT", _text(joint), "60000.00")  # joint: C1 and C2 hold it
    b("C2", "AJ", "CURRENT", _text(joint), "60000.00")
    b("C2", "AJ", "CURRENT", _text(_day(last, 28)), "60000.00")  # C1 leaves it
    b("C4", "AB", "CURRENT", _text(bad), "abc")  # bad rows: rejects
    b("C4", "AB", "CURRENT", "2026-13-45", "10.00", month=months[days[8] % count])
    b("C3", "AN", "CURRENT", _text(bad), "-300.00")  # overdrawn (rejected unless "zero")
    txns: list[tuple[Row, date | None]] = []

    def t(customer: str, day: date, kind: str, amount: str, fee: str = "", ident: str = "") -> None:
        txns.append(((customer, ident or _id(day, len(txns)), _text(day), kind, amount, fee, ""),
                     None))  # fmt: skip

    t("C8", before + timedelta(days=2), "POS", "900.00")  # C8: rows only before the window
    if sentinel:  # a used transaction in every month (else a window may have none)
        for month in months:
            t("C9", _day(month, 15), "POS", "12.34")
    t("C1", txn, "POS", "5000.00", ident=_id(txn, 900))  # the same id: an exact repeat
    t("C1", txn, "POS", "5000.00", ident=_id(txn, 900))
    t("C2", txn, "FUND_BUY", "700.00", ident=_id(txn, 901))  # the same id: conflicting
    t("C2", txn, "FUND_BUY", "800.00", ident=_id(txn, 901))
    t("C3", txn, "REMOTE_CASH", "30000.00", "50.00")  # capped, needs a fee
    t("C3", txn, "REMOTE_CASH", "300.00")  # no fee: not counted
    t("C4", txn, "MMF_BUY", "1000.00")  # excluded
    t("C4", txn, "ODD_TXN", "1000.00")  # unmapped
    t("C4", bad, "POS", "x1")  # bad
    for row in extra_balances:
        b(*row)
    for row in extra_transactions:
        customer, k, day, kind, amount, fee = row
        t(customer, date.fromisoformat(day), kind, amount, fee, _id(date.fromisoformat(day), k))
    partial = _day(last, last_day) if last_day is not None else None
    if partial == month_end(last):
        partial = None
    return History(months, tuple(bal), tuple(txns), partial, cut and partial is not None)


def _id(day: date, k: int | str) -> str:
    """An id unique to its month (a bank's ids do not come back in later months)."""
    return f"T{day.year}{day.month:02d}-{k}"


@st.composite
def histories(draw: st.DrawFn, min_months: int = 1) -> History:
    first = draw(st.sampled_from(FIRSTS))
    count = draw(st.integers(min_months, 6))
    months = _months(first, count)
    start, end = first - timedelta(days=EARLY), month_end(months[-1])
    day = st.integers(0, (end - start).days).map(lambda n: _text(start + timedelta(days=n)))
    balances = draw(st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.sampled_from(ACCOUNTS),
        st.sampled_from(PRODUCTS), day, st.sampled_from(BALANCES)), max_size=20))  # fmt: skip
    repeats = draw(st.lists(st.integers(0, 19), max_size=3))
    balances += [balances[i] for i in repeats if i < len(balances)]  # exact repeats
    transactions = draw(st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.integers(0, 5), day,
        st.sampled_from(TYPES), st.sampled_from(AMOUNTS), st.sampled_from(FEES)),
        max_size=14))  # fmt: skip
    return history_of(
        first,
        count,
        tuple(draw(st.lists(st.integers(1, 31), min_size=9, max_size=9))),
        tuple(balances),
        tuple(transactions),
        draw(st.one_of(st.none(), st.integers(1, 30))),
        draw(st.booleans()),
        draw(st.booleans()),
    )


def _export_month(history: History, day_text: str, given: date | None) -> date | None:
    """The month whose export holds a row: its own (the first month's for earlier
    rows), or none after the last day a cut partial month goes to."""
    if given is not None:
        return given
    day = date.fromisoformat(day_text)
    if history.cut and history.last_day is not None and day > history.last_day:
        return None
    return max(history.months[0], day.replace(day=1))


@dataclass
class Exports:
    """The month exports of a history written into a folder, and a ledger beside them."""

    folder: Path
    history: History
    rules: str
    files: dict[date, tuple[str, str]] = field(default_factory=dict)

    @property
    def ledger(self) -> Path:
        return self.folder / "ledger"

    def write(self, history: History, only: date | None = None, tag: str = "") -> None:
        """Write every month's export of ``history``, or ``only`` that month's again
        (under a name with ``tag``: the others keep theirs, as the ledger has them)."""
        self.history = history
        for month in history.months if only is None else (only,):
            label = month_label(month) + tag
            rows = {}
            for name, columns, date_at in (("balances", BAL_COLUMNS, 3),
                                           ("transactions", TXN_COLUMNS, 2)):  # fmt: skip
                held = [r for r, given in getattr(history, name)
                        if _export_month(history, r[date_at], given) == month]  # fmt: skip
                path = self.folder / f"{name}-{label}.csv"
                rows[name] = str(write_csv(path, columns, held))
            self.files[month] = (rows["balances"], rows["transactions"])

    def accumulate(self, month: date) -> list[str]:
        """Accumulate one month from its export; the later months stale after it."""
        bal, txn = self.files[month]
        partial = self.history.last_day if month == self.history.months[-1] else None
        job = Accumulation((bal,), (txn,), month, self.ledger, self.rules, last_day=partial)
        return accumulate(job).stale

    def direct(self, window: Window) -> Result:
        """A direct run over the exports of every month up to the window's last."""
        months = [m for m in self.history.months if m <= window.end]
        bal = tuple(self.files[m][0] for m in months)
        txn = tuple(self.files[m][1] for m in months)
        return run(Job(bal, txn, window, self.rules))

    def from_ledger(self, window: Window) -> Result:
        return run_from_ledger(Job((), (), window, self.rules), self.ledger)

    def window(self, end: int, length: int) -> Window:
        """``length`` months ending with the ``end``-th accumulated month, to the day a
        partial last month was accumulated to."""
        month = self.history.months[end]
        length = min(length, end + 1)
        window = trailing_months(month.year, month.month, length)
        if month == self.history.months[-1] and self.history.last_day is not None:
            window = Window(window.start, self.history.last_day, f"{window.label} to date")
        return window


@pytest.fixture(scope="module")
def rule_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Rule set names, and the zero-and-split one as a file (no shipped rule set sets
    both ``negative_balances`` and ``joint_accounts``)."""
    text = (ROOT / "rules" / "icbc-star.toml").read_text(encoding="utf-8")
    named = 'name = "icbc-star"\n'
    extra = 'negative_balances = "zero"\njoint_accounts = "split"\n'
    path = tmp_path_factory.mktemp("rules") / "zero-split.toml"
    path.write_text(text.replace(named, f'name = "zero-split"\n{extra}', 1), encoding="utf-8")
    return {**{name: name for name in RULE_SETS}, ZERO_SPLIT: str(path)}


@contextmanager
def exports(history: History, rules: str) -> Iterator[Exports]:
    with tempfile.TemporaryDirectory() as tmp:
        written = Exports(Path(tmp), history, rules)
        written.write(history)
        yield written


def _outcome(call: Callable[[], Result]) -> Result | ConfigError:
    try:
        return call()
    except ConfigError as exc:  # InputError too: a window none of whose rows is usable
        return exc


def _refused_for_the_watch(error: ConfigError, history: History) -> bool:
    """The ledger cannot give the watch's figure when its rating window starts before
    the first accumulated month (the exports' earlier rows are carry-in, not months)."""
    found = re.search(r"(\d{4}-\d{2}) is not in the ledger: the watch measures", str(error))
    return found is not None and found.group(1) < month_label(history.months[0])


def assert_same(
    direct: Result | ConfigError, ledger: Result | ConfigError, history: History
) -> bool:
    """The ledger's result is the direct run's: scores frame, summary, rejects; or both
    stop, for the same kind of reason (the messages may differ: a window with no usable
    row names its rows' dates, which the ledger knows by month)."""
    if isinstance(ledger, ConfigError) and not isinstance(direct, ConfigError):
        assert _refused_for_the_watch(ledger, history), str(ledger)
        return False
    if isinstance(direct, ConfigError) or isinstance(ledger, ConfigError):
        assert type(direct) is type(ledger), (direct, ledger)
        return False
    if not ledger.scores.equals(direct.scores):
        joined = direct.scores.join(ledger.scores, on=direct.scores.columns[0], how="full",
                                    suffix="_ledger", nulls_equal=True)  # fmt: skip
        raise AssertionError(f"scores differ:\n{joined}")
    for key in direct.summary.keys() | ledger.summary.keys():
        assert ledger.summary.get(key) == direct.summary.get(key), key
    assert ledger.summary == direct.summary
    columns = ("file", "line", "reason")
    assert _sorted(ledger.rejects, columns).equals(_sorted(direct.rejects, columns))
    return True


def _sorted(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    return frame.select(columns).sort(pl.all())


def _accumulate_all(written: Exports) -> None:
    for month in written.history.months:
        assert written.accumulate(month) == []
    assert Ledger(written.ledger).stale() == {}


def _check(written: Exports, windows: list[tuple[int, int]]) -> int:
    """Each window: the ledger equals the direct run. How many scored (not refused)."""
    scored = 0
    for end, length in windows:
        window = written.window(end, length)
        direct = _outcome(lambda w=window: written.direct(w))
        ledger = _outcome(lambda w=window: written.from_ledger(w))
        try:
            scored += assert_same(direct, ledger, written.history)
        except AssertionError as exc:
            raise AssertionError(f"window {window}: {exc}") from exc
    return scored


# One feature-rich history per rule set, tried in every run whatever hypothesis draws.
FIXED = history_of(date(2026, 1, 1), 6, (3, 17, 9, 12, 20, 5, 14, 28, 2), last_day=None)
FIXED_PARTIAL = history_of(
    date(2025, 12, 1), 4, (31, 1, 15, 30, 8, 22, 11, 19, 3), last_day=10, cut=True
)


windows_drawn = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 6)), min_size=1, max_size=2)


@settings(max_examples=examples(30), deadline=None)
@given(history=histories(), rules=st.sampled_from(RULE_SETS), windows=windows_drawn)
@example(history=FIXED, rules="icbc-star", windows=[(5, 6), (2, 2)])
@example(history=FIXED, rules="pyramid", windows=[(5, 6), (3, 1)])
@example(history=FIXED, rules="card-tier", windows=[(5, 6), (4, 3)])
@example(history=FIXED, rules=ZERO_SPLIT, windows=[(5, 6), (1, 2)])
@example(history=FIXED_PARTIAL, rules="icbc-star", windows=[(3, 3), (1, 2)])
@example(history=FIXED_PARTIAL, rules=ZERO_SPLIT, windows=[(3, 4), (2, 1)])
def test_ledger_equals_the_direct_run(
    rule_paths: dict[str, str], history: History, rules: str, windows: list[tuple[int, int]]
) -> None:
    """Windows of 1 to 6 months ending at any accumulated month (the last one to the day
    it was accumulated to), always the longest one ending at the last month too."""
    count = len(history.months)
    drawn = [(end % count, length) for end, length in windows]
    with exports(history, rule_paths[rules]) as written:
        _accumulate_all(written)
        _check(written, [(count - 1, 6), *drawn])


def _changed(history: History, month: date, rows: list[Row], txns: list[Row]) -> History:
    """``history`` with rows added to ``month``'s export."""
    return replace(
        history,
        balances=(*history.balances, *((r, month) for r in rows)),
        transactions=(*history.transactions, *((r, month) for r in txns)),
    )


def _full(history: History) -> History:
    return replace(history, last_day=None, cut=False)


@settings(max_examples=examples(25), deadline=None)
@given(history=histories(min_months=3).map(_full), rules=st.sampled_from(RULE_SETS),
       at=st.integers(0, 5), keeps=st.booleans())  # fmt: skip
@example(history=FIXED, rules="icbc-star", at=1, keeps=False)
@example(history=FIXED, rules="card-tier", at=2, keeps=True)
def test_accumulating_a_month_again(
    rule_paths: dict[str, str], history: History, rules: str, at: int, keeps: bool
) -> None:
    """Again from the same export: nothing changes. From a changed export: if its closing
    balances change, every later month is stale (named, and scoring a window over one
    stops naming it) until they are accumulated again, in order; then the ledger equals
    the direct run over the new exports. If they do not change (a balance changed and
    changed back within the month, a transaction added), no month is stale and the
    ledger equals the direct run at once."""
    months = history.months
    k = at % (len(months) - 1)  # a month with a month after it
    month, count = months[k], len(months)
    with exports(history, rule_paths[rules]) as written:
        _accumulate_all(written)
        whole = written.window(count - 1, 6)
        before = _outcome(lambda: written.from_ledger(whole))
        assert written.accumulate(month) == []  # the same export again
        again = _outcome(lambda: written.from_ledger(whole))
        assert not isinstance(again, ConfigError), again
        assert again.scores.equals(before.scores) and again.summary == before.summary
        assert Ledger(written.ledger).stale() == {}
        day = _day(month, 12)
        if keeps:  # AC holds 5000.00: 1.00 for a day, then 5000.00 again
            rows = [("C9", "AC", "CURRENT", _text(day), "1.00"),
                    ("C9", "AC", "CURRENT", _text(day + timedelta(days=1)), "5000.00")]  # fmt: skip
        else:  # AC holds 7777.77 from the month's last day: its closing balance changes
            rows = [("C9", "AC", "CURRENT", _text(month_end(month)), "7777.77")]
        txns = [("C9", _id(day, "new"), _text(day), "POS", "99.00", "", "")]
        written.write(_changed(history, month, rows, txns), only=month, tag="-v2")
        made_stale = written.accumulate(month)
        stale = Ledger(written.ledger).stale()
        if keeps:
            assert made_stale == [] and stale == {}
        else:
            assert made_stale == [month_label(m) for m in months[k + 1 :]]
            _stale_until_accumulated(written, k)
        _check(written, [(count - 1, 6), (min(k + 1, count - 1), 2)])


def _stale_until_accumulated(written: Exports, k: int) -> None:
    """Month k's closing changed: every later month is stale, the next one because of it,
    the others because they carried in a stale month's balances. Scoring a window over
    any of them stops, naming its first stale month, while windows ending before them
    score as the direct run on the new exports. Accumulating the months again, in order,
    clears them one by one."""
    months, count = written.history.months, len(written.history.months)
    _check(written, [(k, 6)])  # before the stale months: scored from the new export
    for j in range(k + 1, count):
        stale = Ledger(written.ledger).stale()
        assert list(stale) == list(months[j:]), stale
        assert "closing balances changed" in stale[months[j]]
        for end in range(j, count):
            for length in (1, 6):
                window = written.window(end, length)
                first = month_label(max(window.start, months[j]))
                with pytest.raises(ConfigError, match=f"{first} is stale"):
                    written.from_ledger(window)
        made = written.accumulate(months[j])
        assert made == [month_label(m) for m in months[j + 1 :]], made
    assert Ledger(written.ledger).stale() == {}


def test_a_partial_month_then_in_full(rule_paths: dict[str, str]) -> None:
    """A month accumulated to date scores only a window ending that day, equal to the
    direct run to that day; accumulated in full it replaces that entry, and the ledger
    equals the direct run over the month's whole export."""
    history = FIXED_PARTIAL
    count = len(history.months)
    with exports(history, rule_paths["icbc-star"]) as written:
        _accumulate_all(written)
        assert Ledger(written.ledger).entries()[history.months[-1]].partial
        month = history.months[-1]
        full = trailing_months(month.year, month.month, 2)
        with pytest.raises(ConfigError, match="end the window there"):
            written.from_ledger(full)
        assert _check(written, [(count - 1, 2)]) == 1
        written.write(_full(history), only=month, tag="-full")
        assert written.accumulate(month) == []
        assert not Ledger(written.ledger).entries()[month].partial
        assert _check(written, [(count - 1, 2), (count - 1, 4)]) == 2


def test_a_month_accumulated_before_the_one_before_it_is_stale(
    rule_paths: dict[str, str],
) -> None:
    """Accumulated first, a month takes its carry-in from its export (none, cut by
    month); once the month before is accumulated, it is stale until done again."""
    history = FIXED
    months = history.months
    with exports(history, rule_paths["pyramid"]) as written:
        written.accumulate(months[0])
        written.accumulate(months[2])
        assert Ledger(written.ledger).stale() == {}
        assert written.accumulate(months[1]) == [month_label(months[2])]
        with pytest.raises(ConfigError, match=f"{month_label(months[2])} is stale"):
            written.from_ledger(written.window(2, 3))
        assert written.accumulate(months[2]) == []
        assert _check(written, [(2, 3), (2, 1)]) == 2


def test_the_watch_needs_its_rating_window_in_the_ledger(rule_paths: dict[str, str]) -> None:
    """icbc-star's watch measures from the rating window's start (January): a ledger
    that starts in March stops, naming January, where the direct run has the rows."""
    history = history_of(date(2026, 3, 1), 2, (3, 17, 9, 12, 20, 5, 14, 28, 2))
    with exports(history, rule_paths["icbc-star"]) as written:
        _accumulate_all(written)
        with pytest.raises(ConfigError, match="2026-01 is not in the ledger: the watch"):
            written.from_ledger(written.window(1, 2))
        assert not isinstance(_outcome(lambda: written.direct(written.window(1, 2))), Exception)
        assert _check(written, [(1, 2)]) == 0  # the refusal is the one allowed
    with exports(history, rule_paths["pyramid"]) as written:  # no watch: equal
        _accumulate_all(written)
        assert _check(written, [(1, 2), (1, 1)]) == 2


def test_an_input_with_no_usable_row_stops_neither(tmp_path: Path) -> None:
    """card-tier counts no transaction: one before the window (outside) and none used
    stops no direct run, its input having no usable row; nor may the ledger
    (the ledger records each month's usable span)."""
    bal = write_csv(tmp_path / "b.csv", BAL_COLUMNS, [("C1", "A1", "CURRENT", "2026-01-05", "1")])
    txn = write_csv(
        tmp_path / "t.csv", TXN_COLUMNS, [("C1", "T1", "2025-12-20", "POS", "5", "", "")]
    )
    ledger = tmp_path / "ledger"
    accumulate(Accumulation((str(bal),), (str(txn),), date(2026, 1, 1), ledger, "card-tier"))
    window = trailing_months(2026, 1, 1)
    direct = run(Job((str(bal),), (str(txn),), window, "card-tier"))
    assert direct.summary["rows"]["transactions"]["outside_window"] == 1
    from_ledger = run_from_ledger(Job((), (), window, "card-tier"), ledger)
    assert from_ledger.scores.equals(direct.scores)
    assert from_ledger.summary == direct.summary
