"""Regenerate the shipped sample export: ``python sample_data/generate.py``.

Why this exists: tierscore needs a small, realistic half-year export to try the
tool on, to show in the README and to run end-to-end tests against. Real bank
exports cannot be shipped, so this script makes one for window 2026H1
(2026-01-01..2026-06-30, 181 days) in the default ``icbc-star`` codes, shaped
so that every tier has customers and every rule matters: carry-in rows from
2025, accounts opened and closed in the window, rows after it, a few densely
exported accounts, settlement caps, fees and discounts, excluded and unmapped
codes, customers only in one of the two files.

It is deterministic (fixed seed, stdlib only), so the files are reproducible
byte for byte. The expected points and tiers in ``README.md`` are computed here
by a deliberately plain, exact (``Fraction``) reading of the SPEC rules, which
shares no code with tierscore, and the script asserts the properties the README
claims. Also writes a GB18030 copy of part of the export with Chinese headers,
as core-banking systems write it, for the ``--columns`` mapping example
(``gb18030/columns.toml`` is hand-written and not touched here).
"""

from __future__ import annotations

import csv
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20260630
START, END = date(2026, 1, 1), date(2026, 6, 30)
DAYS = (END - START).days + 1  # 181

# default rule set (SPEC section 4): component -> codes, rate per 10,000 yuan
PRODUCTS = {
    "short_term_assets": ["CURRENT", "CUSTODY", "LTKX", "MMF", "CC_DEPOSIT"],
    "long_term_assets": ["TIME", "PROVIDENT", "WEALTH", "FUND", "BOND", "INSURANCE", "GOLD"],
    "mortgage": ["MORTGAGE"],
    "other_loans": ["CONSUMER_LOAN", "BUSINESS_LOAN"],
    "card_overdraft": ["CC_OVERDRAFT"],
}
TXN_TYPES = {
    "investment": ["FUND_BUY", "FUND_REDEEM", "WEALTH_BUY", "BOND_BUY", "INSURANCE_BUY",
                   "GOLD_TRADE", "SILVER_TRADE", "FX_TRADE"],
    "card_spending": ["POS"],
    "settlement": ["REMOTE_CASH", "REMOTE_REMIT", "INTERBANK_REMIT", "EXPRESS_REMIT"],
}  # fmt: skip
RATES = {
    "short_term_assets": 135,
    "long_term_assets": 100,
    "mortgage": 100,
    "other_loans": 200,
    "card_overdraft": 200,
    "investment": 200,
    "card_spending": 400,
    "settlement": 200,
}
EXCLUDED = ["MMF_BUY", "LTKX_BUY", "CROSS_BORDER_REMIT"]
UNMAPPED = ["ATM_QUERY", "ZZ99"]
SETTLEMENT_CAP = Fraction(10_000)
UNIT = Fraction(10_000)
TIERS = [("七星级", 80_000), ("六星级", 10_000), ("五星级", 2_000), ("四星级", 500), ("三星级", 50)]
TIER_NAMES = [name for name, _ in TIERS] + ["准星级", "非星级"]

# planned customers per tier: target points (log-uniform inside) and how many;
# the tiers reported are the computed ones, not these targets
PLAN = [
    ("七星级", (85_000, 130_000), 6),
    ("六星级", (12_000, 60_000), 18),
    ("五星级", (2_300, 8_500), 43),
    ("四星级", (580, 1_750), 69),
    ("三星级", (60, 430), 80),
    ("准星级", (2, 42), 54),
]
# (tier, index inside it) of customers exported in only one file, or with a dense account
ONLY_BALANCES = {("六星级", 0), ("五星级", 0), ("四星级", 0), ("三星级", 0), ("三星级", 1),
                 ("准星级", 0)}  # fmt: skip
ONLY_TRANSACTIONS = {("五星级", 1), ("四星级", 1), ("三星级", 2), ("三星级", 3), ("准星级", 1),
                     ("准星级", 2)}  # fmt: skip
DENSE = {("七星级", 0), ("五星级", 2), ("四星级", 2), ("三星级", 4)}
TXN_COUNT = {"七星级": (40, 60), "六星级": (35, 50), "五星级": (25, 40), "四星级": (20, 35),
             "三星级": (12, 25), "准星级": (2, 10)}  # fmt: skip
