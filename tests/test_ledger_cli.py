"""The 积数 ledger end to end: ``tierscore accumulate``, ``ledger status`` and
``score --ledger`` on the shipped sample cut into month exports, against direct runs.

The sample's balances and transactions are cut by calendar month (a transaction's date
may carry a time: its first 10 characters are the day); January's export also holds
every earlier row, its carry-in. ``world`` accumulates January to June once into a
ledger; a test that changes a ledger works on its own copy (``fresh``). Most runs are
in this process (``conftest.tierscore_here``); the installed command runs as a process
for stdout (``--out -``) and against a lock held here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring.ledger import Ledger

from .conftest import Ran, tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]
JULY_TO_15 = "2026-07-15"  # the key of July's export cut at its 15th (a month to date)
COMPARED = ("scores.csv", "summary.json", "rejects.csv", "unmapped_codes.csv")
H1 = ("--period", "2026H1")
APR_JUN = ("--period", "2026-06", "--months", "3")
INPUTS = ("balances", "transactions")
SAID = re.compile(r"^  (balances|transactions): ([\d,]+) rows read \((.*)\)$", re.M)


def ts(*args: object) -> Ran:
    return tierscore_here(*(str(a) for a in args))


def installed(*args: object) -> subprocess.CompletedProcess[str]:
    """The installed command, as a process."""
    return subprocess.run(
        [str(TIERSCORE), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def cut_exports(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Month exports of the sample, ``month -> (balances, transactions)``: January to
    July (January with every earlier row), and July to its 15th."""
    folder.mkdir()
    frames = {n: pl.read_csv(SAMPLE / f"{n}.csv", infer_schema=False) for n in INPUTS}
    day = pl.col("date").str.slice(0, 10)
    cuts = {m: day.str.slice(0, 7) == m for m in [*MONTHS[1:], "2026-07"]}
    cuts[MONTHS[0]] = day < "2026-02-01"
    cuts[JULY_TO_15] = (day.str.slice(0, 7) == "2026-07") & (day <= JULY_TO_15)
    exports = {}
    for key, keep in sorted(cuts.items()):
        paths = tuple(folder / f"{name}-{key}.csv" for name in INPUTS)
        for path, frame in zip(paths, frames.values(), strict=True):
            frame.filter(keep).write_csv(path)
        exports[key] = paths
    return exports


def counts_said(stderr: str) -> dict[str, dict[str, int]]:
    """The row counts ``accumulate`` printed, by input."""
    out = {}
    for name, read, rest in SAID.findall(stderr):
        counts = {"read": int(read.replace(",", ""))}
        for part in rest.split(", "):
            number, status = part.split(" ", 1)
            counts[status] = int(number.replace(",", ""))
        out[name] = counts
    return out


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every path below ``folder`` and its bytes (None: a folder)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class World:
    root: Path
    exports: dict[str, tuple[Path, Path]]
    ledger: Path  # January to June; read only (``fresh`` copies it)
    said: dict[str, dict[str, dict[str, int]]]  # accumulate's printed counts, by month
    direct: dict[tuple[object, ...], Path] = field(default_factory=dict)

    def inputs(self, months: list[str], instead: dict[str, Path] | None = None) -> list[object]:
        """``-b``/``-t`` of the months' exports; ``instead`` gives another file for one,
        keyed ``b:2026-02`` (balances) or ``t:2026-02`` (transactions)."""
        instead = instead or {}
        args: list[object] = []
        for month in months:
            bal, txn = self.exports[month]
            args += ["-b", instead.get(f"b:{month}", bal), "-t", instead.get(f"t:{month}", txn)]
        return args

    def run_direct(self, months: list[str], *args: object) -> Path:
        """A direct run over ``months``' exports, once a module per arguments."""
        key = (tuple(months), *args)
        if key not in self.direct:
            out = self.root / f"direct-{len(self.direct)}"
            done = ts("score", *self.inputs(months), *args, "--out", out, "-q")
            assert done.returncode == 0, done.stderr
            self.direct[key] = out
        return self.direct[key]


def accumulate(ledger: Path, month: str, bal: Path, txn: Path, *extra: object) -> Ran:
    return ts("accumulate", "-b", bal, "-t", txn, "--month", month, "--ledger", ledger, *extra)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("ledger_cli")
    exports = cut_exports(root / "cut")
    ledger, said = root / "L", {}
    for month in MONTHS:
        done = accumulate(ledger, month, *exports[month])
        assert done.returncode == 0, done.stderr
        said[month] = counts_said(done.stderr)
    return World(root, exports, ledger, said)


@pytest.fixture
def fresh(world: World, tmp_path: Path) -> Path:
    """A copy of the January-to-June ledger, for a test to change."""
    return Path(shutil.copytree(world.ledger, tmp_path / "L"))


