"""Scoring by person or household: ``--parties FILE`` and ``--score-by``.

ICBC rates every customer number under one certificate ID together, and banks abroad
link households: the unit tiered is then a party (a person) or a household, not a
customer number. The parties file maps each ``customer_id`` to its ``party_id`` and,
optionally, its ``household_id``.

The measures stay per customer number: every engine measures and folds as it always
does, and the numbers' exact component sums are added up per unit afterwards. Sums
are linear, so a unit's daily average is the sum of its numbers' daily averages,
and its points come from those sums exactly as one customer's would (a weighted
rule set's bands apply to the unit's sums, not to its numbers' scores). Both engines
roll up with ``unit_rows``: the polars engine over every customer at once, the Spark
engine on each partition of customers spread by unit (``spark_parties``).

Nothing is guessed. A customer number mapped to two parties (or, by household, a
party in two households) is rejected, listed in rejects.csv, and none of its rows
is scored; so is one whose parties row could not be read. A number the file does
not name is its own unit, under its own id.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from .errors import ConfigError, InputError
from .migration import read_previous
from .plan import Plan
from .points import NUMERATOR, with_numerator
from .row_status import DUPLICATE, REJECTED, STATUS, STATUSES, mark_duplicates
from .rules import money_columns
from .sources import FILE_COL, LINE_COL, InputFile, Reader
from .summary import Scoring
from .validate import DETAIL, Parsed, Parser, parse_id, rejects_table
from .watch import FORWARD

SCORE_BY = ("customer", "party", "household")
UNIT = "_unit"  # the unit a customer number belongs to (null: not in --parties)
KIND = "_unit_kind"  # what the unit's id is: HOUSEHOLD, PARTY, OWN (its number), or REFUSED
LEAD = "_lead"  # the unit's customer number with the most points (its branch's)
HOUSEHOLD, PARTY, OWN, REFUSED = "household", "party", "customer", "refused"
CUSTOMER_IDS, MEMBERS = "customer_ids", "customers"  # published beside the unit's id
TWO_PARTIES = "customer mapped to more than one party"
TWO_HOUSEHOLDS = "party in more than one household"
_COUNTED = ("customers", "customers_unmapped", "customers_rejected", "units", "multi_customer")


def check_job(plan: Plan, job: Any) -> None:
    """Stop (exit 2) before anything is measured where scoring by unit would need a
    guess: a rule set that reads customers columns as yuan (each number's own
    amount, which may or may not be the person's; a unit's would be made up), or
    overrides given per customer number. ``job`` is a ``pipeline.Job``."""
    by, given = job.score_by, job.parties
    if by not in SCORE_BY:
        raise ConfigError(f"must be {' or '.join(SCORE_BY)}, not {by!r}", key="--score-by")
    if by == "customer":
        if given:
            raise ConfigError(
                "is read only with --score-by party or household (scoring by customer "
                "number needs no parties file)",
                key="--parties",
            )
        return
    if not given:
        raise ConfigError(f"--score-by {by} needs --parties FILE", key="--score-by")
    money = money_columns(plan.ruleset)
    if money:
        column, key = next(iter(money.items()))
        raise ConfigError(
            f"reads the customers column {column!r} as yuan for each customer number; a "
            f"{by}'s value would be a guess: score this rule set by customer",
            file=plan.ruleset.source,
            key=key,
        )
    if job.overrides:
        raise ConfigError(
            f"overrides name customer numbers; with --score-by {by} they would name units: "
            "score by customer to apply them",
            key="--overrides",
        )


def parsers() -> dict[str, Parser]:
    """The parties file's columns: both ids as strict as any id; the household optional
    (a blank cell: the party has no household of its own)."""
    return {"customer_id": parse_id, "party_id": parse_id, "household_id": _parse_household}


def _parse_household(name: str, dtype: pl.DataType, *, typed: bool = False) -> Parsed:
    """An id, or null when it has nothing visible in it: never a reason to reject."""
    parsed = parse_id(name, dtype, typed=typed)
    return Parsed(pl.when(parsed.reason.is_null()).then(parsed.value), pl.lit(None, pl.String))


@dataclass
class Units:
    """The parties file read for one run: each customer number's unit (``UNIT``, its
    ``KIND``; REFUSED for a number whose mapping was rejected), the rejected rows and
    the file's row accounting; ``found`` is filled in once the units are scored."""

    by: str
    files: list[InputFile]
    mapping: pl.DataFrame  # customer_id, UNIT, KIND
    rejects: pl.DataFrame
    counts: dict[str, int]
    found: dict[str, int] = field(default_factory=dict)

    @property
    def column(self) -> str:
        """The unit's id column in scores: ``party_id`` or ``household_id``."""
        return f"{self.by}_id"

    def check_attributes(self, columns: tuple[str, ...], given: Any) -> None:
        """A customers column named like a column of a unit's scores row would make two
        columns of one name."""
        taken = {self.column, CUSTOMER_IDS, MEMBERS, "party_id", "household_id"}
        for column in columns:
            if column in taken:
                raise InputError(
                    f"a customers column has the name of a scores column of --score-by "
                    f"{self.by}; rename it in a [customers] table of --columns",
                    file=", ".join(given) if isinstance(given, tuple) else str(given),
                    key=column,
                )

    def previous(self, reader: Reader, plan: Plan, given: str) -> pl.DataFrame:
        """``--previous``: an earlier run by the same unit, matched on the unit's id
        column (``party_id``); a file without it (a run by customer) stops the run,
        as its customer numbers are not units."""
        mapping = reader.mapping
        reader.mapping = {**mapping, "previous": {"customer_id": self.column}}
        try:
            return read_previous(reader, plan, given)
        finally:
            reader.mapping = mapping

    def scoring(self, how: Scoring) -> Scoring:
        """The run's scoring with the unit's numbers shown right after its id."""
        return replace(how, carried=(CUSTOMER_IDS, MEMBERS, *how.carried))

    def published(self, scores: pl.DataFrame) -> pl.DataFrame:
        """The scores table as published: the unit's id under its own name."""
        return scores.rename({"customer_id": self.column})

    def take(self, parts: dict[str, pl.DataFrame]) -> None:
        """The counts of ``unit_rows``' parts (one row per partition, added up); stop if
        one id names units of two kinds."""
        clashes = parts["clashes"]
        if clashes.height:
            shown = clashes.sort(UNIT).head(5)
            named = "; ".join(f"{u} ({k})" for u, k in shown.iter_rows())
            raise InputError(
                f"ids name two different units (by {self.by}): {named}; a customer "
                "number not in the file is scored under its own id, so no party or "
                "household may have that id",
                key="--parties",
            )
        summed = parts["units"].select(pl.col(c).sum() for c in _COUNTED).row(0)
        self.found = {c: int(n or 0) for c, n in zip(_COUNTED, summed, strict=True)}

    def summary(self) -> dict[str, object]:
        """summary.json's ``units``: what was scored as one, and which numbers were not
        mapped (each its own unit) or not scored (their mapping rejected)."""
        found = self.found
        return {
            "by": self.by,
            "column": self.column,
            "units": found.get("units", 0),
            "multi_customer_units": found.get("multi_customer", 0),
            "customers": found.get("customers", 0),
            "customers_unmapped": found.get("customers_unmapped", 0),
            "customers_rejected": found.get("customers_rejected", 0),
        }

    def attributes_template(self, attributes: pl.DataFrame | None) -> pl.DataFrame:
        """The columns a unit row carries beside its values (empty): its numbers, then
        the customers file's columns."""
        members = pl.DataFrame(
            schema={"customer_id": pl.String, CUSTOMER_IDS: pl.String, MEMBERS: pl.Int64}
        )
        if attributes is None:
            return members
        return members.join(attributes.clear(), on="customer_id", how="left")