UNRATED = [
    "only an account that was opened and never funded (one 0.00 row)",
    "only an account closed before the window",
    "only an account opened after the window",
    "only excluded transactions (MMF_BUY, LTKX_BUY)",
    "only a CROSS_BORDER_REMIT with a fee (excluded)",
    "only transactions outside the window",
    "only settlement with fee 0.00",
    "only settlement with the fee missing (unknown)",
    "only unmapped codes (ATM_QUERY, ZZ99)",
    "a 0.00 account and an unmapped transaction",
    "an account closed before the window and an excluded transaction",
    "a balance and a POS after the window",
]

BAL_HEADER = ["customer_id", "account_id", "product", "date", "balance"]
TXN_HEADER = ["customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio"]
BAL_CN = ["客户号", "账号", "产品代码", "日期", "余额"]
TXN_CN = ["客户号", "交易流水号", "交易日期", "交易类型", "交易金额", "手续费", "费率折扣"]


def yuan(cents: int) -> str:
    """Cents as yuan with exactly two decimals."""
    return f"{cents // 100}.{cents % 100:02d}"


def cents(amount: float) -> int:
    """Yuan to whole cents, at least one cent."""
    return max(1, round(amount * 100))


def day(offset: int) -> date:
    """The day ``offset`` days after the window start."""
    return START + timedelta(days=offset)


@dataclass
class Role:
    """What one generated customer is meant to show."""

    kind: str  # "regular", "bound" or "unrated"
    tier: str = ""
    target: float = 0.0
    balances: bool = True
    transactions: bool = True
    dense: bool = False
    note: str = ""