def status_of(ledger: Path) -> dict[str, dict]:
    done = ts("ledger", "status", ledger, "--json")
    assert done.returncode == 0, done.stderr
    return {m["month"]: m for m in json.loads(done.stdout)["months"]}


def assert_same(one: Path, other: Path, names: tuple[str, ...] = COMPARED) -> None:
    for name in names:
        assert (one / name).read_bytes() == (other / name).read_bytes(), name


def score_ledger(ledger: Path, out: Path, *args: object) -> Ran:
    return ts("score", "--ledger", ledger, *args, "--out", out, "-q")


def changed(
    world: World,
    month: str,
    name: str,
    edit: pl.Expr | None = None,
    extra: list[dict[str, str]] | None = None,
) -> Path:
    """A copy of ``month``'s ``name`` export filtered by ``edit`` and/or with rows added."""
    path = world.exports[month][INPUTS.index(name)]
    frame = pl.read_csv(path, infer_schema=False)
    if edit is not None:
        frame = frame.filter(edit)
    if extra:
        frame = pl.concat([frame, pl.DataFrame(extra).select(frame.columns)])
    out = world.root / f"{name}-{month}-changed-{len(list(world.root.glob('*-changed-*')))}.csv"
    frame.write_csv(out)
    return out


# ---- 1. scoring from the ledger is the direct run ----


@pytest.mark.parametrize(
    ("months", "args"),
    [
        (MONTHS, H1),
        (MONTHS, APR_JUN),
        (MONTHS[:3], ("--period", "2026-03", "--months", "2")),  # later months not read
        (
            MONTHS,
            (
                *H1,
                "--customers",
                SAMPLE / "customers.csv",
                "--previous",
                SAMPLE / "previous_scores.csv",
            ),
        ),
        (
            MONTHS,
            (
                *H1,
                "--previous",
                SAMPLE / "previous_scores.csv",
                "--near",
                "5",
                "--overrides",
                SAMPLE / "overrides.csv",
            ),
        ),
        (MONTHS, (*APR_JUN, "--parties", SAMPLE / "parties.csv", "--score-by", "household")),
    ],
    ids=["2026H1", "apr-jun", "feb-mar", "customers-previous", "overrides-near", "household"],
)
def test_ledger_score_is_the_direct_run(
    world: World, tmp_path: Path, months: list[str], args: tuple
) -> None:
    direct = world.run_direct(months, *args)
    done = score_ledger(world.ledger, tmp_path / "o", *args)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "o", direct)
    summary = json.loads((direct / "summary.json").read_text("utf-8"))
    assert summary["customers"] > 200  # the sample's customers, not an empty run
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text("utf-8"))
    listed = manifest["inputs"]["ledger"]
    assert [Path(f["path"]).parent.name for f in listed] == [f"month={m}" for m in months]
    for given in listed:
        assert given["format"] == "ledger"
        assert given["sha256"] == sha256_file(Path(given["path"]))
    assert manifest["inputs"]["balances"] == [] and manifest["inputs"]["transactions"] == []


def test_ledger_rows_add_up_to_the_direct_run(world: World) -> None:
    """The months' row counts, added, are the direct run's (exports cut by month)."""
    summary = json.loads((world.run_direct(MONTHS, *H1) / "summary.json").read_text("utf-8"))
    status = status_of(world.ledger)
    for name in INPUTS:
        added = {s: sum(status[m]["rows"][name][s] for m in MONTHS) for s in summary["rows"][name]}
        assert added == summary["rows"][name]


def test_scores_to_stdout_from_the_ledger(world: World) -> None:
    done = installed("score", "--ledger", world.ledger, *H1, "--out", "-", "-q")
    assert done.returncode == 0, done.stderr
    direct = world.run_direct(MONTHS, *H1)
    assert done.stdout.encode() == (direct / "scores.csv").read_bytes()


def test_a_rule_set_that_measures_alike_scores_the_ledger(world: World, tmp_path: Path) -> None:
    """icbc-star-strict has icbc-star's codes and other quality bars: bounds and gates
    apply when scoring, so an icbc-star ledger serves it."""
    args = (*H1, "-r", "icbc-star-strict")
    done = score_ledger(world.ledger, tmp_path / "o", *args)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "o", world.run_direct(MONTHS, *args))


