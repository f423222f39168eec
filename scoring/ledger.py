"""The 积数 ledger: one folder per accumulated month, each what a run folds of it.

A month entry (``month=YYYY-MM/``) holds the month's per-customer folds of both
inputs (the same exact sums and row counts a direct run adds up across parts), the
closing balance of every account known at its last day (the next month's carry-in),
the statuses its carried-in balances took, the accounts it found overdrawn or joint
(summary.json counts those once across months), its rejects, and a manifest. A month
is written into a staging folder and renamed into place, under a lock on the ledger,
so a reader sees the old entry or the new one, never half of one.

A month is *stale* when the month before it is in the ledger and its closing balances
are not the ones this month carried in: they were accumulated again and changed, or
accumulated after this month, which then took its carry-in from its export.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from .errors import ConfigError
from .plan import Plan
from .window import _month_end

MARKER = "ledger.json"  # says a folder is a tierscore ledger (nothing else is written into)
FORMAT = 1
ENTRY = "month={}"
# One entry's files: the folds, the carry, and what summary.json counts once.
FOLDS = {"balances": "balances.parquet", "transactions": "transactions.parquet"}
CLOSING = "closing.parquet"
CARRIED = "carried.parquet"
ACCOUNTS = "accounts.parquet"
ACCOUNT_DAYS = "account_days.parquet"  # per account, holder and product: the month's 积数
REJECTS = "rejects.parquet"
MANIFEST = "manifest.json"
REPLACED = ".replaced-"  # an entry moved aside while its replacement is put in place


def month_of(text: str, key: str = "--month") -> date:
    """The first day of ``YYYY-MM`` (ASCII digits only, as every date tierscore reads)."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ConfigError(f"{text!r} is not a month YYYY-MM", key=key)
    year, month = int(parts[0]), int(parts[1])
    if len(parts[0]) != 4 or len(parts[1]) != 2 or not 1 <= month <= 12 or year < 1:
        raise ConfigError(f"{text!r} is not a month YYYY-MM", key=key)
    return date(year, month, 1)


def month_label(first: date) -> str:
    return f"{first.year:04d}-{first.month:02d}"


def month_end(first: date) -> date:
    return _month_end(first.year, first.month)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def next_month(first: date) -> date:
    return month_end(first) + timedelta(days=1)


def months_between(start: date, end: date) -> list[date]:
    """The first days of the months from ``start``'s to ``end``'s, both included."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def measuring_of(plan: Plan) -> dict[str, Any]:
    """What a month's folds depend on in the rule set: its components and the codes,
    caps, signs and joint-account and overdraft rules that turn rows into their sums.
    A month accumulated under a rule set that measures differently cannot be scored
    by this one (bounds, weights and tiers may differ: they apply when scoring)."""
    ruleset = plan.ruleset
    return {
        "components": [[c.id, c.source, c.requires_fee] for c in plan.components],
        "codes": {source: dict(sorted(codes.items())) for source, codes in plan.codes.items()},
        "caps": dict(sorted(plan.caps.items())),
        "excluded": sorted(plan.excluded),
        "signs": dict(sorted(plan.signs.items())),
        "negative_balances": ruleset.negative_balances,
        "joint_accounts": ruleset.joint_accounts,
        "unit": plan.scale,
    }


def canonical_sha(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


DIGEST = "sha256:"  # a closing identity that is its balances' digest (``state_sha``)
NAMED = "id:"  # one that is a name: no month carried those balances when they were written


def closing_identity(ledger: Ledger, month: date, closing: pl.DataFrame) -> str:
    """What ``month``'s new closing balances are known as, for the month after it to
    say which it carried in (``Ledger.stale``). Digesting them sorts every account, so
    a month no later month has carried from yet (the month-end and nightly case) is
    given a name instead. Otherwise the digest, unless the month after carried these
    very balances under the name of the entry they replace: that name is kept, and
    the month after stays fresh."""
    following = ledger.entry(next_month(month))
    if following is None:
        return NAMED + uuid.uuid4().hex
    digest = DIGEST + state_sha(closing)
    old = ledger.entry(month)
    if (
        old is None
        or not old.closing_id.startswith(NAMED)
        or following.carried_id != old.closing_id
    ):
        return digest
    same = DIGEST + state_sha(old.frame(CLOSING)) == digest  # the old balances, digested now
    return old.closing_id if same else digest


def state_sha(closing: pl.DataFrame) -> str:
    """A digest of balances as carried: each account's holders, products and balances
    (not the dates of their rows: a carried balance is the same wherever it came from),
    in one canonical order and text form, so any engine's closing of the same balances
    digests the same."""
    columns = [c for c in ("account_id", "customer_id", "product", "balance", "currency")
               if c in closing.columns]  # fmt: skip
    # one row per account and holder: ordered by those two, the order is canonical
    rows = closing.select(pl.col(columns).cast(pl.String)).sort("account_id", "customer_id")
    return hashlib.sha256(rows.write_csv(include_header=True).encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One accumulated month as its manifest describes it."""

    path: Path
    manifest: dict[str, Any]

    @property
    def month(self) -> date:
        return month_of(self.manifest["month"], key=str(self.path))

    @property
    def label(self) -> str:
        return str(self.manifest["month"])

    @property
    def last_day(self) -> date:
        return date.fromisoformat(self.manifest["last_day"])

    @property
    def partial(self) -> bool:
        return bool(self.manifest["partial"])

    @property
    def closing_id(self) -> str:
        """What the month's closing balances are known as (``closing_identity``); a
        month from before ids were kept has its digest."""
        if "closing_id" in self.manifest:
            return str(self.manifest["closing_id"])
        return DIGEST + str(self.manifest["closing_sha256"])

    @property
    def carried_id(self) -> str:
        """The ``closing_id`` of the balances it carried in."""
        if "carried_id" in self.manifest:
            return str(self.manifest["carried_id"])
        return DIGEST + str(self.manifest["carried_sha256"])

    @property
    def carried_from_ledger(self) -> bool:
        return self.manifest["carried_from"] == "ledger"

    def frame(self, name: str) -> pl.DataFrame:
        return self._read(name, pl.read_parquet)

    def schema(self, name: str) -> pl.Schema:
        """A file's columns, without reading its rows."""
        return pl.Schema(self._read(name, pl.read_parquet_schema))

    def _read(self, name: str, read: Callable[[Path], Any]) -> Any:
        try:
            return read(self.path / name)
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise ConfigError(
                f"cannot read the ledger month {self.label}: {exc}", file=str(self.path / name)
            ) from None