class Export:
    """Accumulates rows; the seed fixes every draw, so the output is stable."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.balances: list[list[str]] = []
        self.pending: list[list[str]] = []  # transactions before ids are assigned
        self.dense_accounts: list[str] = []

    def balance(self, cust: str, account: str, product: str, when: date, amount: int) -> None:
        self.balances.append([cust, account, product, when.isoformat(), yuan(amount)])

    def txn(
        self, cust: str, when: date, kind: str, amount: int, fee: str = "", ratio: str = ""
    ) -> None:
        stamp = when.isoformat()
        if self.rng.random() < 0.12:  # some systems export a timestamp
            stamp += f" {self.rng.randint(8, 21):02d}:{self.rng.randint(0, 59):02d}:00"
        self.pending.append([cust, stamp, kind, yuan(amount), fee, ratio])

    def transactions(self) -> list[list[str]]:
        """Transactions in time order, numbered T000001.. in that order."""
        ordered = sorted(enumerate(self.pending), key=lambda pair: (pair[1][1], pair[0]))
        return [
            [row[0], f"T{number:06d}", *row[1:]] for number, (_, row) in enumerate(ordered, start=1)
        ]

    # -- balances ---------------------------------------------------------------

    def account(self, cust: str, account: str, product: str, average: float) -> None:
        """A sparse change log whose half-year daily average is near ``average`` yuan."""
        rng = self.rng
        rows: list[tuple[date, int]] = []
        pattern = rng.random()
        if pattern < 0.55:  # carried in from 2025, a few changes in the window
            if rng.random() < 0.4:  # older history: only the latest pre-window row carries in
                old = date(2025, rng.randint(3, 9), rng.randint(1, 28))
                rows.append((old, cents(average * rng.uniform(0.3, 2.0))))
            rows.append((date(2025, rng.randint(10, 12), rng.randint(1, 30)),
                         cents(average * rng.uniform(0.8, 1.2))))  # fmt: skip
            for offset in sorted(rng.sample(range(1, DAYS), rng.randint(1, 7))):
                rows.append((day(offset), cents(average * rng.uniform(0.7, 1.3))))
        elif pattern < 0.75:  # opened mid-window: a larger balance for fewer days
            opened = rng.randint(10, 150)
            rows.append((day(opened), cents(average * DAYS / (DAYS - opened))))
        elif pattern < 0.93:  # carried in, then closed mid-window by a 0.00 row
            closed = rng.randint(40, 175)
            rows.append((date(2025, 11, rng.randint(1, 30)), cents(average * DAYS / closed)))
            rows.append((day(closed), 0))
        else:  # opened and closed inside the window
            opened = rng.randint(5, 80)
            closed = rng.randint(opened + 30, DAYS - 3)
            rows.append((day(opened), cents(average * DAYS / (closed - opened))))
            rows.append((day(closed), 0))
        if rng.random() < 0.12:  # a row after the window must not count
            rows.append((date(2026, 7, rng.randint(1, 31)), cents(average * rng.uniform(2, 20))))
        for when, amount in rows:
            self.balance(cust, account, product, when, amount)

    def mortgage(self, cust: str, account: str, average: float) -> None:
        """An amortizing loan: carried in, one repayment on the 20th of every month."""
        principal = cents(average * 1.02)
        step = principal // 150
        self.balance(cust, account, "MORTGAGE", date(2025, 12, 20), principal)
        for month in range(1, 8):  # July's row is after the window
            self.balance(cust, account, "MORTGAGE", date(2026, month, 20), principal - month * step)

    def overdraft(self, cust: str, account: str, average: float) -> None:
        """Interest-bearing card overdraft: drawn early in a month, repaid later (0.00)."""
        rng = self.rng
        months = sorted(rng.sample(range(1, 7), rng.randint(2, 6)))
        for month in months:
            drawn = rng.randint(1, 10)
            repaid = rng.randint(drawn + 5, 28)
            share = 30 / (repaid - drawn) * 6 / len(months)
            amount = cents(average * share * rng.uniform(0.7, 1.3))
            self.balance(cust, account, "CC_OVERDRAFT", date(2026, month, drawn), amount)
            self.balance(cust, account, "CC_OVERDRAFT", date(2026, month, repaid), 0)

    def dense(self, cust: str, account: str, product: str, average: float) -> None:
        """One row every day from 2025-12-31 to 2026-07-03, as some systems export."""
        self.dense_accounts.append(account)
        level = average
        for offset in range(-1, DAYS + 3):
            level = max(average * 0.5, min(average * 1.5, level * self.rng.uniform(0.97, 1.03)))
            self.balance(cust, account, product, day(offset), cents(level))

    # -- transactions -----------------------------------------------------------

    def spread(self, cust: str, kinds: list[str], total: float, count: int) -> None:
        """``count`` transactions of ``kinds`` summing to about ``total`` yuan."""
        weights = [self.rng.uniform(0.2, 1.8) for _ in range(count)]
        for weight in weights:
            amount = cents(total * weight / sum(weights))
            self.txn(cust, day(self.rng.randrange(DAYS)), self.rng.choice(kinds), amount)

    def settlement(self, cust: str, counted: float, count: int) -> None:
        """Fee-bearing transfers; only charged ones count, each capped at 10,000.00."""
        rng = self.rng
        for _ in range(count):
            amount = cents(counted / count * rng.uniform(0.5, 2.5) / 0.6)
            ratio = rng.choice(["", "", "", "0.8", "0.5"])
            charged = rng.random()
            if charged < 0.6:  # standard fee 0.5%, at most 50 yuan, times the discount
                standard = Fraction(min(5_000, round(amount / 200)))
                fee = yuan(round(standard * Fraction(ratio or "1")))
            elif charged < 0.8:
                fee = "0.00"  # waived: does not count
            else:
                fee = ""  # unknown: does not count
            kind = rng.choice(TXN_TYPES["settlement"])
            self.txn(cust, day(rng.randrange(DAYS)), kind, amount, fee, ratio)

    def noise(self, cust: str) -> None:
        """Rows that must not score: excluded codes, unmapped codes, outside the window."""
        rng = self.rng
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                kind = rng.choice(EXCLUDED)
                fee = "15.00" if kind == "CROSS_BORDER_REMIT" else ""
                self.txn(cust, day(rng.randrange(DAYS)), kind, cents(rng.uniform(1e3, 2e5)), fee)
        if rng.random() < 0.12:
            kind = rng.choice(UNMAPPED)
            amount = 100 if kind == "ATM_QUERY" else cents(rng.uniform(10, 5_000))
            self.txn(cust, day(rng.randrange(DAYS)), kind, amount)
        if rng.random() < 0.2:
            before, after = date(2025, 12, rng.randint(1, 31)), date(2026, 7, rng.randint(1, 31))
            when = rng.choice([before, after])
            kind = rng.choice(["POS", "FUND_BUY", "INTERBANK_REMIT"])
            fee = "25.00" if kind == "INTERBANK_REMIT" else ""
            self.txn(cust, when, kind, cents(rng.uniform(500, 50_000)), fee)

    # -- customers --------------------------------------------------------------

    def regular(self, cust: str, role: Role) -> None:
        """Spread the target points over assets, loans and transactions."""
        rng = self.rng
        target = role.target
        weights: dict[str, float] = {}
        if role.balances:
            weights["short_term_assets"] = rng.uniform(0.5, 1.5)
            if rng.random() < 0.7:
                weights["long_term_assets"] = rng.uniform(0.1, 1.2)
            if target >= 500 and rng.random() < 0.45:
                loans = ["other_loans", "card_overdraft"] + ["mortgage"] * (target >= 2_000)
                weights[rng.choice(loans)] = rng.uniform(0.1, 0.6)
        low, high = TXN_COUNT[role.tier]
        count = rng.randint(low, high) if role.transactions else 0
        n_invest = n_settle = 0
        if role.transactions:
            weights["card_spending"] = rng.uniform(0.05, 0.4) * (3 if not role.balances else 1)
            if rng.random() < 0.5 and count >= 4:
                n_invest = rng.randint(1, max(1, count // 5))
                weights["investment"] = rng.uniform(0.05, 0.6)
            if rng.random() < 0.5 and count >= 4:
                n_settle = rng.randint(1, max(1, count // 5))
                weights["settlement"] = rng.uniform(0.02, 0.2)
        total = sum(weights.values())
        points = {comp: target * w / total for comp, w in weights.items()}
        if "settlement" in points:  # the cap limits what a few transfers can earn
            limit = n_settle * 120.0
            if points["settlement"] > limit:
                spill = "short_term_assets" if role.balances else "card_spending"
                points[spill] += points["settlement"] - limit
                points["settlement"] = limit

        def average(comp: str) -> float:
            return points[comp] / RATES[comp] * 10_000

        number = 0

        def next_account() -> str:
            nonlocal number
            number += 1
            return f"{cust}-A{number}"

        if "short_term_assets" in points:
            short = average("short_term_assets")
            split = rng.uniform(0.5, 0.8) if rng.random() < 0.55 or role.dense else 1.0
            self.account(cust, next_account(), rng.choice(PRODUCTS["short_term_assets"]),
                         short * split)  # fmt: skip
            if split < 1:
                product = rng.choice(PRODUCTS["short_term_assets"])
                if role.dense:
                    self.dense(cust, next_account(), product, short * (1 - split))
                else:
                    self.account(cust, next_account(), product, short * (1 - split))
        if "long_term_assets" in points:
            long_ = average("long_term_assets")
            split = rng.uniform(0.4, 0.7) if rng.random() < 0.3 else 1.0
            self.account(cust, next_account(), rng.choice(PRODUCTS["long_term_assets"]),
                         long_ * split)  # fmt: skip
            if split < 1:
                self.account(cust, next_account(), rng.choice(PRODUCTS["long_term_assets"]),
                             long_ * (1 - split))  # fmt: skip
        if "mortgage" in points:
            self.mortgage(cust, next_account(), average("mortgage"))
        if "other_loans" in points:
            product = rng.choice(PRODUCTS["other_loans"])
            self.account(cust, next_account(), product, average("other_loans"))
        if "card_overdraft" in points:
            self.overdraft(cust, next_account(), average("card_overdraft"))
        if role.transactions:
            n_pos = max(1, count - n_invest - n_settle)
            self.spread(cust, ["POS"], average("card_spending"), n_pos)
            if n_invest:
                self.spread(cust, TXN_TYPES["investment"], average("investment"), n_invest)
            if n_settle:
                self.settlement(cust, average("settlement"), n_settle)
            self.noise(cust)

    def unrated(self, cust: str, case: int) -> None:
        """Customers with rows but nothing that scores (one case of ``UNRATED`` each)."""
        rng = self.rng
        acct = f"{cust}-A1"
        somewhen = day(rng.randrange(DAYS))
        if case in (0, 9):
            self.balance(cust, acct, "CURRENT", date(2025, 11, 3), 0)
        if case in (1, 10):
            self.balance(cust, acct, "CURRENT", date(2025, 6, 1), 1_250_000)
            self.balance(cust, acct, "CURRENT", date(2025, 12, 1), 0)
        if case in (2, 11):
            self.balance(cust, acct, "TIME", date(2026, 7, 6), 50_000_000)
        if case == 3:
            self.txn(cust, somewhen, "MMF_BUY", 10_000_000)
            self.txn(cust, day(rng.randrange(DAYS)), "LTKX_BUY", 3_000_000)
        if case == 4:
            self.txn(cust, somewhen, "CROSS_BORDER_REMIT", 2_000_000, "50.00")
        if case == 5:
            self.txn(cust, date(2025, 12, 28), "POS", 880_000)
            self.txn(cust, date(2026, 7, 2), "FUND_BUY", 5_000_000)
        if case == 6:
            self.txn(cust, somewhen, "REMOTE_REMIT", 5_000_000, "0.00")
        if case == 7:
            self.txn(cust, somewhen, "EXPRESS_REMIT", 800_000, "")
        if case in (8, 9):
            self.txn(cust, somewhen, "ATM_QUERY", 100)
        if case == 8:
            self.txn(cust, day(rng.randrange(DAYS)), "ZZ99", 123_456)
        if case == 10:
            self.txn(cust, somewhen, "LTKX_BUY", 20_000_000)
        if case == 11:
            self.txn(cust, date(2026, 7, 9), "POS", 66_600)


def worked_example(ex: Export) -> None:
    """SPEC's worked example: 1,350 + 1,820 + 500 + 200 = 3,870 points, 五星级."""
    ex.balance("C1", "C1-CUR", "CURRENT", date(2025, 12, 31), 100_000_00)
    ex.balance("C1", "C1-TD", "TIME", date(2026, 4, 1), 362_000_00)
    for when, amount in ((date(2026, 1, 15), 5_000_00), (date(2026, 3, 2), 4_500_00),
                         (date(2026, 5, 20), 3_000_00)):  # fmt: skip
        ex.pending.append(["C1", when.isoformat(), "POS", yuan(amount), "", ""])
    ex.pending.append(["C1", "2026-02-10", "INTERBANK_REMIT", "50000.00", "50.00", ""])
    ex.pending.append(["C1", "2026-04-18", "INTERBANK_REMIT", "20000.00", "0.00", ""])