def test_overlapping_exports_score_alike(world: World, fresh: Path, tmp_path: Path) -> None:
    """March's export also holds February's last rows: the same scores; those rows are
    outside March's window in the ledger, where a direct run finds them twice."""
    late_feb = [pl.read_csv(p, infer_schema=False) for p in world.exports["2026-02"]]
    both = {}
    for name, feb, march in zip(INPUTS, late_feb, world.exports["2026-03"], strict=True):
        rows = feb.filter(pl.col("date").str.slice(0, 10) >= "2026-02-20")
        both[name] = tmp_path / f"{name}-03.csv"
        pl.concat([rows, pl.read_csv(march, infer_schema=False)]).write_csv(both[name])
    assert accumulate(fresh, "2026-03", both["balances"], both["transactions"]).returncode == 0
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 0, done.stderr
    instead = {"b:2026-03": both["balances"], "t:2026-03": both["transactions"]}
    direct = tmp_path / "d"
    assert ts("score", *world.inputs(MONTHS, instead), *H1, "--out", direct).returncode == 0
    assert_same(tmp_path / "o", direct, ("scores.csv", "rejects.csv"))
    ours, theirs = (
        json.loads((f / "summary.json").read_text("utf-8")) for f in (tmp_path / "o", direct)
    )
    assert {k: v for k, v in ours.items() if k != "rows"} == {
        k: v for k, v in theirs.items() if k != "rows"
    }
    for name in INPUTS:
        assert ours["rows"][name]["read"] == theirs["rows"][name]["read"]


# ---- 2. ledger status ----


def test_status_json_lists_what_accumulate_wrote(world: World) -> None:
    status = status_of(world.ledger)
    assert list(status) == MONTHS
    rules = json.loads((world.run_direct(MONTHS, *H1) / "manifest.json").read_text("utf-8"))
    assert rules["ruleset"]["sha256"] == sha256_file(ROOT / "rules" / "icbc-star.toml")
    for month, entry in status.items():
        assert entry["state"] == "complete" and entry["complete"] and not entry["stale"]
        assert entry["rows"] == world.said[month]
        assert entry["rejects"] == 0
        sha = rules["ruleset"]["sha256"]
        assert (entry["ruleset"], entry["ruleset_sha256"]) == ("icbc-star", sha)
        assert entry["totals_current"]
    assert status["2026-02"]["last_day"] == "2026-02-28"
    # January's export holds the carry-in: outside its window, and counted
    lines = sum(1 for _ in world.exports["2026-01"][0].open()) - 1
    assert status["2026-01"]["rows"]["balances"]["read"] == lines


def test_status_table(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    done = ts("ledger", "status", world.ledger)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if re.search(r"\b2026-0\d\b", line)]
    assert len(rows) == 6
    sha = sha256_file(ROOT / "rules" / "icbc-star.toml")
    for month, line in zip(MONTHS, rows, strict=True):
        assert month in line and "complete" in line and sha in line and "icbc-star" in line
        read = world.said[month]["balances"]["read"]
        assert f"{read:,}" in line


def test_status_of_what_is_no_ledger(tmp_path: Path) -> None:
    assert ts("ledger", "status", tmp_path / "none").returncode == 2
    (tmp_path / "other").mkdir()
    done = ts("ledger", "status", tmp_path / "other")
    assert done.returncode == 2 and "not a tierscore ledger" in done.stderr
    assert list((tmp_path / "other").iterdir()) == []


# ---- 3. a month to date ----


