"""How an input is measured on one machine: the strategy, and the passes it runs.

``choose`` decides a ``Strategy`` once from a first look at the rows: one
streaming pass when they come in key order (validated, measured and folded as
read), else the long way (balances held and sorted by account, transactions held
while repeated ids are searched). ``measure_how`` runs it and returns the folds, the
bad rows and the strategy taken, on this machine and in every Spark task alike.
Row expressions are in ``row_status``, the folds in ``folds``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .folds import (
    TALLY,
    fold_of,
    folded_from,
    per_code,
    tally_field,
    without_lines,
)
from .plan import Plan
from .row_status import (
    BALANCE_KEY,
    BROKEN,
    CODE,
    CODE_ROWS,
    HASH,
    IN_RUN,
    REJECTED,
    STATUS,
    UNMAPPED,
    account_hash,
    account_runs,
    balance_rows,
    broken,
    code_table,
    count_column,
    id_hash,
    next_good,
    repeated_hashes,
    transaction_rows,
)
from .validate import DETAIL, bad_rows, good_rows

# No common-subplan caching: a shared subplan would be held in memory whole.
NO_CSE = pl.QueryOptFlags(comm_subplan_elim=False)


def account_order(frame: pl.DataFrame) -> tuple[bool, bool]:
    """Whether balance rows already come sorted by account and date, as exports of a
    table clustered by account do (one pass over neighbours, against a sort of string
    keys several times as long), and whether, so sorted, a row repeats the account and
    date of the row before (then rows must be marked; most exports have none)."""
    account, day = pl.col("account_id"), pl.col("date")
    same = account == account.shift(1)
    ordered = (account > account.shift(1)) | (same & (day >= day.shift(1)))
    repeats = same & (day == day.shift(1))
    found = frame.lazy().select(
        ordered.fill_null(True).all().alias("ordered"),
        repeats.fill_null(False).any().alias("repeats"),
    )
    return found.collect().row(0)


def by_account(good: pl.DataFrame) -> pl.DataFrame:
    """Rows sorted by a 64-bit hash of the account and the date, in memory: over three
    times faster than a sort on the account text (and the in-memory sort is several
    times faster than the streaming one); rows in date order by the hash alone
    (``_dated``). Two accounts with one hash would
    interleave; that is checked, and then the rows are sorted by the text.

    Give it one chunk (``rechunk``): a sort gathers every column, and gathering
    from the hundreds of chunks a streaming collect leaves is slower than copying
    them into one first.
    """
    account, hashed = pl.col("account_id"), pl.col(HASH)
    with_hash = good.with_columns(account_hash().alias(HASH))
    if _dated(good):  # each account's rows keep their order, which is the dates'
        ordered = with_hash.sort(HASH, maintain_order=True)
    elif _days_fit(good):  # one 64-bit key: the hash's top 48 bits, then the day
        day = pl.col("date").cast(pl.Int32).cast(pl.UInt64)
        keyed = with_hash.with_columns(hashed // DAY_SPAN * DAY_SPAN + day)
        ordered, hashed = keyed.sort(HASH), hashed // DAY_SPAN
    else:
        ordered = with_hash.sort(HASH, "date")
    # two accounts with one (top of the) hash are neighbours somewhere: then by the text
    clash = (hashed == hashed.shift(1)) & (account != account.shift(1))
    if ordered.select(clash.any()).item():
        return good.sort(list(BALANCE_KEY))
    return ordered.drop(HASH)


DAY_SPAN = 1 << 16  # days since 1970 a one-key sort holds (1970-01-01..2149-06-06)


def _days_fit(good: pl.DataFrame) -> bool:
    """Whether every date fits the low 16 bits of a one-key sort (``DAY_SPAN``). One
    key sorts about twice as fast as two; with 48 bits of hash, two of a million
    accounts share them about once in 50 runs, which ``by_account`` finds (their rows
    are then neighbours) and sorts by the text."""
    day = pl.col("date").cast(pl.Int32)
    low, high = good.select(day.min().alias("low"), day.max().alias("high")).row(0)
    return low is not None and low >= 0 and high < DAY_SPAN


def _dated(good: pl.DataFrame) -> bool:
    """Whether the rows come in date order, as a daily-appended export or one file per
    date does: a stable sort by the account's hash alone then puts them in account and
    date order, over twice as fast as sorting by both (one 64-bit key, not two)."""
    day = pl.col("date")
    return bool(good.select((day >= day.shift(1)).fill_null(True).all()).item())


def good_and_bad(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Good rows (without a copy when there are no bad ones) and bad rows."""
    bad = bad_rows(frame.lazy()).collect()
    # lazily: the eager drop copies every column into one chunk (about 1 s a 30M rows)
    good = good_rows(frame.lazy()).collect() if bad.height else frame.lazy().drop(DETAIL).collect()
    return good, bad