def units_of(read: Any, by: str) -> Units:
    """The parties file (``read``: a ``pipeline._Input`` of it) as each number's unit.

    A number's rows that name two parties are all rejected (which is meant is
    unknowable); an exact repeat is used once. By household, a party's household is
    the one its rows name (a blank cell names none); a party whose rows name two is
    rejected with every row. A number with a row that could not be read (an empty
    party id, a bad field count) is refused: its party is unknown."""
    marked = mark_duplicates(read.good, ("customer_id",), ("party_id",))
    unreadable = _unreadable_ids(read.checked)
    rows, bad, refused, *sizes = pl.collect_all([marked, read.bad, unreadable, *read.sizes])
    read.take_sizes(sizes)
    if by == HOUSEHOLD:
        rows = _households_checked(rows, refused)
    else:
        rows = rows.with_columns(pl.lit(None, pl.String).alias("_reason"))
    out = rows.filter(pl.col(STATUS) == REJECTED).select("customer_id").vstack(refused)
    refusals = out.unique().with_columns(
        pl.lit(None, pl.String).alias(UNIT), pl.lit(REFUSED).alias(KIND)
    )
    used = rows.filter(pl.col(STATUS).is_null()).join(refusals, on="customer_id", how="anti")
    mapping = pl.concat([_units(used, by), refusals]).sort("customer_id")
    rejects = pl.concat([rejects_table(bad), _rejected_lines(rows)])
    return Units(by, read.files, mapping, rejects, _row_counts(rows, bad))