def test_a_month_to_date(
    world: World, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    done = accumulate(fresh, "2026-07", *world.exports[JULY_TO_15], "--to", JULY_TO_15)
    assert done.returncode == 0, done.stderr
    assert f"accumulated 2026-07 to {JULY_TO_15}" in done.stderr
    july = status_of(fresh)["2026-07"]
    assert july["state"] == f"partial to {JULY_TO_15}" and not july["complete"]
    assert july["last_day"] == JULY_TO_15 and not july["stale"]
    table = ts("ledger", "status", fresh).stdout
    assert f"partial to {JULY_TO_15}" in table
    # the rolling window to that day is the direct run on the exports cut there
    window = ("--from", "2026-02-01", "--to", JULY_TO_15)
    done = score_ledger(fresh, tmp_path / "o", *window)
    assert done.returncode == 0, done.stderr
    direct = tmp_path / "d"
    exports = world.inputs([*MONTHS, JULY_TO_15])
    assert ts("score", *exports, *window, "--out", direct, "-q").returncode == 0
    assert_same(tmp_path / "o", direct)
    # a window to the month's end, or to another day, needs what the ledger lacks
    for args in (
        ("--period", "2026-07", "--months", "6"),
        ("--from", "2026-02-01", "--to", "2026-07-10"),
    ):
        done = score_ledger(fresh, tmp_path / "x", *args)
        assert done.returncode == 2, args
        assert "2026-07" in done.stderr and JULY_TO_15 in done.stderr
    # the next month waits for this one in full; nothing is written
    before = tree(fresh)
    done = accumulate(fresh, "2026-08", *world.exports["2026-07"])
    assert done.returncode == 2 and "2026-07" in done.stderr and JULY_TO_15 in done.stderr
    assert tree(fresh) == before
    # a month to a later day replaces it; then in full, it is complete
    done = accumulate(fresh, "2026-07", *world.exports["2026-07"], "--to", "2026-07-20")
    assert done.returncode == 0 and status_of(fresh)["2026-07"]["last_day"] == "2026-07-20"
    done = accumulate(fresh, "2026-07", *world.exports["2026-07"], "--to", "2026-07-31")
    assert done.returncode == 0, done.stderr
    assert status_of(fresh)["2026-07"]["state"] == "complete"
    assert "to 2026-07-31" not in done.stderr


def test_a_month_to_date_from_the_whole_export(world: World, fresh: Path, tmp_path: Path) -> None:
    """July's whole export accumulated to the 15th: its later rows are outside, and the
    window to the 15th is the direct run's over the same exports."""
    done = accumulate(fresh, "2026-07", *world.exports["2026-07"], "--to", JULY_TO_15)
    assert done.returncode == 0, done.stderr
    july = status_of(fresh)["2026-07"]["rows"]
    for name, whole, cut in zip(
        INPUTS, world.exports["2026-07"], world.exports[JULY_TO_15], strict=True
    ):
        later = pl.read_csv(whole, infer_schema=False).height
        later -= pl.read_csv(cut, infer_schema=False).height
        assert later > 0 and july[name]["outside_window"] == later
    window = ("--from", "2026-02-01", "--to", JULY_TO_15)
    assert score_ledger(fresh, tmp_path / "o", *window).returncode == 0
    direct = tmp_path / "d"
    exports = world.inputs([*MONTHS, "2026-07"])
    assert ts("score", *exports, *window, "--out", direct, "-q").returncode == 0
    assert_same(tmp_path / "o", direct)


# ---- 4. what the ledger cannot give: exit 2 naming it ----


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--period", "2026-09", "--months", "6"), "2026-07 is not in the ledger"),
        (("--period", "2025H2"), "2025-07 is not in the ledger"),
        (("--from", "2026-01-15", "--to", "2026-06-30"), "2026-01-15"),
        (("--from", "2026-01-01", "--to", "2026-06-29"), "2026-06-29"),
    ],
    ids=["after", "before", "mid-month-start", "mid-month-end"],
)
def test_windows_the_ledger_cannot_give(
    world: World, tmp_path: Path, args: tuple, named: str
) -> None:
    done = score_ledger(world.ledger, tmp_path / "o", *args)
    assert done.returncode == 2
    assert named in done.stderr
    assert not (tmp_path / "o" / "scores.csv").exists()


def test_a_missing_month_in_the_window(world: World, fresh: Path, tmp_path: Path) -> None:
    shutil.rmtree(fresh / "month=2026-03")
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 2 and "2026-03 is not in the ledger" in done.stderr
    # nor a window after it: the months after the gap carry its balances, which the
    # exports left (January, February, April...) no longer hold
    done = score_ledger(fresh, tmp_path / "o", "--period", "2026-06", "--months", "2")
    assert done.returncode == 2 and "2026-03 is not in the ledger" in done.stderr
    # a window before it does not need it
    done = score_ledger(fresh, tmp_path / "o", "--period", "2026-02", "--months", "2")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("option", ["--balances", "--transactions", "--fx", "--balance-layout"])
def test_ledger_with_inputs(world: World, tmp_path: Path, option: str) -> None:
    value = {"--fx": SAMPLE / "fx_rates.csv", "--balance-layout": "changes"}.get(
        option, world.exports["2026-01"][0]
    )
    done = score_ledger(world.ledger, tmp_path / "o", *H1, option, value)
    assert done.returncode == 2
    assert option in done.stderr and "--ledger" in done.stderr
    assert not (tmp_path / "o").exists()


def folder_of_other_files(tmp_path: Path) -> Path:
    other = tmp_path / "theirs"
    (other / "sub").mkdir(parents=True)
    (other / "notes.txt").write_text("mine\n", encoding="utf-8")
    (other / "sub" / "data.parquet").write_bytes(b"PAR1\x00")
    return other


def test_a_folder_that_is_no_ledger(world: World, tmp_path: Path) -> None:
    other = folder_of_other_files(tmp_path)
    before = tree(other)
    done = accumulate(other, "2026-01", *world.exports["2026-01"])
    assert done.returncode == 2
    assert str(other) in done.stderr and "not a tierscore ledger" in done.stderr
    done = score_ledger(other, tmp_path / "o", *H1)
    assert done.returncode == 2 and "not a tierscore ledger" in done.stderr
    assert tree(other) == before
    # a file is no ledger either
    done = accumulate(other / "notes.txt", "2026-01", *world.exports["2026-01"])
    assert done.returncode == 2 and tree(other) == before
    # nor a folder that is not there (scoring creates nothing)
    assert score_ledger(tmp_path / "none", tmp_path / "o", *H1).returncode == 2
    assert not (tmp_path / "none").exists()


