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
    fx: dict[str, list[tuple[date, Fraction]]] | None = None,
    joint: str = "each",
    unit_of: dict[str, str] | None = None,
) -> dict[str, Fraction]:
    """Exact points per customer; every customer in either input appears. ``balances``
    in one of the layouts (see ``held``): rows (customer, account, product, then
    date, balance for changes; start, end, balance for intervals; start, end,
    accumulated for accumulations; date, seq, balance for postings).

    ``fx`` (rates per currency: (from date, yuan per unit)): change-log balances and
    transactions then end in a currency ("" is CNY), converted at each day's rate
    (the latest on or before it); a row without one for its first counted day is
    rejected, before repeats are looked for, as validation rejects it.

    ``joint`` (change log): rows of one account and date that differ only in customer
    are a joint account's holders: each counts the balance ("each"), an equal share
    ("split", at most 10 holders), or they conflict ("reject"). ``unit_of``: points
    per unit (party or household; a customer not in it is its own), where holders of
    one unit are one holder."""
    if fx is not None:
        fx = {code: sorted(rates) for code, rates in fx.items()}
        balances, transactions = _rated(balances, transactions, start, end, fx)
    rules = load()
    unit = Fraction(rules["ruleset"]["unit"])
    component_of = {}
    for comp in rules["components"]:
        for code in comp["codes"]:
            component_of[(comp["source"], code)] = comp
    days = (end - start).days + 1
    points: dict[str, Fraction] = defaultdict(Fraction)

    def unit_id(customer: str) -> str:
        return (unit_of or {}).get(customer, customer)

    if layout == "changes":
        balances = _holders(balances, joint, unit_id)
    transactions = usable(transactions, (1,))
    for row in balances:  # a customer whose every row conflicts is not scored
        points[row[0]] += 0
    for row in transactions:
        points[row[0]] += 0

    for customer, product, yuan_days in held(balances, start, end, layout, fx):
        comp = component_of.get(("balances", product))
        if comp is not None:
            points[customer] += yuan_days / days / unit * Fraction(comp["rate"])

    for customer, _txn, day, kind, amount, fee, ratio, *currency in transactions:
        comp = component_of.get(("transactions", kind))
        if comp is None or not start <= day <= end:
            continue
        counted = Fraction(amount) * _rate(fx, currency, day)
        cap = comp.get("caps", {}).get(kind, comp.get("cap"))
        if cap is not None:
            counted = min(counted, Fraction(str(cap)))
        counted *= _money(ratio) if _money(ratio) is not None else 1
        if comp.get("requires_fee") and not (_money(fee) or 0) > 0:
            continue
        points[customer] += counted / unit * Fraction(comp["rate"])
    if unit_of is None:
        return dict(points)
    units: dict[str, Fraction] = defaultdict(Fraction)
    for customer, value in points.items():
        units[unit_id(customer)] += value
    return dict(units)


def _holders(rows: list[tuple], joint: str, unit) -> list[tuple]:
    """Balance rows as a run uses them, each with its share (a Fraction) appended: one
    row per key if all are the same row; a joint account's holders (rows that differ
    only in customer), one per unit, each with 1 or 1/n; none for a conflict."""
    found: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        found[(row[1], row[3])].append(row)
    out = []
    for same in found.values():
        if len(set(same)) == 1:
            out.append((*same[0], Fraction(1)))
            continue
        if joint == "reject" or len({r[1:] for r in same}) > 1:
            continue  # they differ in more than the customer: a conflict
        first: dict[str, tuple] = {}
        for row in sorted(set(same)):
            first.setdefault(unit(row[0]), row)
        if joint == "split" and len(first) > 10:
            continue
        share = Fraction(1, len(first)) if joint == "split" else Fraction(1)
        out += [(*row, share) for row in first.values()]
    return out


def usable(rows: list[tuple], key: tuple[int, ...]) -> list[tuple]:
    """Rows as a run uses them: of the rows that share a key (an account and date, a
    transaction id), one if all are the same row (the others are duplicates), none if
    any two differ (they conflict: which is right is unknowable)."""
    found: dict[tuple, list[tuple]] = defaultdict(list)
    for row in rows:
        found[tuple(row[i] for i in key)].append(row)
    return [same[0] for same in found.values() if len(set(same)) == 1]


def _rate(fx: dict | None, currency: list[str], day: date) -> Fraction:
    """Yuan per unit of a row's currency on ``day`` (1 for CNY; 0 if none: not asked)."""
    code = currency[0] if currency else ""
    if code in ("", "CNY") or fx is None:
        return Fraction(1)
    known = [rate for since, rate in fx.get(code, []) if since <= day]
    return known[-1] if known else Fraction(0)


def _has_rate(fx: dict, code: str, day: date) -> bool:
    return code in ("", "CNY") or any(since <= day for since, _ in fx.get(code, []))


def _rated(balances: list, transactions: list, start: date, end: date, fx: dict):
    """The rows validation keeps: a foreign row counting on a window day needs a rate
    on or before its first one. An empty currency is CNY (the same row as one that
    says CNY)."""
    balances = [(*r[:5], r[5] or "CNY") for r in balances]
    transactions = [(*r[:7], r[7] or "CNY") for r in transactions]
    kept_b = [r for r in balances if r[3] > end or _has_rate(fx, r[5], max(r[3], start))]
    kept_t = [r for r in transactions if not start <= r[2] <= end or _has_rate(fx, r[7], r[2])]
    return kept_b, kept_t


def held(
    balances: list[tuple],
    start: date,
    end: date,
    layout: str = "changes",
    fx: dict | None = None,
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
            if layout == "changes":  # every holder of the account's latest row
                for customer, product, balance, currency in _holding(balances, account, day):
                    out.append((customer, product, balance * _rate(fx, currency, day)))
                continue
            found = _on(balances, account, day, layout)
            if found is not None:
                customer, product, balance, *currency = found
                out.append((customer, product, balance * _rate(fx, currency, day)))
        day += timedelta(days=1)
    return out


def _holding(rows: list[tuple], account: str, day: date) -> list[tuple]:
    """The account's holders at the end of ``day``: (customer, product, balance x share,
    [currency]) of each of its rows of the latest date up to ``day`` (``_holders`` rows:
    the share last, a currency before it when the rows have one)."""
    dates = [r[3] for r in rows if r[1] == account and r[3] <= day]
    if not dates:
        return []
    latest = [r for r in rows if r[1] == account and r[3] == max(dates)]
    return [(r[0], r[2], Fraction(r[4]) * r[-1], list(r[5:-1])) for r in latest]


def _on(rows: list[tuple], account: str, day: date, layout: str) -> tuple | None:
    """The account's (customer, product, balance) at the end of ``day``, if it has one."""
    if layout == "intervals":
        for customer, acct, product, first, last, balance in rows:
            if acct == account and first <= day and (_open(last) or day <= last):
                return customer, product, Fraction(balance)
        return None
    known = [(r[3], r[0], r[2], r[4], *r[5:]) for r in rows if r[1] == account and r[3] <= day]
    if not known:
        return None
    _, customer, product, balance, *currency = max(known)
    return customer, product, Fraction(balance), *currency


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