def _row_counts(rows: pl.DataFrame, bad: pl.DataFrame) -> dict[str, int]:
    """The file's rows as summary.json counts an input's (``rows.parties``)."""
    counts = {status: 0 for status in STATUSES}
    counts["used"] = rows.filter(pl.col(STATUS).is_null()).height
    counts["duplicate"] = rows.filter(pl.col(STATUS) == DUPLICATE).height
    counts["rejected"] = rows.filter(pl.col(STATUS) == REJECTED).height + bad.height
    return {"read": sum(counts.values()), **counts}


def _unreadable_ids(checked: pl.LazyFrame) -> pl.LazyFrame:
    """Numbers with a row that failed validation while its id itself is fine."""
    id_ok = parse_id("customer_id", pl.String, typed=True).reason.is_null()
    bad = checked.filter(pl.col(DETAIL).is_not_null() & id_ok)
    return bad.select("customer_id").unique()


def _households_checked(rows: pl.DataFrame, refused: pl.DataFrame) -> pl.DataFrame:
    """Rows of a party whose usable rows name two households marked rejected, with the
    reason; the others' ``HOUSEHOLD`` column set to their party's household. A number
    refused already (``refused``, or its rows rejected) names no household."""
    usable = rows.filter(pl.col(STATUS).ne_missing(REJECTED)).join(
        refused, on="customer_id", how="anti"
    )
    named = usable.group_by("party_id").agg(pl.col("household_id").drop_nulls().unique())
    split = named.filter(pl.col("household_id").list.len() > 1).select("party_id")
    one = named.filter(pl.col("household_id").list.len() == 1).select(
        "party_id", pl.col("household_id").list.first().alias(HOUSEHOLD)
    )
    in_two = pl.col("party_id").is_in(split["party_id"].implode()) & pl.col(STATUS).ne_missing(
        REJECTED
    )
    return rows.join(one, on="party_id", how="left").with_columns(
        pl.when(in_two).then(pl.lit(REJECTED, pl.UInt8)).otherwise(pl.col(STATUS)).alias(STATUS),
        pl.when(in_two).then(pl.lit(TWO_HOUSEHOLDS)).alias("_reason"),
    )


def _units(used: pl.DataFrame, by: str) -> pl.DataFrame:
    """Each mapped number's unit: its party, or by household its party's household
    (the party itself when it names none)."""
    if by == PARTY:
        return used.select("customer_id", pl.col("party_id").alias(UNIT), pl.lit(PARTY).alias(KIND))
    household = pl.col(HOUSEHOLD)
    return used.select(
        "customer_id",
        pl.coalesce(household, "party_id").alias(UNIT),
        pl.when(household.is_not_null())
        .then(pl.lit(HOUSEHOLD))
        .otherwise(pl.lit(PARTY))
        .alias(KIND),
    )