def test_a_folder_with_another_ledger_json(world: World, tmp_path: Path) -> None:
    other = folder_of_other_files(tmp_path)
    (other / "ledger.json").write_text('{"accounts": []}\n', encoding="utf-8")
    before = tree(other)
    done = accumulate(other, "2026-01", *world.exports["2026-01"])
    assert done.returncode == 2
    assert tree(other) == before


def test_a_month_under_another_rule_set(world: World, fresh: Path, tmp_path: Path) -> None:
    done = accumulate(fresh, "2026-03", *world.exports["2026-03"], "-r", "card-tier")
    assert done.returncode == 0, done.stderr
    march = status_of(fresh)["2026-03"]
    assert march["ruleset"] == "card-tier"
    assert march["ruleset_sha256"] == sha256_file(ROOT / "rules" / "card-tier.toml")
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 2
    assert "2026-03" in done.stderr and "card-tier" in done.stderr
    done = score_ledger(fresh, tmp_path / "o", *H1, "-r", "card-tier")
    assert done.returncode == 2
    assert "2026-01" in done.stderr and "icbc-star" in done.stderr
    # before the window, a month only counts rows: its codes do not matter
    done = score_ledger(fresh, tmp_path / "o", *APR_JUN)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "o", world.run_direct(MONTHS, *APR_JUN))


def a_new_account(world: World) -> Path:
    """February's balances with one more account: its closing balances change."""
    row = {
        "customer_id": "C0002",
        "account_id": "C0002-NEW",
        "product": "CURRENT",
        "date": "2026-02-15",
        "balance": "1000.00",
    }
    return changed(world, "2026-02", "balances", extra=[row])


def test_stale_months(world: World, fresh: Path, tmp_path: Path) -> None:
    feb = a_new_account(world)
    done = accumulate(fresh, "2026-02", feb, world.exports["2026-02"][1], "-q")
    assert done.returncode == 0
    assert "warning: 2026-03 is stale now: accumulate it again" in done.stderr
    status = status_of(fresh)
    assert status["2026-03"]["stale"] and status["2026-03"]["state"].startswith("stale")
    assert not status["2026-02"]["stale"] and not status["2026-01"]["stale"]
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 2
    assert "2026-03 is stale" in done.stderr
    # a window before the change is unaffected
    done = score_ledger(fresh, tmp_path / "o", "--period", "2026-02", "--months", "2")
    assert done.returncode == 0, done.stderr
    # accumulating the later months again clears it, and scores the changed exports
    for month, later in zip(MONTHS[2:], [*MONTHS[3:], None], strict=True):
        done = accumulate(fresh, month, *world.exports[month], "-q")
        assert done.returncode == 0, done.stderr
        assert ("is stale now" in done.stderr) == (later is not None)
        if later:
            assert f"warning: {later} is stale now" in done.stderr
    assert not any(m["stale"] for m in status_of(fresh).values())
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 0, done.stderr
    direct = tmp_path / "d"
    inputs = world.inputs(MONTHS, {"b:2026-02": feb})
    assert ts("score", *inputs, *H1, "--out", direct, "-q").returncode == 0
    assert_same(tmp_path / "o", direct)
    assert (tmp_path / "o" / "scores.csv").read_bytes() != (
        world.run_direct(MONTHS, *H1) / "scores.csv"
    ).read_bytes()


def _manifest(ledger: Path, month: str) -> dict:
    return json.loads((ledger / f"month={month}" / "manifest.json").read_text())


