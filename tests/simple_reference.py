"""A deliberately simple, row-by-row scorer to check the vectorized one against.

It walks every day of the window and every account, in plain Python with
Fractions, and reads the rule file with tomllib on its own, so that it shares
no code with tierscore.
"""

from __future__ import annotations

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
    balances: list[tuple[str, str, str, date, str]],
    transactions: list[tuple[str, str, date, str, str, str | None, str | None]],
    start: date,
    end: date,
) -> dict[str, Fraction]:
    """Exact points per customer; every customer in either input appears."""
    rules = load()
    unit = Fraction(rules["ruleset"]["unit"])
    component_of = {}
    for comp in rules["components"]:
        for code in comp["codes"]:
            component_of[(comp["source"], code)] = comp
    days = (end - start).days + 1
    points: dict[str, Fraction] = defaultdict(Fraction)
    for row in balances:
        points[row[0]] += 0
    for row in transactions:
        points[row[0]] += 0

    by_account = defaultdict(list)
    for customer, account, product, day, balance in balances:
        by_account[account].append((day, customer, product, Fraction(balance)))
    day = start
    while day <= end:
        for rows in by_account.values():
            known = [r for r in rows if r[0] <= day]
            if not known:
                continue
            _, customer, product, balance = max(known)
            comp = component_of.get(("balances", product))
            if comp is not None:
                points[customer] += balance / days / unit * Fraction(comp["rate"])
        day += timedelta(days=1)

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