def _rejected_lines(rows: pl.DataFrame) -> pl.DataFrame:
    """One rejects line per rejected mapping row: the party a number was mapped to
    besides another, or the household a party was given besides another."""
    rejected = rows.filter(pl.col(STATUS) == REJECTED)
    two_households = pl.col("_reason").is_not_null()
    return rejected.select(
        pl.col(FILE_COL).alias("file"),
        pl.col(LINE_COL).alias("line"),
        pl.when(two_households).then(pl.lit("household_id")).otherwise(pl.lit("party_id"))
        .alias("column"),
        pl.when(two_households).then(pl.col("household_id")).otherwise(pl.col("party_id"))
        .cast(pl.String).alias("value"),
        pl.coalesce("_reason", pl.lit(TWO_PARTIES)).alias("reason"),
    )  # fmt: skip


# --- the roll-up, the same on both engines -----------------------------------------


def with_mapping(
    valued: pl.LazyFrame, mapping: pl.DataFrame, attributes: pl.DataFrame | None
) -> pl.LazyFrame:
    """Each scored number's values beside its unit and its customers row (the polars
    engine's join; the Spark engine makes the same on the cluster)."""
    frame = valued.join(mapping.lazy(), on="customer_id", how="left")
    if attributes is not None:
        frame = frame.join(attributes.lazy(), on="customer_id", how="left")
    return frame