def test_the_same_closing_again_keeps_the_months_after_fresh(
    world: World, fresh: Path, tmp_path: Path
) -> None:
    """A month accumulated again from the same export keeps its closing's name (the
    month after carried it under that name), so nothing goes stale; the newest month,
    which no month carries from, is named without a digest of its balances."""
    before = {m: _manifest(fresh, m) for m in MONTHS}
    assert before["2026-06"]["closing_id"].startswith("id:")
    for month in MONTHS[:-1]:  # each was accumulated before the month after it
        assert before[month]["closing_id"].startswith("id:")
        assert before[month]["closing_id"] == before[next_label(month)]["carried_id"]
    done = accumulate(fresh, "2026-03", *world.exports["2026-03"], "-q")
    assert done.returncode == 0 and "stale" not in done.stderr, done.stderr
    march = _manifest(fresh, "2026-03")
    assert march["closing_id"] == before["2026-03"]["closing_id"]
    assert march["entry_id"] != before["2026-03"]["entry_id"]
    status = status_of(fresh)
    assert not any(m["stale"] for m in status.values())
    assert [m for m, e in status.items() if e["totals_current"]] == MONTHS[:3]
    # the totals after March add up the old March: scoring adds the months up instead
    assert _manifest(fresh, "2026-06")["total_of"][2] == before["2026-03"]["entry_id"]
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "o", world.run_direct(MONTHS, *H1))
    # May again, April not: its total is March's plus April's and May's folds
    assert accumulate(fresh, "2026-05", *world.exports["2026-05"], "-q").returncode == 0
    ids = [_manifest(fresh, m)["entry_id"] for m in MONTHS[:5]]
    assert _manifest(fresh, "2026-05")["total_of"] == ids
    window = ("--period", "2026-05", "--months", "3")
    assert score_ledger(fresh, tmp_path / "m", *window).returncode == 0
    assert_same(tmp_path / "m", world.run_direct(MONTHS[:5], *window))


def test_a_ledger_written_before_totals_and_names(
    world: World, fresh: Path, tmp_path: Path
) -> None:
    """A ledger whose manifests have no ids, totals or names, only the digests of
    their balances (as tierscore wrote them before): it scores month by month, stays
    fresh, and a month accumulated again from the same export leaves the months
    after it fresh (its digest matches theirs)."""
    from tierscore.scoring.ledger import state_sha

    digests = {m: state_sha(pl.read_parquet(fresh / f"month={m}" / "closing.parquet"))
               for m in MONTHS}  # fmt: skip
    for index, month in enumerate(MONTHS):
        path = fresh / f"month={month}" / "manifest.json"
        manifest = json.loads(path.read_text())
        for key in ("entry_id", "total_of", "closing_id", "carried_id"):
            manifest.pop(key)
        manifest["closing_sha256"] = digests[month]
        manifest["carried_sha256"] = digests[MONTHS[index - 1]] if index else "0" * 64
        path.write_text(json.dumps(manifest))
        for name in ("balances", "transactions"):
            (fresh / f"month={month}" / f"total_{name}.parquet").unlink()
    status = status_of(fresh)
    assert not any(m["stale"] or m["totals_current"] for m in status.values())
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "o", world.run_direct(MONTHS, *H1))
    done = accumulate(fresh, "2026-02", *world.exports["2026-02"], "-q")
    assert done.returncode == 0 and "stale" not in done.stderr, done.stderr
    assert _manifest(fresh, "2026-02")["closing_id"] == "sha256:" + digests["2026-02"]
    assert "total_of" not in _manifest(fresh, "2026-02")  # January has no id
    assert not any(m["stale"] for m in status_of(fresh).values())
    done = score_ledger(fresh, tmp_path / "p", *H1)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "p", world.run_direct(MONTHS, *H1))


def next_label(month: str) -> str:
    year, number = map(int, month.split("-"))
    return f"{year + number // 12}-{number % 12 + 1:02d}"


def test_stale_passes_on_to_every_later_month(world: World, fresh: Path, tmp_path: Path) -> None:
    feb = a_new_account(world)
    assert accumulate(fresh, "2026-02", feb, world.exports["2026-02"][1], "-q").returncode == 0
    status = status_of(fresh)
    assert [m for m, e in status.items() if e["stale"]] == MONTHS[2:]
    done = score_ledger(fresh, tmp_path / "o", "--period", "2026-06", "--months", "2")
    assert done.returncode == 2 and "stale" in done.stderr


def test_a_gap_in_the_ledger(world: World, fresh: Path, tmp_path: Path) -> None:
    """January, February, then April to June, each from its month-only export."""
    shutil.rmtree(fresh / "month=2026-03")
    for month in MONTHS[3:]:
        assert accumulate(fresh, month, *world.exports[month], "-q").returncode == 0
    done = score_ledger(fresh, tmp_path / "o", *APR_JUN)
    if done.returncode != 2:
        direct = tmp_path / "d"
        months = [m for m in MONTHS if m != "2026-03"]
        assert ts("score", *world.inputs(months), *APR_JUN, "--out", direct).returncode == 0
        assert_same(tmp_path / "o", direct)
    assert done.returncode in (0, 2)


