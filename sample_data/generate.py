"""Regenerate the shipped sample export: ``python sample_data/generate.py``.

A small, realistic half-year (2026H1) export in the default icbc-star codes,
shaped so that every tier has customers and every rule matters: carry-in rows
from 2025, accounts opened and closed in the window, rows after it, a few
densely exported accounts, caps, fees, discounts, excluded and unmapped codes.
It is deterministic (fixed seed), so the files are reproducible byte for byte.
Also writes a GB18030 copy of part of it with Chinese headers, as core-banking
systems export it, for the ``--columns`` mapping example.
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = date(2026, 1, 1), date(2026, 6, 30)
DAYS = (END - START).days + 1

SHORT = ["CURRENT", "CUSTODY", "LTKX", "MMF", "CC_DEPOSIT"]
LONG = ["TIME", "PROVIDENT", "WEALTH", "FUND", "BOND", "INSURANCE", "GOLD"]
LOANS = ["MORTGAGE", "CONSUMER_LOAN", "BUSINESS_LOAN", "CC_OVERDRAFT"]
INVEST = ["FUND_BUY", "FUND_REDEEM", "WEALTH_BUY", "BOND_BUY", "INSURANCE_BUY", "GOLD_TRADE",
          "SILVER_TRADE", "FX_TRADE"]  # fmt: skip
SETTLE = ["REMOTE_CASH", "REMOTE_REMIT", "INTERBANK_REMIT", "EXPRESS_REMIT"]
EXCLUDED = ["MMF_BUY", "LTKX_BUY", "CROSS_BORDER_REMIT"]
UNMAPPED = ["ATM_QUERY", "ZZ99"]

# target points per tier (log-uniform inside) and how many customers get each
TIERS = [
    ((85_000, 150_000), 5),
    ((12_000, 60_000), 15),
    ((2_300, 9_000), 40),
    ((600, 1_800), 70),
    ((60, 450), 80),
    ((3, 45), 60),
]

BAL_HEADER = ["customer_id", "account_id", "product", "date", "balance"]
TXN_HEADER = ["customer_id", "txn_id", "date", "txn_type", "amount", "fee", "fee_ratio"]
BAL_CN = ["客户号", "账号", "产品代码", "日期", "余额"]
TXN_CN = ["客户号", "交易流水号", "交易日期", "交易类型", "交易金额", "手续费", "费率折扣"]


def yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def day(offset: int) -> date:
    return START + timedelta(days=offset)


class Export:
    """Accumulates rows; ids are assigned in order so the output is stable."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.balances: list[list[str]] = []
        self.transactions: list[list[str]] = []
        self.txn_no = 0

    def balance(self, cust: str, account: str, product: str, when: date, cents: int) -> None:
        self.balances.append([cust, account, product, when.isoformat(), yuan(cents)])

    def txn(
        self, cust: str, when: date, kind: str, cents: int, fee: str = "", ratio: str = ""
    ) -> None:
        self.txn_no += 1
        stamp = when.isoformat()
        if self.txn_no % 7 == 0:  # some exports carry timestamps
            stamp += f" {self.rng.randint(8, 20):02d}:{self.rng.randint(0, 59):02d}:00"
        self.transactions.append(
            [cust, f"T{self.txn_no:06d}", stamp, kind, yuan(cents), fee, ratio]
        )

    def account(self, cust: str, account: str, product: str, average: float) -> None:
        """A sparse change log whose daily average is near ``average`` yuan."""
        rng = self.rng
        kind = rng.random()
        if kind < 0.6:  # carried in from 2025, a few changes in the window
            self.balance(cust, account, product, date(2025, 12, rng.randint(1, 31)),
                         int(average * rng.uniform(0.8, 1.2) * 100))  # fmt: skip
            for offset in sorted(rng.sample(range(1, DAYS), rng.randint(2, 8))):
                self.balance(cust, account, product, day(offset),
                             int(average * rng.uniform(0.7, 1.3) * 100))  # fmt: skip
        elif kind < 0.8:  # opened mid-window: a larger balance for fewer days
            opened = rng.randint(20, 120)
            scaled = average * DAYS / (DAYS - opened)
            self.balance(cust, account, product, day(opened), int(scaled * 100))
        else:  # carried in, then closed mid-window by a 0 row
            closed = rng.randint(90, 170)
            self.balance(cust, account, product, date(2025, 11, 30),
                         int(average * DAYS / closed * 100))  # fmt: skip
            self.balance(cust, account, product, day(closed), 0)
        if rng.random() < 0.1:  # a row after the window must not count
            self.balance(cust, account, product, date(2026, 7, rng.randint(1, 31)),
                         int(average * 50 * 100))  # fmt: skip

    def dense(self, cust: str, account: str, product: str, average: float) -> None:
        """An account exported as one row every day, as some systems do."""
        for offset in range(-1, DAYS):
            self.balance(cust, account, product, day(offset),
                         int(average * self.rng.uniform(0.9, 1.1) * 100))  # fmt: skip