def roles(rng: random.Random) -> list[Role]:
    """Every numbered customer's role, shuffled so ids say nothing about wealth."""
    plan: list[Role] = []
    for tier, (low, high), count in PLAN:
        for i in range(count):
            plan.append(
                Role("regular", tier, low * (high / low) ** rng.random(),
                     balances=(tier, i) not in ONLY_TRANSACTIONS,
                     transactions=(tier, i) not in ONLY_BALANCES,
                     dense=(tier, i) in DENSE)
            )  # fmt: skip
    # exactly on a tier bound: POS 50,000.00 -> 2,000 points, POS 12,500.00 -> 500 points
    plan.append(Role("bound", "五星级", 5_000_000, balances=False, note="POS 50,000.00"))
    plan.append(Role("bound", "四星级", 1_250_000, balances=False, note="POS 12,500.00"))
    plan += [Role("unrated", "非星级", case, note=text) for case, text in enumerate(UNRATED)]
    rng.shuffle(plan)
    return plan


def build() -> tuple[Export, dict[str, Role]]:
    ex = Export(SEED)
    worked_example(ex)
    by_id: dict[str, Role] = {}
    for number, role in enumerate(roles(ex.rng), start=2):
        cust = f"C{number:04d}"
        by_id[cust] = role
        if role.kind == "regular":
            ex.regular(cust, role)
        elif role.kind == "bound":
            first = round(role.target * 0.4)
            ex.txn(cust, day(ex.rng.randrange(DAYS)), "POS", first)
            ex.txn(cust, day(ex.rng.randrange(DAYS)), "POS", int(role.target) - first)
        else:
            ex.unrated(cust, int(role.target))
    return ex, by_id