def test_a_transaction_repeated_in_another_month(world: World, fresh: Path, tmp_path: Path) -> None:
    """The README's limit: a transaction id repeated in two months' exports is not
    found as a repeat. March's export holds a February transaction again, with another
    amount: in the ledger it is outside March's window and February's row counts, where
    a direct run over the same exports rejects both rows as conflicting."""
    feb = pl.read_csv(world.exports["2026-02"][1], infer_schema=False)
    again = feb.head(1).with_columns(pl.lit("99999.99").alias("amount"))
    march = tmp_path / "t03.csv"
    rows = pl.concat([again, pl.read_csv(world.exports["2026-03"][1], infer_schema=False)])
    rows.write_csv(march)
    assert accumulate(fresh, "2026-03", world.exports["2026-03"][0], march).returncode == 0
    counted = status_of(fresh)["2026-03"]["rows"]["transactions"]
    assert counted["outside_window"] == world.said["2026-03"]["transactions"]["outside_window"] + 1
    done = score_ledger(fresh, tmp_path / "o", *H1)
    assert done.returncode == 0, done.stderr
    assert_same(tmp_path / "o", world.run_direct(MONTHS, *H1), ("scores.csv", "rejects.csv"))
    direct = tmp_path / "d"
    ran = ts("score", *world.inputs(MONTHS, {"t:2026-03": march}), *H1, "--out", direct)
    assert ran.returncode == 0, ran.stderr
    rejects = (direct / "rejects.csv").read_text("utf-8").splitlines()[1:]
    assert len(rejects) == 2 and all("conflicting rows" in line for line in rejects)


@pytest.mark.parametrize(
    "month", ["2026-13", "26-01", "２０２６-01", "2026-00", "0000-01", "2026/01", "2026-01-01", ""]
)
def test_a_month_that_is_no_month(world: World, tmp_path: Path, month: str) -> None:
    ledger = tmp_path / "L"
    done = accumulate(ledger, month, *world.exports["2026-01"])
    assert done.returncode == 2
    assert "--month" in done.stderr and "YYYY-MM" in done.stderr
    assert not ledger.exists()


@pytest.mark.parametrize("to", ["2026-08-01", "2026-06-30", "2026-07-32", "2026-07"])
def test_to_outside_the_month(world: World, tmp_path: Path, to: str) -> None:
    ledger = tmp_path / "L"
    done = accumulate(ledger, "2026-07", *world.exports["2026-07"], "--to", to)
    assert done.returncode == 2
    assert "--to" in done.stderr and to in done.stderr
    assert not ledger.exists()


# ---- 5. safety ----


def leftovers(ledger: Path) -> list[str]:
    return [p.name for p in ledger.iterdir() if p.name.startswith((".staging", ".replaced"))]