def worked_example(ex: Export) -> None:
    """SPEC's worked example: 1,350 + 1,820 + 500 + 200 = 3,870 points, 五星级."""
    ex.balance("C1", "C1-CUR", "CURRENT", date(2025, 12, 31), 100_000_00)
    ex.balance("C1", "C1-TD", "TIME", date(2026, 4, 1), 362_000_00)
    for when, cents in ((date(2026, 1, 15), 5_000_00), (date(2026, 3, 2), 4_500_00),
                        (date(2026, 5, 20), 3_000_00)):  # fmt: skip
        ex.txn("C1", when, "POS", cents)
    ex.txn("C1", date(2026, 2, 10), "INTERBANK_REMIT", 50_000_00, "50.00")
    ex.txn("C1", date(2026, 4, 18), "INTERBANK_REMIT", 20_000_00, "0.00")


def customer(ex: Export, cust: str, points: float, dense: bool) -> None:
    """Spread ``points`` over assets, loans and transactions like a real customer."""
    rng = ex.rng
    shares = [rng.random() + 0.5, rng.random(), rng.random() * 0.5, rng.random() * 0.4,
              rng.random() * 0.3]  # fmt: skip
    total = sum(shares)
    short, long_, loans, cards, other = (points * s / total for s in shares)
    ex.account(cust, f"{cust}-S1", rng.choice(SHORT), short / 0.0135 * 0.7)
    if dense:
        ex.dense(cust, f"{cust}-S2", rng.choice(SHORT), short / 0.0135 * 0.3)
    else:
        ex.account(cust, f"{cust}-S2", rng.choice(SHORT), short / 0.0135 * 0.3)
    ex.account(cust, f"{cust}-L1", rng.choice(LONG), long_ / 0.01)
    if rng.random() < 0.35:
        product = rng.choice(LOANS)
        rate = 0.01 if product == "MORTGAGE" else 0.02
        ex.account(cust, f"{cust}-D1", product, loans / rate)
    spend = cards / 0.04
    for _ in range(rng.randint(3, 12)):
        ex.txn(
            cust,
            day(rng.randrange(DAYS)),
            "POS",
            max(1, int(spend / 8 * rng.uniform(0.5, 1.5) * 100)),
        )
    invest = other * 0.7 / 0.02
    for _ in range(rng.randint(0, 4)):
        ex.txn(cust, day(rng.randrange(DAYS)), rng.choice(INVEST), max(1, int(invest / 2 * 100)))
    settle = other * 0.3 / 0.02  # capped at 10,000 per transaction, so big ones count less
    for _ in range(rng.randint(0, 5)):
        amount = max(100, int(settle * 100 * rng.uniform(0.5, 3.0)))
        fee = rng.choice(["", "0.00", yuan(min(5_000, amount // 200))])
        ratio = rng.choice(["", "", "0.8", "0.5"])
        ex.txn(cust, day(rng.randrange(DAYS)), rng.choice(SETTLE), amount, fee, ratio)
    noise = rng.random()
    if noise < 0.3:
        ex.txn(cust, day(rng.randrange(DAYS)), rng.choice(EXCLUDED), 100_000)
    elif noise < 0.4:
        ex.txn(cust, day(rng.randrange(DAYS)), rng.choice(UNMAPPED), 5_000)
    elif noise < 0.5:
        ex.txn(cust, date(2025, 12, 20), "POS", 800_000)  # before the window
    elif noise < 0.6:
        ex.txn(cust, date(2026, 7, 3), "POS", 800_000)  # after the window


def unrated(ex: Export, first: int, count: int) -> None:
    """Customers with rows but nothing that scores."""
    rng = ex.rng
    for i in range(count):
        cust = f"C{first + i:04d}"
        match i % 4:
            case 0:  # an account closed before the window
                ex.balance(cust, f"{cust}-S1", "CURRENT", date(2025, 10, 1), 50_000)
                ex.balance(cust, f"{cust}-S1", "CURRENT", date(2025, 12, 1), 0)
            case 1:  # only excluded transactions
                ex.txn(cust, day(rng.randrange(DAYS)), "MMF_BUY", 10_000_000)
            case 2:  # only out-of-window transactions
                ex.txn(cust, date(2026, 7, 15), "POS", 1_000_000)
            case _:  # settlement without a charged fee
                ex.txn(cust, day(rng.randrange(DAYS)), "REMOTE_REMIT", 5_000_000, "0.00")


def build() -> Export:
    ex = Export(random.Random(20260630))
    worked_example(ex)
    number = 1
    for (low, high), count in TIERS:
        for _ in range(count):
            number += 1
            points = low * (high / low) ** ex.rng.random()
            customer(ex, f"C{number:04d}", points, dense=number % 90 == 0)
    unrated(ex, 300, 12)
    # a customer only in balances and one only in transactions
    ex.balance("C0400", "C0400-S1", "CURRENT", date(2025, 12, 31), 20_000_000)
    ex.txn("C0401", date(2026, 3, 3), "POS", 5_000_000)
    return ex


def write(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    ex = build()
    write(HERE / "balances.csv", BAL_HEADER, ex.balances, "utf-8")
    write(HERE / "transactions.csv", TXN_HEADER, ex.transactions, "utf-8")
    branch = HERE / "gb18030"
    branch.mkdir(exist_ok=True)
    few = {f"C{n:04d}" for n in range(2, 60)} | {"C1"}
    write(branch / "余额.csv", BAL_CN, [r for r in ex.balances if r[0] in few], "gb18030")
    write(branch / "交易.csv", TXN_CN, [r for r in ex.transactions if r[0] in few], "gb18030")


if __name__ == "__main__":
    main()
