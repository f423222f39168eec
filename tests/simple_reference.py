"""A deliberately simple, row-by-row scorer to check the vectorized one against.

It walks every day of the window and every account, in plain Python with
Fractions, and reads the rule file with tomllib on its own, so that it shares
no code with tierscore.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "rules" / "icbc-star.toml"


def load() -> dict:
    return tomllib.loads(RULES.read_text(encoding="utf-8"))


def _money(text: str | None) -> Fraction | None:
    return None if text in (None, "") else Fraction(text)


def reference_points(
    balances: list[tuple],
    transactions: list[tuple[str, str, date, str, str, str | None, str | None]],
    start: date,
    end: date,
    layout: str = "changes",
) -> dict[str, Fraction]:
    """Exact points per customer; every customer in either input appears. ``balances``
    in one of the layouts (see ``held``): rows (customer, account, product, then
    date, balance for changes; start, end, balance for intervals; start, end,
    accumulated for accumulations; date, seq, balance for postings)."""
    rules = load()
    unit = Fraction(rules["ruleset"]["unit"])
    component_of = {}
    for comp in rules["components"]:
        for code in comp["codes"]:
            component_of[(comp["source"], code)] = comp
    days = (end - start).days + 1
    points: dict[str, Fraction] = defaultdict(Fraction)
    if layout == "changes":
        balances = usable(balances, (1, 3))
    transactions = usable(transactions, (1,))
    for row in balances:  # a customer whose every row conflicts is not scored
        points[row[0]] += 0
    for row in transactions:
        points[row[0]] += 0

    for customer, product, yuan_days in held(balances, start, end, layout):
        comp = component_of.get(("balances", product))
        if comp is not None:
            points[customer] += yuan_days / days / unit * Fraction(comp["rate"])

    for customer, _txn, day, kind, amount, fee, ratio in transactions:
        comp = component_of.get(("transactions", kind))
        if comp is None or not start <= day <= end:
            continue
        counted = Fraction(amount)
        cap = comp.get("caps", {}).get(kind, comp.get("cap"))
        if cap is not None:
            counted = min(counted, Fraction(str(cap)))
        counted *= _money(ratio) if _money(ratio) is not None else 1
        if comp.get("requires_fee") and not (_money(fee) or 0) > 0:
            continue
        points[customer] += counted / unit * Fraction(comp["rate"])
    return dict(points)


def usable(rows: list[tuple], key: tuple[int, ...]) -> list[tuple]:
    """Rows as a run uses them: of the rows that share a key (an account and date, a
    transaction id), one if all are the same row (the others are duplicates), none if
    any two differ (they conflict: which is right is unknowable)."""
    found: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        found[tuple(row[i] for i in key)].append(row)
    return [same[0] for same in found.values() if len(set(same)) == 1]


def held(
    balances: list[tuple], start: date, end: date, layout: str = "changes"
) -> list[tuple[str, str, Fraction]]:
    """(customer, product, yuan-days) of every account on every window day, walked day
    by day, or (accumulations) of every row wholly inside the window."""
    if layout == "accumulations":
        return [
            (customer, product, Fraction(total))
            for customer, _account, product, first, last, total in balances
            if start <= first and last <= end
        ]
    if layout == "postings":
        balances = last_postings(balances)
    out = []
    day = start
    while day <= end:
        for account in sorted({row[1] for row in balances}):
            found = _on(balances, account, day, layout)
            if found is not None:
                out.append(found)
        day += timedelta(days=1)
    return out


def _on(rows: list[tuple], account: str, day: date, layout: str) -> tuple | None:
    """The account's (customer, product, balance) at the end of ``day``, if it has one."""
    if layout == "intervals":
        for customer, acct, product, first, last, balance in rows:
            if acct == account and first <= day and (_open(last) or day <= last):
                return customer, product, Fraction(balance)
        return None
    known = [(r[3], r[0], r[2], r[4]) for r in rows if r[1] == account and r[3] <= day]
    if not known:
        return None
    _, customer, product, balance = max(known)
    return customer, product, Fraction(balance)


def _open(end: date | str | None) -> bool:
    """An interval's end that means "still valid"."""
    return end in (None, "", "9999-12-31", "2099-12-31", date(9999, 12, 31), date(2099, 12, 31))


def last_postings(rows: list[tuple]) -> list[tuple]:
    """Postings (customer, account, product, date, seq, balance) as a change log: each
    account-day's last posting by seq, as numbers where all the account's are integers."""
    numeric = defaultdict(lambda: True)
    for row in rows:
        numeric[row[1]] &= re.fullmatch(r"[+-]?[0-9]+", str(row[4])) is not None
    last: dict[tuple[str, date], tuple] = {}
    for row in rows:
        key = int(row[4]) if numeric[row[1]] else str(row[4])
        seen = last.get((row[1], row[3]))
        if seen is None or key > seen[0]:
            last[(row[1], row[3])] = (key, row)
    return [(r[0], r[1], r[2], r[3], r[5]) for _, r in last.values()]


def reference_tier(points: Fraction) -> str:
    for tier in load()["tiers"]:
        if "above" in tier and points > Fraction(tier["above"]):
            return tier["label"]
        if "min" in tier and points >= Fraction(tier["min"]):
            return tier["label"]
    raise AssertionError("the last tier catches everything")


def round_half_up(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