def test_a_failed_write_leaves_the_month_as_it_was(
    world: World, fresh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    june = fresh / "month=2026-06"
    before = tree(june)
    fewer = changed(world, "2026-06", "balances", pl.col("customer_id") > "C0100")
    real, calls = pl.DataFrame.write_parquet, []

    def failing(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        calls.append(leftovers(fresh))
        if len(calls) == 3:  # the entry is being written: the closing balances
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing)
    done = accumulate(fresh, "2026-06", fewer, world.exports["2026-06"][1])
    monkeypatch.undo()
    assert len(calls) == 3 and calls[-1] == [f".staging-2026-06-{os.getpid()}"]
    assert done.returncode == 1 and "No space left on device" in done.stderr
    assert tree(june) == before
    assert leftovers(fresh) == []
    # the lock is free again; accumulating again replaces the month
    done = accumulate(fresh, "2026-06", fewer, world.exports["2026-06"][1])
    assert done.returncode == 0, done.stderr
    new = status_of(fresh)["2026-06"]["rows"]["balances"]
    assert new == counts_said(done.stderr)["balances"]
    assert new["read"] < world.said["2026-06"]["balances"]["read"]
    assert leftovers(fresh) == []
    done = accumulate(fresh, "2026-06", *world.exports["2026-06"])
    assert status_of(fresh)["2026-06"]["rows"] == world.said["2026-06"]
    assert score_ledger(fresh, tmp_path / "o", *H1).returncode == 0
    assert_same(tmp_path / "o", world.run_direct(MONTHS, *H1))


def test_a_failed_rename_leaves_the_month_as_it_was(
    world: World, fresh: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(fresh / "month=2026-06")
    real = Path.rename

    def failing(self: Path, target: Path) -> Path:
        if self.name.startswith(".staging-"):
            raise OSError(28, "No space left on device")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    done = accumulate(fresh, "2026-06", *world.exports["2026-05"])
    monkeypatch.undo()
    assert done.returncode == 1
    assert tree(fresh / "month=2026-06") == before
    assert leftovers(fresh) == []


def test_leftovers_of_a_killed_run_are_no_months(world: World, fresh: Path, tmp_path: Path) -> None:
    for name in (".staging-2026-07-1", ".replaced-2026-03-1"):
        shutil.copytree(fresh / "month=2026-03", fresh / name)
    assert list(status_of(fresh)) == MONTHS
    done = score_ledger(fresh, tmp_path / "o", "--period", "2026-07", "--months", "1")
    assert done.returncode == 2 and "2026-07 is not in the ledger" in done.stderr


def test_one_accumulate_at_a_time(world: World, fresh: Path) -> None:
    before = tree(fresh)
    with Ledger(fresh).locked():
        bal, txn = world.exports["2026-06"]
        done = installed(
            "accumulate", "-b", bal, "-t", txn, "--month", "2026-06", "--ledger", fresh
        )
    assert done.returncode == 2, done.stderr
    assert "another tierscore run is writing this ledger" in done.stderr
    assert str(fresh) in done.stderr
    assert tree(fresh) == {**before, ".lock": b""}


# ---- 6. rejects ----


@pytest.fixture
def bad_march(world: World, fresh: Path) -> tuple[Path, Path]:
    """March's exports with 20 bad transactions and 5 bad balances accumulated into
    ``fresh`` (over the default 0.1% reject rate of the half-year's rows)."""
    txn = changed(
        world,
        "2026-03",
        "transactions",
        extra=[
            {
                "customer_id": f"C{i:04d}",
                "txn_id": f"BAD{i}",
                "date": "2026-03-10",
                "txn_type": "POS",
                "amount": "12x.00",
                "fee": "",
                "fee_ratio": "",
            }
            for i in range(20)
        ],
    )
    bal = changed(
        world,
        "2026-03",
        "balances",
        extra=[
            {
                "customer_id": "C0003",
                "account_id": f"BADACC{i}",
                "product": "CURRENT",
                "date": "2026-03-32",
                "balance": "1.00",
            }
            for i in range(5)
        ],
    )
    done = accumulate(fresh, "2026-03", bal, txn)
    assert done.returncode == 0, done.stderr
    assert "25 rejects lines kept in the ledger" in done.stderr
    assert status_of(fresh)["2026-03"]["rejects"] == 25
    return bal, txn


@pytest.mark.parametrize("window", [H1, APR_JUN], ids=["inside", "before"])
def test_too_many_rejects(
    world: World, fresh: Path, bad_march: tuple[Path, Path], tmp_path: Path, window: tuple
) -> None:
    bal, txn = bad_march
    inputs = world.inputs(MONTHS, {"b:2026-03": bal, "t:2026-03": txn})
    ours = score_ledger(fresh, tmp_path / "o", *window)
    direct = ts("score", *inputs, *window, "--out", tmp_path / "d", "-q")
    assert (ours.returncode, direct.returncode) == (3, 3)
    assert not (tmp_path / "o" / "scores.csv").exists()
    assert_same(tmp_path / "o", tmp_path / "d", ("rejects.csv",))
    rejects = (tmp_path / "o" / "rejects.csv").read_text("utf-8").splitlines()
    assert len(rejects) == 26 and str(txn) in rejects[-1]
    # allowed, both publish the same
    allow = ("--max-reject-rate", "0.01")
    assert score_ledger(fresh, tmp_path / "o2", *window, *allow).returncode == 0
    done = ts("score", *inputs, *window, *allow, "--out", tmp_path / "d2", "-q")
    assert done.returncode == 0
    assert_same(tmp_path / "o2", tmp_path / "d2")


def test_account_days_add_up_to_the_folds(world: World) -> None:
    """Each month keeps every account's 积数 per holder and product (carried days in);
    those of the products a component scores add up to the customers' folds."""
    from tierscore.scoring.plan import compile_plan
    from tierscore.scoring.rules import load_rules
    from tierscore.scoring.window import half_year

    plan = compile_plan(load_rules("icbc-star"), half_year(2026, 1))
    mapped = plan.codes["balances"]
    ids = sorted(set(mapped.values()))
    for month in MONTHS:
        entry = world.ledger / f"month={month}"
        days = pl.read_parquet(entry / "account_days.parquet")
        assert days.height and days["days"].min() > 0
        scored = days.filter(pl.col("product").is_in(list(mapped))).with_columns(
            pl.col("product").replace_strict(mapped).alias("component")
        )
        wide = scored.group_by("customer_id").agg(
            pl.col("balance_days").filter(pl.col("component") == c).sum().cast(pl.Int128).alias(c)
            for c in ids
        )
        fold = pl.read_parquet(entry / "balances.parquet").filter(
            pl.col("customer_id").is_not_null()
        )
        folded = fold.group_by("customer_id").agg(pl.col(ids).cast(pl.Int128).sum())
        joined = folded.join(wide, on="customer_id", how="left", suffix="_days").fill_null(0)
        for c in ids:
            assert joined.filter(pl.col(c) != pl.col(f"{c}_days")).height == 0, (month, c)
        assert joined.select(pl.col(ids).sum()).row(0) != (0,) * len(ids)