FIRST_ROWS = 100_000  # rows looked at first, to tell an input that needs the long way


def _one_pass(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    check: bool,
    wide: bool,
    reread: bool,
    seen: tuple[str, ...] = (),
    hold: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """An input's folds and bad rows from one streaming pass that validates and
    measures every row as it is read, as if no row repeated another (so the next
    row of an account is its next good one); None when that does not hold, as
    ``_in_order`` tells (``check=False``: the caller knows no transaction id repeats),
    or when the rows would have to be held and ``hold`` is False.

    ``reread`` (typed files, cheap to read again): the pass folds the rows, holding
    none, in one group-by (see ``_fold``'s ``alone``) in which bad rows are only
    counted, and unmapped rows counted per code for the codes ``seen``; the few bad
    rows, or rows of unmapped codes not seen, are found after by queries of their
    own (``_counted_apart``). Otherwise (text would be parsed again) the pass holds
    the rows, bad ones apart, and the fold reads them from memory.
    """
    rows = _measured_rows(plan, source, checked, check, seen)  # seen: a code index only
    if reread:
        frame = fold_of(source)(plan, rows, wide, True, seen).collect(engine="streaming")
        if not _in_order(source, checked, frame, again=True):
            return None
        apart = _counted_apart(plan, source, checked, frame, seen)
        if apart is not None or not hold:
            return apart
    kept = [*folded_from(source), DETAIL, *([BROKEN] if check else [])]
    frame = rows.select(kept).collect(engine="streaming", optimizations=NO_CSE)
    if not _in_order(source, checked, frame):
        return None
    held, bad = good_and_bad(frame.lazy().drop(BROKEN, strict=False).collect())
    del frame
    folded = fold_of(source)(plan, without_lines(held.lazy()), wide)
    return folded.collect(engine="streaming"), bad


def _measured_rows(
    plan: Plan, source: str, checked: pl.LazyFrame, check: bool, seen: tuple[str, ...] = ()
) -> pl.LazyFrame:
    """Every row (bad ones marked rejected) measured as the one pass does, with
    ``BROKEN`` when ``check``."""
    if source == "balances":  # checks its order as it follows accounts
        return balance_rows(plan, checked, presorted=True, repeats=False, seen=seen)
    rows = transaction_rows(plan, checked, [], seen)
    if not check:
        return rows
    txn_id = pl.col("txn_id")
    return rows.with_columns(broken([(txn_id, next_good(txn_id))]))


def _in_order(source: str, checked: pl.LazyFrame, frame: pl.DataFrame, again: bool = False) -> bool:
    """Whether the rows are as the one pass took them: an account's good rows together
    and in date order, no transaction id twice. Rows in key order show it (``BROKEN``
    sums to 0). ``again`` (typed files, cheap to read again): rows out of key order
    only where one account's rows end, or ids out of order, as files each sorted on
    their own come (a cluster writes an export part by part), are read again for what
    the pass needs, instead of taking the long way: an account with two runs of rows
    (``_runs_repeat``), an id twice (``repeated_hashes``)."""
    total = int(frame[BROKEN].cast(pl.UInt64).sum()) if BROKEN in frame.columns else 0
    if not total:
        return True
    if not again or total >= IN_RUN:
        return False
    if source == "balances":
        return not _runs_repeat(checked)
    hashes = good_rows(checked).select(id_hash().alias(HASH))
    return repeated_hashes(hashes).collect(engine="streaming").height == 0


def _runs_repeat(checked: pl.LazyFrame) -> bool:
    """Whether some account's good rows come in more than one run: the account of each
    run's first row, read again (one column), found twice."""
    account = pl.col("account_id")
    good = good_rows(checked).select(account)
    firsts = good.filter(account.ne_missing(account.shift(1))).collect(engine="streaming")
    return bool(firsts.select(account.is_duplicated().any()).item())


def _first_look(
    plan: Plan, source: str, checked: pl.LazyFrame, check: bool
) -> tuple[str, ...] | None:
    """The codes found unmapped in the first ``FIRST_ROWS`` rows, or None when these
    are out of order already (the input is then measured the long way at once)."""
    rows = _measured_rows(plan, source, checked.head(FIRST_ROWS), check)
    code = "product" if source == "balances" else "txn_type"
    unmapped = pl.when(pl.col(STATUS) == UNMAPPED).then(pl.col(code)).unique().drop_nulls()
    found = [unmapped.implode().alias(CODE), *([pl.col(BROKEN).sum()] if check else [])]
    frame = rows.select(found).collect(engine="streaming")
    if not _in_order(source, checked, frame):
        return None
    return tuple(sorted(frame[CODE][0].to_list()))


def _counted_apart(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    frame: pl.DataFrame,
    seen: tuple[str, ...],
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The folds and bad rows, from an ``alone`` fold in which bad rows were counted
    as rejected and unmapped rows per code ``seen`` (``_tallies``). Bad rows, if
    any, are read again; so are transactions of a code the rule set does not map,
    if some were of a code not seen (a filter the Parquet reader applies as it
    reads, about a sixth of a full pass), and the accounts that have balances of
    such a code (``_unmapped_products``). None if those do not add up.
    """
    frame = frame.drop(DETAIL, BROKEN, strict=False)
    unmapped = int(frame[count_column(UNMAPPED)].cast(pl.Int64).sum())
    if f"{TALLY}0" in frame.columns:
        fields = range(len(seen) + 1)  # the codes seen, then any other
        found = frame.select(tally_field(f).sum().alias(str(f)) for f in fields).row(0)
        counted, other = dict(zip(seen, found, strict=False)), found[-1]
    else:  # the wide fold counts unmapped rows, but not per code
        counted, other = {}, unmapped
    codes = _codes_of(counted)
    if other and source == "balances":
        found = _unmapped_products(plan, checked, tuple(counted))
        if int(found[CODE_ROWS].sum()) != other:
            return None
        codes = pl.concat([codes, found])
    elif other:
        codes = _unmapped_codes(plan, checked)
    frame = frame.drop([c for c in frame.columns if c.startswith(TALLY)])
    bad = bad_rows(checked)
    rejected = frame[count_column(REJECTED)].cast(pl.Int64).sum()
    if rejected:  # a bad row's customer (if it has one) was a group key
        count = pl.lit(0, pl.UInt32).alias(count_column(REJECTED))
        frame = frame.filter(pl.col("customer_id").is_not_null()).with_columns(count)
    if unmapped:
        frame = pl.concat([frame, codes], how="diagonal")
    if not rejected:
        return frame, pl.DataFrame(schema=bad.collect_schema())
    return frame, bad.collect(engine="streaming")


def _codes_of(counted: dict[str, int]) -> pl.DataFrame:
    """Rows per unmapped code as a fold's code groups (``CODE``, ``CODE_ROWS``)."""
    rows = {CODE: list(counted), CODE_ROWS: list(counted.values())}
    return pl.DataFrame(rows, schema={CODE: pl.String, CODE_ROWS: pl.Int64}).filter(
        pl.col(CODE_ROWS) > 0
    )


def _unmapped_codes(plan: Plan, checked: pl.LazyFrame) -> pl.DataFrame:
    """Rows per unmapped transaction code, read again: only rows of codes the rule
    set neither maps nor excludes can be unmapped, and a transaction's status
    depends on no other row's."""
    named = sorted(set(plan.codes["transactions"]) | set(plan.excluded))
    some = checked.filter(~pl.col("txn_type").is_in(named))
    rows = transaction_rows(plan, good_rows(some), [])
    return per_code(rows, "txn_type").collect(engine="streaming")


def _unmapped_products(plan: Plan, checked: pl.LazyFrame, counted: tuple[str, ...]) -> pl.DataFrame:
    """Rows per unmapped balance code not ``counted`` already, read again. A balance
    row's status depends on its account's next good row, whatever that row's
    product, so the accounts with a good row of such a code are found first (a
    filter the Parquet reader applies as it reads), and then all their rows are
    read (another such filter) and measured as the pass measured them: the pass
    found every account's good rows together and in date order, and a filter
    keeps them so."""
    named = sorted(set(code_table(plan, "balances")) | set(counted))
    odd = good_rows(checked).filter(~pl.col("product").is_in(named))
    accounts = odd.select(pl.col("account_id").unique()).collect(engine="streaming")
    rows = checked.filter(pl.col("account_id").is_in(accounts["account_id"].implode()))
    measured = balance_rows(plan, rows, presorted=True, repeats=False)
    unseen = measured.filter(~pl.col("product").is_in(named))
    return per_code(unseen, "product").collect(engine="streaming")


# How an input is measured (``Strategy.path``): the run records it (manifest.json's
# ``measuring``, the compute stage's line with --verbose), and a test may name one.
ONE_PASS = "one pass"  # rows in key order: validated, measured and folded as they are read
SORTED = "sorted"  # balances out of account order: held, sorted by account and date
SEARCHED = "ids searched"  # transactions out of id order: held, repeated ids found by hash
STRATEGIES = (ONE_PASS, SORTED, SEARCHED)


@dataclass(frozen=True)
class Strategy:
    """The path one input took, and why: chosen once from a first look at the rows
    (``choose``), or named by the caller; a one pass that finds rows out of order
    after that look ends on the other path, and says so."""

    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.path} ({self.why})"


def choose(
    plan: Plan, source: str, checked: pl.LazyFrame, repeated: list[int] | None
) -> tuple[Strategy, tuple[str, ...]]:
    """The strategy for an input, from a first look at ``FIRST_ROWS`` rows (and the
    unmapped codes that look found, which the one pass counts per code)."""
    if source == "transactions" and repeated:  # a part (``part_of``) holds all of an id's rows
        return Strategy(SEARCHED, "ids known to repeat"), ()
    seen = _first_look(plan, source, checked, _checks_order(source, repeated))
    if seen is None:
        return Strategy(_long_way(source), "first rows out of key order"), ()
    return Strategy(ONE_PASS, "first rows in key order"), seen


def _long_way(source: str) -> str:
    """The path of an input whose rows are not in key order."""
    return SORTED if source == "balances" else SEARCHED


def _checks_order(source: str, repeated: list[int] | None) -> bool:
    """Whether a one pass must check the key order it assumes: always for balances
    (an account's next row), for transactions unless every id is known to be unique
    (``repeated`` empty; a one pass named on ids known to repeat finds them so)."""
    return source == "balances" or repeated is None or bool(repeated)


def measure_in_steps(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    repeated: list[int] | None,
    wide: bool = False,
    reread: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``measure_how`` without the strategy (the Spark engine's tasks)."""
    folded, bad, _ = measure_how(plan, source, checked, repeated, wide, reread)
    return folded, bad


def measure_how(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    repeated: list[int] | None,
    wide: bool = False,
    reread: bool = False,
    strategy: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, Strategy]:
    """One input's folds and bad rows on one machine, and the ``Strategy`` that made
    them (``strategy``: a path of ``STRATEGIES`` to take instead of choosing one; the
    one pass still checks the order it assumes). Usually one streaming pass
    (``_one_pass``): balances in account order and transactions with no id twice,
    as exports of tables clustered by their key come. Otherwise each step on the
    polars engine that runs it fastest: balances are read again, put in order in
    memory (``by_account``) and marked; transactions are held, and the ids that
    repeat found (``_repeats_marked``). What ``measure_balances`` and
    ``measure_transactions`` compute, in steps.

    ``repeated`` (transactions): the hashes of ids that repeat (``repeated_hashes``),
    or None when not known yet: the one pass then checks that ids come in order. A
    first look at ``FIRST_ROWS`` rows sends an input in no order the other way at
    once. ``reread``: the input is cheap to read again (see ``_one_pass``).
    """
    how, seen = _strategy(plan, source, checked, repeated, strategy)
    if how.path == ONE_PASS:
        check = _checks_order(source, repeated)
        measured = _one_pass(plan, source, checked, check, wide, reread, seen)
        if measured is not None:
            return *measured, how
        how = Strategy(_long_way(source), "rows out of key order after the first look")
    rows, bad = (_balances_ordered if source == "balances" else _ids_searched)(plan, checked)
    return fold_of(source)(plan, rows, wide).collect(engine="streaming"), bad, how


def _strategy(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    repeated: list[int] | None,
    named: str | None,
) -> tuple[Strategy, tuple[str, ...]]:
    """``choose``'s strategy, or the one ``named`` (checked: it must fit the input)."""
    if named is None:
        return choose(plan, source, checked, repeated)
    fits = {"balances": (ONE_PASS, SORTED), "transactions": (ONE_PASS, SEARCHED)}
    if named not in fits[source]:
        raise ValueError(f"{source} are not measured by {named!r}")
    if named == ONE_PASS:  # the codes seen unmapped, which the pass counts per code
        seen = _first_look(plan, source, checked, _checks_order(source, repeated))
        return Strategy(named, "named"), seen or ()
    return Strategy(named, "named"), ()


def measure_whole(
    plan: Plan, source: str, checked: pl.LazyFrame, wide: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """A typed input's folds and bad rows from the one pass that holds no rows
    (``_one_pass`` with ``reread``), whatever its size; None when it would have to
    hold them (rows out of key order): the caller then measures the input in parts.
    So an export in key order needs no parts, each of which reads the whole input."""
    return _looked_then_one_pass(plan, source, checked, True, wide, True, hold=False)


def _looked_then_one_pass(
    plan: Plan,
    source: str,
    checked: pl.LazyFrame,
    check: bool,
    wide: bool,
    reread: bool,
    hold: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """``_one_pass`` after ``_first_look``, which gives it the codes seen unmapped or
    (None) tells at once that the rows are out of order."""
    seen = _first_look(plan, source, checked, check)
    if seen is None:
        return None
    return _one_pass(plan, source, checked, check, wide, reread, seen, hold)


def _ids_searched(plan: Plan, checked: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Transactions whose ids do not come in order: held with each id's ``HASH``
    (hashed in the pass that reads them anyway), and the rows of ids that repeat
    marked (``_repeats_marked``)."""
    rows = transaction_rows(plan, checked, []).select(
        *folded_from("transactions"), DETAIL, id_hash().alias(HASH)
    )
    held, bad = good_and_bad(rows.collect(engine="streaming", optimizations=NO_CSE))
    return _repeats_marked(plan, checked, held.lazy()), bad


def _balances_ordered(plan: Plan, checked: pl.LazyFrame) -> tuple[pl.LazyFrame, pl.DataFrame]:
    """Balance rows not in account order, or with an account and date twice: held, put in
    account order in memory (``by_account``, unless they are in it) and marked."""
    good, bad = good_and_bad(checked.collect(engine="streaming", optimizations=NO_CSE))
    ordered, repeats = account_order(good)
    if not ordered:
        good = good.rechunk()  # one copy at a time: the chunked rows go here
        good = by_account(good)
        repeats = account_order(good)[1]
    if repeats:  # numbered once, in memory, for marking
        good = account_runs(good.lazy()).collect(engine="streaming")
    rows = balance_rows(plan, good.lazy(), presorted=True, repeats=repeats)
    held = rows.select(folded_from("balances", lines=repeats)).collect(engine="streaming")
    return held.lazy(), bad


def _repeats_marked(plan: Plan, checked: pl.LazyFrame, held: pl.LazyFrame) -> pl.LazyFrame:
    """Rows classified as if no id repeats, with ``HASH`` (``id_hash`` of each good
    row's id); the rows of ids that do repeat are measured again, marked.

    Hashing the ids in the pass that reads them anyway saves a read of the id
    column before it; the few repeats cost a second look at the input.
    """
    found = repeated_hashes(held.select(HASH)).collect()[HASH].to_list()
    if not found:
        return without_lines(held.drop(HASH))
    unique = held.filter(~pl.col(HASH).is_in(found)).drop(HASH)
    again = transaction_rows(plan, good_rows(checked).filter(id_hash().is_in(found)), found)
    rows = pl.concat([unique, again.select(folded_from("transactions"))])
    return rows.collect(engine="streaming", optimizations=NO_CSE).lazy()
