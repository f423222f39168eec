"""Who is about to slip (流失预警): the balance that would hold a customer's service tier
on the next rating day.

A run's as-of date R is its window's last day. The next rating day T is the first
rating day after R, and its window ``W_T`` the six months ending on T (2026-07-01..
2026-12-31 for 12-31). Assuming today's balances carry forward and no other
transaction occurs, the numerator a run at T would give is ``N0``: the balances
measured over ``W_T`` from the rows dated up to R (each account's balance on R then
holds through T, exactly as a carry-in row holds), plus the transactions already
counted in ``W_T`` (dated ``W_T.start``..R). Both are measured by the engine's own
measuring code, on the same rows, with a plan compiled for those windows.

``hold_yuan`` is then the extra daily balance ``h`` (cents), in the rule set's
cheapest balance component L (most points per yuan of daily average), held from
the day after R through T, that keeps the numerator at or above the tier's bound
on T: ``N0 + h x f x w_L >= threshold_T``, where f is the number of days of
``W_T`` after R and ``w_L`` L's numerator per cent-day. So
``h = ceil((threshold_T - N0) / (f x w_L))`` cents, 0 when ``N0`` reaches it
already: exact integers, rounded up to the cent.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import polars as pl

from .breakdown import UNASSIGNED
from .layouts import as_of as known_on
from .plan import CENTS, Forward, Plan, compile_plan
from .points import NUMERATOR, to_money, with_numerator
from .row_status import FORWARD_PREFIX
from .window import Window, trailing_months

FORWARD = "_forward"  # a customer's numerator on the next rating day, balances carried
WINDOW_MONTHS = 6  # a rating day rates the six months ending on it


def _month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def _months_back(day: date, months: int) -> date:
    """The same day ``months`` earlier, clamped to the month's end (08-31 -> 02-28)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def rating_window(day: date) -> Window:
    """The six months ending on a rating day: the six full calendar months ending with
    its month when it is a month's last day (12-31: 07-01..12-31, as ``--period 2026H2``
    and ``--period 2026-12 --months 6`` give), else the days after the same date six
    months before (03-15: 09-16..03-15)."""
    if _month_end(day):
        window = trailing_months(day.year, day.month, WINDOW_MONTHS)
    else:
        window = Window(_months_back(day, WINDOW_MONTHS) + timedelta(days=1), day, "")
    return Window(window.start, window.end, f"{window.start.isoformat()}..{day.isoformat()}")


def is_rating_day(day: date, days: tuple[tuple[int, int], ...]) -> bool:
    return (day.month, day.day) in days


def next_rating_day(after: date, days: tuple[tuple[int, int], ...]) -> date:
    """The first rating day strictly after ``after`` (``days`` in calendar order)."""
    for month, day in days:
        found = date(after.year, month, day)
        if found > after:
            return found
    month, day = days[0]
    return date(after.year + 1, month, day)


def first_rating_on_or_after(when: pl.Expr, days: tuple[tuple[int, int], ...]) -> pl.Expr:
    """Per row, the first rating day on or after the date ``when`` (null stays null)."""
    year = when.dt.year()
    chosen = pl.when(pl.lit(False)).then(pl.lit(None, pl.Date))
    for month, day in days:
        candidate = pl.date(year, month, day)
        chosen = chosen.when(candidate >= when).then(candidate)
    month, day = days[0]
    return chosen.otherwise(pl.date(year + 1, month, day))


@dataclass(frozen=True)
class Rating:
    """The next rating day as the watch measures towards it."""

    day: date  # T
    window: Window  # W_T
    balances: Plan  # compiled for W_T; measures the balance rows dated up to the as-of date
    transactions: Plan | None  # compiled for W_T.start..as-of; None when that is empty
    held_days: int  # f: days of W_T after the as-of date, on which a held balance counts


def rating_of(plan: Plan) -> Rating:
    """The next rating day after ``plan``'s as-of date, with the plans that measure the
    carried-forward numerator towards it."""
    service = plan.ruleset.service
    assert service is not None
    as_of = plan.window.end
    day = next_rating_day(as_of, service.rating_days)
    window = rating_window(day)
    counted = None
    if window.start <= as_of:
        counted = compile_plan(plan.ruleset, Window(window.start, as_of, "counted"), plan.fx)
    held = (day - max(as_of, window.start - timedelta(days=1))).days
    return Rating(day, window, compile_plan(plan.ruleset, window, plan.fx), counted, held)