class Ledger:
    """A ledger folder: its month entries, read from their manifests."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def check(self, create: bool = False) -> None:
        """A ledger is a folder tierscore made (its ``MARKER``); ``create``: an absent or
        empty folder becomes one. Anything else stops the run rather than writing into
        a folder of someone else's files."""
        marker = self.root / MARKER
        if marker.is_file():
            if _read_json(marker, "a ledger's marker").get("tierscore_ledger") != FORMAT:
                raise ConfigError(
                    f"has a {MARKER} that is not a tierscore ledger's", key=str(self.root)
                )
            return
        if not create:
            raise ConfigError("is not a tierscore ledger (no ledger.json)", key=str(self.root))
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise ConfigError(
                "exists and is not a tierscore ledger: give an empty or new folder",
                key=str(self.root),
            )
        self.root.mkdir(parents=True, exist_ok=True)
        _write_json(marker, {"tierscore_ledger": FORMAT})

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One accumulate at a time per ledger: a second stops at once (exit 2)."""
        with open(self.root / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConfigError(
                    "another tierscore run is writing this ledger", key=str(self.root)
                ) from None
            try:
                self.recover()
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def entries(self) -> dict[date, Entry]:
        """Every month entry, by its first day."""
        found = {}
        for path in sorted(self.root.glob(ENTRY.format("*"))):
            if not path.is_dir():
                continue
            manifest = _read_json(path / MANIFEST, "a ledger month's manifest")
            entry = Entry(path, manifest)
            found[entry.month] = entry
        return dict(sorted(found.items()))

    def entry(self, month: date) -> Entry | None:
        path = self.root / ENTRY.format(month_label(month))
        if not (path / MANIFEST).is_file():
            return None
        return Entry(path, _read_json(path / MANIFEST, "a ledger month's manifest"))

    def stale(self, entries: dict[date, Entry] | None = None) -> dict[date, str]:
        """Stale months, each with why."""
        entries = self.entries() if entries is None else entries
        out: dict[date, str] = {}
        for month, entry in entries.items():  # in month order: a stale month's carry is too
            before = entries.get(previous_month(month))
            if before is None:
                continue
            if before.closing_id != entry.carried_id:
                out[month] = f"{before.label}'s closing balances changed since it was accumulated"
            elif before.month in out:
                out[month] = f"it carried in the balances of {before.label}, which is stale"
        return out

    @contextmanager
    def writing(self, month: date) -> Iterator[Path]:
        """A staging folder for ``month``'s entry, put in place when the block ends
        (replacing the month's entry if there was one) and removed if it fails."""
        label = month_label(month)
        staging = self.root / f".staging-{label}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            yield staging
            _sync_folder(staging)
            target = self.root / ENTRY.format(label)
            old = self.root / f"{REPLACED}{label}-{os.getpid()}"
            if target.exists():
                target.rename(old)
            try:
                staging.rename(target)
            except BaseException:
                if old.exists() and not target.exists():
                    old.rename(target)  # the month as it was
                raise
            _sync_folder(self.root)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def recover(self) -> None:
        """Put back a month whose replacement was cut off between its two renames (a
        kill, a power cut): the old entry, moved aside, with no new one in its place.
        Run under the lock, before anything is written."""
        for moved in sorted(self.root.glob(f"{REPLACED}*")):
            label = moved.name.removeprefix(REPLACED).rsplit("-", 1)[0]
            target = self.root / ENTRY.format(label)
            if target.exists():
                shutil.rmtree(moved, ignore_errors=True)
            else:
                moved.rename(target)
        for staging in self.root.glob(".staging-*"):
            shutil.rmtree(staging, ignore_errors=True)

    def interrupted(self, month: date) -> bool:
        """Whether an accumulate of ``month`` was cut off before it put it back."""
        return any(self.root.glob(f"{REPLACED}{month_label(month)}-*"))


def _sync_folder(path: Path) -> None:
    for child in path.iterdir() if path.is_dir() else ():
        if child.is_file():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {what}: {exc}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} is not a JSON object", file=str(path))
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_manifest(folder: Path, data: dict[str, Any]) -> None:
    _write_json(folder / MANIFEST, data)