def unit_rows(
    plan: Plan, frame: pl.DataFrame, attributes: tuple[str, ...]
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """One row per unit from one row per scored customer number (``frame``: values,
    ``NUMERATOR``, ``FORWARD`` when measured, ``attributes``, ``UNIT`` and ``KIND``),
    as one customer's row: its id under ``customer_id``, every component's exact sum,
    its numerator from those sums, its numbers (``CUSTOMER_IDS``, ``MEMBERS``) and its
    customers columns (``unit_attributes``). Also the parts ``Units.take`` reads:
    counts, and ids that name units of two kinds. Every number of a unit must be in
    ``frame`` (the Spark engine spreads the customers by unit)."""
    kept = frame.filter(pl.col(KIND).ne_missing(REFUSED)).with_columns(
        pl.coalesce(UNIT, "customer_id").alias(UNIT), pl.col(KIND).fill_null(OWN)
    )
    ids = [c.id for c in plan.components]
    summed = [*ids, *([FORWARD] if FORWARD in frame.columns else [])]
    grouped = kept.group_by(UNIT).agg(
        pl.col(summed).sum(),  # 128-bit; ``with_numerator`` checks the totals' range
        pl.col("customer_id").sort().str.join(";").alias(CUSTOMER_IDS),
        pl.len().cast(pl.Int64).alias(MEMBERS),
    )
    units = grouped.join(unit_attributes(plan, kept, attributes), on=UNIT, how="left")
    shown = [c for c in attributes if c in kept.columns]
    rows = units.select(
        pl.col(UNIT).alias("customer_id"), *summed, *shown, CUSTOMER_IDS, MEMBERS
    ).sort("customer_id")
    valued = with_numerator(plan, rows.lazy()).collect()
    return valued, {"units": _counts(frame, grouped), "clashes": _clashes(kept)}


def unit_attributes(plan: Plan, kept: pl.DataFrame, attributes: tuple[str, ...]) -> pl.DataFrame:
    """Each unit's customers columns: its lead number's (``LEAD``: the most points, ties
    to the smallest id), except the columns the rule set's gates and service floors
    read, which take the value that blocks or raises most among its numbers: a flag
    set on any number is set, a count is the largest, a text floor column the value
    meeting the highest floor (else the lead's). A blemish on one number is the
    person's; counts are not added, as each number may carry the person's own record
    (a credit report is by certificate ID) and adding would count it twice."""
    shown = [c for c in attributes if c in kept.columns]
    if not shown:
        return kept.select(UNIT).unique()
    floors = _text_floors(plan)
    leads = kept.group_by(UNIT).agg(_most().first().alias(LEAD))
    lead_rows = kept.join(leads, left_on=[UNIT, "customer_id"], right_on=[UNIT, LEAD])
    rolled = {c: _roll(c, kept.schema[c], floors) for c in shown}
    taken = [e.alias(f"_unit_{c}") for c, e in rolled.items() if e is not None]
    joined = lead_rows.select(UNIT, *shown)
    if taken:
        joined = joined.join(kept.group_by(UNIT).agg(taken), on=UNIT, how="left")
    return joined.select(
        UNIT,
        *(pl.col(c) if rolled[c] is None else pl.coalesce(f"_unit_{c}", c).alias(c) for c in shown),
    )


def _most() -> pl.Expr:
    """A unit's numbers, the one with the most points first (ties: the smallest id)."""
    return pl.col("customer_id").sort_by([NUMERATOR, "customer_id"], descending=[True, False])


def _roll(column: str, dtype: pl.DataType, floors: dict[str, dict[str, int]]) -> pl.Expr | None:
    """How a gate's or floor's column is taken over a unit's numbers (None: the lead's).
    Null when none of them knows a value, so the lead's (null too) stands."""
    cell = pl.col(column)
    if dtype == pl.Boolean:  # flags (the unusable mark too): set on any, else known unset
        return pl.when(cell.any()).then(True).when(cell.is_not_null().any()).then(False)
    if dtype.is_integer():  # counts
        return cell.max()
    if column in floors:  # the value that meets the highest floor; the smallest on a tie
        rank = cell.replace_strict(floors[column], default=None, return_dtype=pl.Int64)
        return cell.filter(rank == rank.min()).sort().first()
    return None


def _text_floors(plan: Plan) -> dict[str, dict[str, int]]:
    """For each text floor column of ``[service]``, the tier index each value meets
    (lower is higher)."""
    service = plan.ruleset.service
    labels = [t.label for t in plan.tiers]
    found: dict[str, dict[str, int]] = {}
    for floor in service.floors if service is not None else ():
        if floor.equals is not None:
            ranks = found.setdefault(floor.column, {})
            index = labels.index(floor.tier)
            ranks[floor.equals] = min(ranks.get(floor.equals, index), index)
    return found


def _counts(frame: pl.DataFrame, grouped: pl.DataFrame) -> pl.DataFrame:
    kind = pl.col(KIND)
    return frame.select(
        kind.ne_missing(REFUSED).sum().cast(pl.Int64).alias("customers"),
        kind.is_null().sum().cast(pl.Int64).alias("customers_unmapped"),
        kind.eq_missing(REFUSED).sum().cast(pl.Int64).alias("customers_rejected"),
        pl.lit(grouped.height, pl.Int64).alias("units"),
        pl.lit(grouped.filter(pl.col(MEMBERS) > 1).height, pl.Int64).alias("multi_customer"),
    )


def _clashes(kept: pl.DataFrame) -> pl.DataFrame:
    """Ids that name units of two kinds (a party and a number not in the file, say)."""
    kinds = kept.group_by(UNIT).agg(pl.col(KIND).unique().sort().str.join(", ").alias(KIND))
    return kinds.filter(pl.col(KIND).str.contains(",")).select(UNIT, KIND)


def no_parts() -> dict[str, pl.DataFrame]:
    """``unit_rows``' parts when there is no customer at all."""
    counts = pl.DataFrame({c: [0] for c in _COUNTED}, schema=dict.fromkeys(_COUNTED, pl.Int64))
    return {"units": counts, "clashes": pl.DataFrame(schema={UNIT: pl.String, KIND: pl.String})}


def rolled_up(
    plan: Plan, valued: pl.DataFrame, units: Units, attributes: Any | None
) -> pl.DataFrame:
    """The polars engine's units: ``valued`` (one row per scored number) as one row per
    unit, the counts taken into ``units``. ``attributes``: ``pipeline._Attributes``."""
    frame = attributes.frame if attributes is not None else None
    columns = attributes.columns if attributes is not None else ()
    joined = with_mapping(valued.lazy(), units.mapping, frame).collect()
    rows, parts = unit_rows(plan, joined, columns)
    units.take(parts)
    return rows