@dataclass(frozen=True)
class Lever:
    """The balances component a held balance goes into: the most points per yuan of
    daily average (the first of equals, in rule order)."""

    id: str
    label: str
    weight: int  # numerator per cent-day (the same for every window)


def lever_of(plan: Plan) -> Lever:
    balances = [c for c in plan.of_source("balances") if c.weight > 0]
    best = max(balances, key=lambda c: c.weight)  # rules: [service] needs one
    return Lever(best.id, best.label, best.weight * plan.scale)  # per cent-day in yuan


def with_forward(plan: Plan) -> Plan:
    """``plan``, measuring towards the next rating day too: the run's one pass over the
    rows then also sums what ``rating_of``'s plans would measure (``plan.Forward``)."""
    rating = rating_of(plan)
    return replace(plan, forward=Forward(rating.window.start, plan.window.end, rating.window.end))


def forward_folds(folded: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """A fold without its columns towards the rating day, and those (per customer, by
    component id, as ``forward_values`` adds them up); None if it has none."""
    names = [c for c in folded.columns if c.startswith(FORWARD_PREFIX)]
    if not names:
        return folded, None
    ids = {c: c.removeprefix(FORWARD_PREFIX) for c in names}
    forward = folded.select(
        "customer_id", *(pl.col(c).cast(pl.Int128).alias(ids[c]) for c in names)
    )
    return folded.drop(names), forward


def forward_values(
    plan: Plan, inputs: dict[str, Any], parts: int, measured: dict[str, Any] | None = None
) -> pl.DataFrame:
    """``FORWARD`` per customer (the polars engine), balances on their rows dated up to
    the as-of date over ``W_T``, transactions over ``W_T.start``..as-of. An input whose
    run measured that too (``with_forward``; ``measured[name].forward``) is not read
    again; any other (balances of another layout than changes) is measured again by
    its own measuring code (``_Input.measure``, in as many parts as the run). A
    customer with none of those rows is not listed, or is listed with 0 (``N0`` = 0)."""
    rating = rating_of(plan)
    as_of = plan.window.end
    folds = []
    for name, read in inputs.items():
        measured_by = rating.balances if name == "balances" else rating.transactions
        if measured_by is None:
            continue
        done = None if measured is None else measured[name].forward
        if done is not None:
            folds.append(done)
            continue
        if name == "balances":  # a row after the as-of date is a change not yet made
            read = replace(read, checked=known_on(read.checked, as_of))
        ids = [c.id for c in measured_by.of_source(name)]
        for index in range(parts):
            folded, _ = read.measure(name, measured_by, wide=True, part=(parts, index))
            folds.append(folded.select("customer_id", *(pl.col(c).cast(pl.Int128) for c in ids)))
    return forward_of(rating.balances, folds)


def forward_of(plan: Plan, folds: list[pl.DataFrame]) -> pl.DataFrame:
    """Folds of both inputs added up per customer, and their numerator under ``plan``
    (the plan of ``W_T``: transactions' values do not depend on the window)."""
    ids = [c.id for c in plan.components]
    schema = {"customer_id": pl.String, **dict.fromkeys(ids, pl.Int128)}
    frames = [pl.LazyFrame(schema=schema), *(f.lazy() for f in folds)]
    summed = (
        pl.concat(frames, how="diagonal")
        .filter(pl.col("customer_id").is_not_null())
        .group_by("customer_id")
        .agg(pl.col(ids).sum())
        .with_columns(pl.col(ids).fill_null(0).cast(pl.Int128))
    )
    valued = with_numerator(plan, summed)
    return valued.select("customer_id", pl.col(NUMERATOR).alias(FORWARD)).collect()


@dataclass(frozen=True)
class Watch:
    """What the watch needs of a run, in integers: for each tier index, the largest
    numerator still within ``--near`` percent above the tier's bound (``near_top``), and
    the tier's threshold on the next rating day (``thresholds``); ``per_cent``, what a
    cent of daily balance held through it adds (f x w_L)."""

    day: date
    window: Window
    held_days: int
    lever: Lever
    near_top: tuple[int, ...]
    thresholds: tuple[int, ...]
    pct: str = "10"  # --near, as summary.json shows it

    @property
    def per_cent(self) -> int:
        return self.held_days * self.lever.weight


def watch_of(plan: Plan, near: Any) -> Watch:
    """``near``: the percent (a Fraction) of ``--near``, decided on integers."""
    rating = rating_of(plan)
    tops = tuple(
        t.threshold + t.threshold * near.numerator // (100 * near.denominator) for t in plan.tiers
    )
    thresholds = tuple(t.threshold for t in rating.balances.tiers)
    pct = str(near.numerator) if near.denominator == 1 else str(float(near))
    lever = lever_of(plan)
    return Watch(rating.day, rating.window, rating.held_days, lever, tops, thresholds, pct)


def hold_cents(watch: Watch, tier: pl.Expr, forward: pl.Expr) -> pl.Expr:
    """ceil((threshold_T(tier) - N0) / (f x w_L)) cents, 0 when N0 reaches it."""
    thresholds = dict(enumerate(watch.thresholds))
    bound = tier.replace_strict(thresholds, default=None, return_dtype=pl.Int128)
    gap = bound - forward.fill_null(0).cast(pl.Int128)
    per = pl.lit(watch.per_cent, pl.Int128)
    return pl.when(gap > 0).then((gap + per - 1) // per).otherwise(pl.lit(0, pl.Int128))


def near_bound(watch: Watch, tier: pl.Expr) -> pl.Expr:
    """The numerator ``tier``'s customers are near its bound up to (``Watch.near_top``)."""
    tops = dict(enumerate(watch.near_top))
    return tier.replace_strict(tops, default=None, return_dtype=pl.Int128)


def hold_yuan(cents: pl.Expr) -> pl.Expr:
    return to_money(cents, CENTS)


# --- the watch list ----------------------------------------------------------------

TOP_PER_BRANCH = 10  # the report's and summary.json's list: the largest holds per branch
WATCH_LISTED = 10_000  # at most this many in summary.json (binds with thousands of branches)
_LISTED = ("manager", "customer_id", "tier", "service_tier", "service_reason", "points",
           "hold_yuan", "below_since", "downgrade_on")  # fmt: skip


def _largest(watched: pl.DataFrame) -> pl.DataFrame:
    """The ``TOP_PER_BRANCH`` largest holds per branch (overall without branches), by
    branch, then the largest first (ties by customer id)."""
    branch = ["branch"] if "branch" in watched.columns else []
    order = watched.sort(
        [*branch, "hold_yuan", "customer_id"], descending=[*[False] * len(branch), True, False]
    )
    if not branch:
        return order.head(TOP_PER_BRANCH)
    return order.group_by("branch", maintain_order=True).head(TOP_PER_BRANCH)


def watch_part(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One part's count of watched customers (a ``hold_yuan``), and its largest holds per
    branch: the largest of all parts are among the largest of each."""
    watched = rows.filter(pl.col("hold_yuan").is_not_null())
    kept = [c for c in ("branch", *_LISTED) if c in watched.columns]
    count = pl.DataFrame({"customers": [watched.height]}, schema={"customers": pl.Int64})
    return count, _largest(watched.select(kept))


def watch_summary(
    watch: Watch, parts: dict[str, pl.DataFrame], as_of: date
) -> tuple[dict[str, object], dict[str, int]]:
    """summary.json's ``watch``: the next rating day and its window, the lever, how many
    are watched and the largest holds per branch (text values, as ``upgrade``'s), and
    ``watch_rest``: how many of those the ``WATCH_LISTED`` bound leaves out."""
    top = _largest(parts["watch_top"])
    rest = max(top.height - WATCH_LISTED, 0)
    if rest:
        kept = top.sort("hold_yuan", "customer_id", descending=[True, False]).head(WATCH_LISTED)
        top = _largest(kept)
    branch = "branch" in top.columns
    listed = top.select(
        (pl.col("branch").fill_null(UNASSIGNED) if branch else pl.lit(None, pl.String)).alias(
            "branch"
        ),
        (pl.col("manager") if "manager" in top.columns else pl.lit(None, pl.String)).alias(
            "manager"
        ),
        *(pl.col(c).cast(pl.String) for c in _LISTED if c != "manager"),
    )
    found = {
        "as_of": as_of.isoformat(),
        "next_rating_day": watch.day.isoformat(),
        "window": watch.window.as_dict(),
        "days_held": watch.held_days,
        "pct": watch.pct,
        "lever": f"{watch.lever.label} ({watch.lever.id})",
        "customers": int(parts["watch"]["customers"].sum()),
        "top": listed.to_dicts(),
    }
    return found, {"customers": rest}