# -- exact reference of the SPEC rules -------------------------------------------


def reference(
    balances: list[list[str]], transactions: list[list[str]]
) -> dict[str, dict[str, Fraction]]:
    """Exact points per customer and component, read back from the written rows."""
    component_of = {code: comp for comp, codes in PRODUCTS.items() for code in codes}
    txn_component = {code: comp for comp, codes in TXN_TYPES.items() for code in codes}
    points: dict[str, dict[str, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    accounts: dict[tuple[str, str, str], list[tuple[date, Fraction]]] = defaultdict(list)
    for cust, account, product, when, balance in balances:
        points[cust]  # every customer in either file appears
        accounts[(cust, account, product)].append((date.fromisoformat(when), Fraction(balance)))
    for (cust, _, product), rows in accounts.items():
        rows.sort()
        balance_days = Fraction(0)
        for offset in range(DAYS):
            today = day(offset)
            current = Fraction(0)  # days before the first row count as 0
            for when, balance in rows:
                if when <= today:
                    current = balance
            balance_days += current
        comp = component_of[product]
        points[cust][comp] += balance_days / DAYS / UNIT * RATES[comp]
    for cust, _, stamp, kind, amount, fee, ratio in transactions:
        points[cust]
        if not START <= date.fromisoformat(stamp[:10]) <= END or kind not in txn_component:
            continue
        comp = txn_component[kind]
        counted = Fraction(amount)
        if comp == "settlement":
            if fee == "" or Fraction(fee) <= 0:
                continue
            counted = min(counted, SETTLEMENT_CAP)
        counted *= Fraction(ratio) if ratio else 1
        points[cust][comp] += counted / UNIT * RATES[comp]
    return points


def tier(points: Fraction) -> str:
    for name, low in TIERS:
        if points >= low:
            return name
    return "准星级" if points > 0 else "非星级"


def shown(points: Fraction) -> str:
    """Rounded half-up to 0.01, with thousands separators."""
    hundredths = (points * 100 + Fraction(1, 2)).__floor__()
    return f"{hundredths // 100:,}.{hundredths % 100:02d}"


def check(
    balances: list[list[str]], transactions: list[list[str]], totals: dict[str, Fraction]
) -> None:
    """The properties the README claims; regeneration fails loudly if one breaks."""
    assert totals["C1"] == 3_870 and tier(totals["C1"]) == "五星级"
    assert len(totals) == 285
    tiers = Counter(tier(p) for p in totals.values())
    assert all(tiers[name] >= 3 for name in TIER_NAMES), tiers
    assert tiers["非星级"] == len(UNRATED), tiers
    products = {row[2] for row in balances}
    kinds = {row[3] for row in transactions}
    assert products == {code for codes in PRODUCTS.values() for code in codes}
    assert kinds == {code for codes in TXN_TYPES.values() for code in codes} | set(
        EXCLUDED + UNMAPPED
    )
    assert len({(row[1], row[3]) for row in balances}) == len(balances)
    assert len({row[1] for row in transactions}) == len(transactions)
    assert all(Fraction(row[4]) >= 0 for row in balances)
    assert all(Fraction(row[4]) > 0 for row in transactions)


def readme(
    balances: list[list[str]],
    transactions: list[list[str]],
    points: dict[str, dict[str, Fraction]],
    by_id: dict[str, Role],
    dense: list[str],
) -> str:
    totals = {cust: sum(comps.values(), Fraction(0)) for cust, comps in points.items()}
    tiers = Counter(tier(p) for p in totals.values())
    in_bal = {row[0] for row in balances}
    in_txn = {row[0] for row in transactions}

    def line(cust: str, what: str) -> str:
        return f"| `{cust}` | {what} | {shown(totals[cust])} | {tier(totals[cust])} |"

    rows = [line("C1", "SPEC's worked example (current 100,000.00 carried in, time deposit "
                       "362,000.00 from 2026-04-01, POS 12,500.00, inter-bank remittance "
                       "50,000.00 with fee 50 capped to 10,000, one with fee 0)")]  # fmt: skip
    both = sorted(c for c, r in by_id.items() if r.kind == "regular" and c in in_bal & in_txn)
    for name in TIER_NAMES[:-1]:
        pick = [c for c in both if tier(totals[c]) == name][:2]
        rows += [line(c, "balances and transactions") for c in pick]
    for cust, role in sorted(by_id.items()):
        if role.kind == "bound":
            rows.append(line(cust, f"only transactions: {role.note}, exactly on the tier bound"))
    for cust in sorted(in_bal - in_txn):
        if by_id.get(cust) and by_id[cust].kind == "regular":
            rows.append(line(cust, "only in balances"))
    for cust in sorted(in_txn - in_bal):
        if by_id.get(cust) and by_id[cust].kind == "regular":
            rows.append(line(cust, "only in transactions"))
    for cust in sorted(c for c, r in by_id.items() if r.kind == "unrated"):
        rows.append(line(cust, by_id[cust].note))
    counts = ", ".join(f"{name} {tiers[name]}" for name in TIER_NAMES)
    dense_text = ", ".join(f"`{a}`" for a in dense)
    files = "\n".join(
        [
            "| file | rows | what |",
            "|---|---|---|",
            f"| `balances.csv` | {len(balances)} | end-of-day balances (UTF-8), a sparse change "
            "log: a row holds until the account's next row; carry-in rows dated in 2025, "
            "accounts opened and closed (by a 0.00 row) in the window, amortizing mortgages, "
            "overdrafts drawn and repaid, rows after 2026-06-30 (they do not count), and "
            f"{len(dense)} accounts exported densely, one row a day ({dense_text}) |",
            f"| `transactions.csv` | {len(transactions)} | UTF-8, in time order, some with a "
            "timestamp: every default type, settlement with fee > 0, fee 0.00 and fee missing, "
            "amounts above the 10,000.00 settlement cap, discounts (`fee_ratio` 0.8, 0.5), "
            "excluded codes (`MMF_BUY`, `LTKX_BUY`, `CROSS_BORDER_REMIT`), unmapped codes "
            "(`ATM_QUERY`, `ZZ99`), rows in 2025-12 and 2026-07 |",
            "| `gb18030/余额.csv`, `gb18030/交易.csv` | | the rows of `C1` and `C0002`..`C0059` "
            "as a core-banking system writes them: GB18030, Chinese headers |",
            "| `gb18030/columns.toml` | | the `--columns` mapping for those headers |",
            "| `customers.csv` | | every customer's branch (支行) and manager (客户经理), and the "
            "credit record the quality gates read (`overdue_90d`, `missed_consecutive`, "
            "`missed_total`): C0008 overdue 90+ days, C0013 3 consecutive missed payments, "
            "C0022 6 missed in all, C0032 all three (all four lose quality with "
            "`--customers`), C0031 below both bars; and the products icbc-star's service "
            "floors read (`private_banking`, `card_level`): C0038 and C0013 private banking "
            "(七星级 at least), C0013, C0031 and C0007 白金卡 (六星级), C0002 and C0008 金卡 "
            "(五星级) |",
            "| `previous_scores.csv` | | an earlier run's scores for `--previous`: tierscore's "
            "own 2025H2 scores of this sample without C0271..C0285 (they show as `new`) and "
            "with C0901..C0903, customers who have left (`gone`); made by `make_previous.py` |",
            "| `overrides.csv` | | service-tier overrides for `--overrides` (written by hand): "
            "C0003 held at 五星级 until 2026-12-31, and C0005's, which ended on 2026-03-31 "
            "(a later run rejects it as expired and lists it in rejects.csv) |",
            "| `foreign_and_joint.csv` | 8 | more balances, given as a second `--balances` "
            "(written by hand): C0002's USD time deposit, C0003's HKD current account and "
            "C0010's USD wealth product (a `currency` column; an empty cell is CNY), and the "
            "joint mortgage "
            "`JM-0001` of C0004 and C0005, one row per holder and date |",
            "| `foreign_transactions.csv` | 3 | more transactions in USD and HKD, given as a "
            "second `--transactions` (written by hand) |",
            "| `fx_rates.csv` | | month-end USD and HKD rates (yuan per unit) for `--fx` (written "
            "by hand) |",
            "| `parties.csv` | | `--parties` (written by hand): C0002 and C0017 are one person "
            "(household `H-0001`), C0003 and C0040 another (no household), C0005 and C0090 a "
            "third, who with C0004 makes household `H-0002`: the couple of the joint mortgage |",
        ]
    )
    return f"""# Sample export (2026H1)

A small, realistic, made-up half-year export in the default `icbc-star` codes
(SPEC section 4), for trying tierscore, for the README examples and for the
end-to-end tests. Window 2026H1: 2026-01-01..2026-06-30, 181 days.

{files}

Codes: products CURRENT, CUSTODY, LTKX, MMF, CC_DEPOSIT (short-term assets);
TIME, PROVIDENT, WEALTH, FUND, BOND, INSURANCE, GOLD (mid/long-term);
MORTGAGE; CONSUMER_LOAN, BUSINESS_LOAN; CC_OVERDRAFT. Transaction types
FUND_BUY, FUND_REDEEM, WEALTH_BUY, BOND_BUY, INSURANCE_BUY, GOLD_TRADE,
SILVER_TRADE, FX_TRADE (investment); POS (card spending); REMOTE_CASH,
REMOTE_REMIT, INTERBANK_REMIT, EXPRESS_REMIT (settlement, counted only with a
fee > 0, capped at 10,000.00 each).

Regenerate (byte-identical; the script also rewrites this file):

```bash
python sample_data/generate.py
```

{len(totals)} customers. Expected tiers, from the exact reference in
`generate.py`: {counts}. Notable customers (points rounded half-up to 0.01,
tiers decided on the exact value):

| customer | what | points | tier |
|---|---|---|---|
{chr(10).join(rows)}
"""


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


CUSTOMER_HEADER = ["customer_id", "branch", "manager", "overdue_90d", "missed_consecutive",
                   "missed_total", "private_banking", "card_level"]  # fmt: skip
BRANCHES = ["朝阳支行", "海淀支行", "浦东支行", "天河支行"]
# credit blemishes for the quality gates (seed 004: 90+ days overdue, 连三累六)
BLEMISHES = {
    "C0008": ("true", "0", "0"),  # overdue 90+ days
    "C0013": ("false", "3", "3"),  # 3 consecutive missed payments
    "C0022": ("false", "1", "6"),  # 6 missed in all
    "C0031": ("false", "2", "5"),  # below both bars: stays quality
    "C0032": ("true", "4", "7"),  # every gate
}
# what icbc-star's service floors read: a private-banking client (七星级 at least), platinum
# (六星级) and gold (五星级) card holders; the others hold neither
FLOORS = {
    "C0038": ("true", ""),  # 六星级 by points, 七星级 by the floor
    "C0013": ("true", "白金卡"),  # 七星级 by points already
    "C0031": ("false", "白金卡"),  # 五星级 by points, 六星级 by the floor
    "C0007": ("false", "白金卡"),  # 四星级 by points
    "C0002": ("false", "金卡"),  # 三星级 by points, 五星级 by the floor
    "C0008": ("false", "金卡"),  # 六星级 by points: the floor is below
}


def customer_rows(customers: list[str]) -> list[list[str]]:
    """Branch and relationship manager for everyone; a few credit blemishes and
    products that give service floors."""
    rows = []
    for number, cust in enumerate(sorted(customers)):
        branch = BRANCHES[number % len(BRANCHES)]
        manager = f"M{number % 12:02d}"
        record = BLEMISHES.get(cust, ("false", "0", "0")) + FLOORS.get(cust, ("false", ""))
        rows.append([cust, branch, manager, *record])
    return rows


def main() -> None:
    ex, by_id = build()
    balances, transactions = ex.balances, ex.transactions()
    points = reference(balances, transactions)
    totals = {cust: sum(comps.values(), Fraction(0)) for cust, comps in points.items()}
    check(balances, transactions, totals)
    assert all(any(comps[c] > 0 for comps in points.values()) for c in RATES)
    write(HERE / "balances.csv", BAL_HEADER, balances, "utf-8")
    write(HERE / "transactions.csv", TXN_HEADER, transactions, "utf-8")
    write(HERE / "customers.csv", CUSTOMER_HEADER, customer_rows(list(points)), "utf-8")
    branch = HERE / "gb18030"
    branch.mkdir(exist_ok=True)
    few = {f"C{n:04d}" for n in range(2, 60)} | {"C1"}
    write(branch / "余额.csv", BAL_CN, [r for r in balances if r[0] in few], "gb18030")
    write(branch / "交易.csv", TXN_CN, [r for r in transactions if r[0] in few], "gb18030")
    text = readme(balances, transactions, points, by_id, ex.dense_accounts)
    (HERE / "README.md").write_text(text, encoding="utf-8", newline="\n")
    print(text.split("Notable customers")[0].rsplit("\n\n", 1)[-1].strip())


if __name__ == "__main__":
    main()
