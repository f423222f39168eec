"""Publishing never destroys and never shows a mix of two runs (issue #17).

The CLI is killed (-9) at every step of a publish (``TIERSCORE_TEST_KILL_AT``) and
after random delays, run twice at once, interrupted, pointed at a full, read-only,
foreign, linked or mounted folder; every time the folder is checked against its
manifest: every output it lists has that sha256, and every top-level name resolves
into the one version ``current`` points to.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tierscore.scoring import publish as publish_module
from tierscore.scoring.errors import ConfigError
from tierscore.scoring.outdir import TOP_LEVEL_NAMES, claim
from tierscore.scoring.pipeline import Job, Result, run
from tierscore.scoring.publish import Extras, publish
from tierscore.scoring.window import parse_window

from .conftest import Ran, tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")
BAL = "customer_id,account_id,product,date,balance\n"
TXN = "customer_id,txn_id,date,txn_type,amount\n"


def write_inputs(folder: Path, amount: int = 100, customers: int = 3, bad: bool = False) -> list:
    """Each ``amount`` gives different scores, so two runs' files differ."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"C{i},A{i},CURRENT,2026-01-05,{amount + i}.00" for i in range(customers)]
    rows += ["C9,A9,CURRENT,2026-01-05,not-money"] if bad else []
    (folder / "bal.csv").write_text(BAL + "\n".join(rows) + "\n", encoding="utf-8")
    (folder / "txn.csv").write_text(TXN + "C0,T1,2026-01-06,POS,10.00\n", encoding="utf-8")
    return ["--balances", str(folder / "bal.csv"), "--transactions", str(folder / "txn.csv")]


def tierscore(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, process: bool = False
) -> Ran | subprocess.CompletedProcess[str]:
    """``tierscore score``: as a process where it is killed or slowed (``env``) or must
    meet a lock this process holds (``process``), else in this process, which is a
    second or so cheaper (``conftest.tierscore_here``)."""
    argv = ["score", "--period", "2026H1", "--quiet", *args]
    if env is None and not process:
        return tierscore_here(*argv, cwd=cwd)
    return subprocess.run(
        [str(TIERSCORE), *argv],
        capture_output=True, text=True, encoding="utf-8", timeout=60, cwd=cwd,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(TIERSCORE), "score", "--period", "2026H1", "--quiet", *args],
        stderr=subprocess.PIPE, text=True, encoding="utf-8", env={**os.environ, **env},
    )  # fmt: skip


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def shown(out: Path) -> str | None:
    """The version OUT shows (its real path), or None before any publish."""
    current = out / "current"
    return os.path.realpath(current) if current.is_symlink() else None


def check_whole(out: Path) -> str | None:
    """OUT matches its manifest, all through one version; returns that version."""
    version = shown(out)
    if not (out / "manifest.json").exists():
        assert version is None or not os.path.exists(version), "a version without a manifest"
        assert not any((out / name).exists() for name in TOP_LEVEL_NAMES)
        return None
    listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    assert "rejects.csv" in {o["file"] for o in listed}
    for output in listed:
        assert sha(out / output["file"]) == output["sha256"], output["file"]
        assert in_version(out, output["file"], version), output["file"]
    for name in TOP_LEVEL_NAMES:
        assert not (out / name).exists() or in_version(out, name, version), name
    return version


def in_version(out: Path, name: str, version: str | None) -> bool:
    """Read through ``current``; or, while an earlier layout is being migrated, a
    plain file that is the very file (hard link) of the version."""
    if version is None or os.path.realpath(out / name).startswith(version + os.sep):
        return True
    path, twin = out / name, Path(version, name)
    if path.is_dir():
        return all(
            in_version(out, f"{name}/{p.relative_to(path).as_posix()}", version)
            for p in path.rglob("*")
            if p.is_file()
        ) and {p.name for p in path.iterdir()} == {p.name for p in twin.iterdir()}
    return twin.exists() and os.path.samefile(path, twin)


def leftovers(out: Path) -> list[str]:
    """Staging folders, half-deleted versions, spare links: what a run must not leave."""
    runs = out / ".runs"
    names = os.listdir(runs) if runs.is_dir() else []
    return sorted(n for n in names if n.startswith((".staging-", ".trash-", ".link-")))


def versions(out: Path) -> list[str]:
    return sorted(n for n in os.listdir(out / ".runs") if not n.startswith("."))


def visible(out: Path) -> dict[str, bytes]:
    """What a reader of OUT sees: every top-level file's bytes, through the links."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


@pytest.fixture
def result(tmp_path: Path) -> Result:
    args = write_inputs(tmp_path / "lib-in")
    return run(Job(args[1], args[3], parse_window("2026H1")))


# ---- kill -9 at every step ---------------------------------------------------------------

SCORED_STEPS = ["claimed", "written", "versioned", "linked", "switched", "unlinked", "pruning"]
AFTER_SWITCH = {"switched", "unlinked", "pruning"}


def test_killed_at_every_step_the_folder_shows_one_whole_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tierscore(*write_inputs(tmp_path / "in0"), "--split", "tier", "--out", str(out)
                     ).returncode == 0  # fmt: skip
    plan = [(step, False) for step in SCORED_STEPS] + [("carried", True)]
    for n, (step, bad) in enumerate(plan, start=1):
        before = check_whole(out)
        args = write_inputs(tmp_path / f"in{n}", amount=100 * n, bad=bad)
        split = ["--split", "tier"] if n % 2 else []  # lists come and go
        done = tierscore(*args, *split, "--out", str(out), env={"TIERSCORE_TEST_KILL_AT": step})
        assert done.returncode == -signal.SIGKILL, (step, done.stderr)
        after = check_whole(out)
        assert (after != before) == (step in AFTER_SWITCH), step
    # the next run tidies what the killed ones left
    assert tierscore(*write_inputs(tmp_path / "last"), "--out", str(out)).returncode == 0
    check_whole(out)
    assert leftovers(out) == [] and len(versions(out)) == 2
    assert sorted(p.name for p in out.iterdir() if not p.exists()) == []  # no dangling link
    assert not (out / "by_tier").is_symlink()
    assert_exit_3_keeps_the_scores(out, write_inputs(tmp_path / "bad", bad=True))


def assert_exit_3_keeps_the_scores(out: Path, args: list[str]) -> None:
    """Exit 3 shows its rejects and manifest beside the previous run's other files."""
    before = visible(out)
    done = tierscore(*args, "--out", str(out))
    assert done.returncode == 3, done.stderr
    check_whole(out)
    after = visible(out)
    assert after.keys() == before.keys()
    assert {n for n in before if after[n] != before[n]} == {"rejects.csv", "manifest.json"}
    listed = json.loads(after["manifest.json"])["outputs"]
    assert [o["file"] for o in listed] == ["rejects.csv"]  # exactly what it wrote
    assert leftovers(out) == [] and len(versions(out)) == 2


def test_killed_at_random_instants(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tierscore(*write_inputs(tmp_path / "in"), "--out", str(out)).returncode == 0
    chance = random.Random(17)
    for n in range(3):
        args = write_inputs(tmp_path / f"in{n}", amount=200 + n, bad=n == 1)
        proc = start(*args, "--out", str(out), env={"TIERSCORE_TEST_STEP_DELAY": "0.05"})
        time.sleep(chance.uniform(0.3, 1.5))
        proc.kill()
        proc.communicate(timeout=30)
        check_whole(out)
    assert tierscore(*write_inputs(tmp_path / "last"), "--out", str(out)).returncode == 0
    check_whole(out)
    assert leftovers(out) == [] and len(versions(out)) == 2


# ---- an earlier tierscore's folder ---------------------------------------------------------


def legacy_folder(result: Result, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A folder as tierscore wrote it before versions: plain files and folders."""
    made = tmp_path / "made"
    publish(result, made, extras=Extras(split="tier", xlsx=True))
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in TOP_LEVEL_NAMES:
        if (made / name).is_dir():
            shutil.copytree(made / name, legacy / name)
        elif (made / name).exists():
            shutil.copy2(made / name, legacy / name)
    (legacy / "notes.txt").write_text("the operator's own file\n", encoding="utf-8")
    files = {p.relative_to(legacy).as_posix(): p.read_bytes()
             for p in sorted(legacy.rglob("*")) if p.is_file()}  # fmt: skip
    return legacy, files


def test_an_earlier_layout_is_migrated_without_losing_anything(
    result: Result, tmp_path: Path
) -> None:
    out, files = legacy_folder(result, tmp_path)
    for step in ["legacy-versioned", "legacy-switched", "adopted"]:
        done = tierscore(*write_inputs(tmp_path / "new"), "--out", str(out),
                         env={"TIERSCORE_TEST_KILL_AT": step})  # fmt: skip
        assert done.returncode == -signal.SIGKILL, (step, done.stderr)
        check_whole(out)
        for name, data in files.items():  # still every old file, as it was
            assert (out / name).read_bytes() == data, (step, name)
    assert_exit_3_keeps_the_scores(out, write_inputs(tmp_path / "bad", bad=True))
    [kept] = [v for v in versions(out) if v.endswith("-legacy")]
    for name, data in files.items():
        where = out / ".runs" / kept / name if name != "notes.txt" else out / name
        assert where.read_bytes() == data, name
    done = tierscore(*write_inputs(tmp_path / "new"), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert not check_whole(out).endswith("-legacy")  # type: ignore[union-attr]
    assert not (out / "by_tier").exists() and not (out / "scores.xlsx").exists()
    assert all((out / n).is_symlink() for n in ("scores.csv", "manifest.json"))
    assert (out / "notes.txt").read_bytes() == files["notes.txt"]
    assert leftovers(out) == []


# ---- two runs, one folder ------------------------------------------------------------------


def test_a_held_folder_makes_the_cli_exit_2_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = write_inputs(tmp_path / "in")
    assert tierscore(*args, "--out", str(out)).returncode == 0
    before = visible(out)
    with claim(out):  # held by this process: the run must be another one
        done = tierscore(*write_inputs(tmp_path / "b", amount=7), "--out", str(out), process=True)
    assert done.returncode == 2, done.stderr
    assert f"another tierscore run is writing to {out} (pid {os.getpid()})" in done.stderr
    assert visible(out) == before


def test_two_runs_at_once_one_stops_and_the_folder_stays_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = start(*write_inputs(tmp_path / "a"), "--out", str(out),
                  env={"TIERSCORE_TEST_STEP_DELAY": "0.3"})  # fmt: skip
    lock = out / ".runs" / ".lock"
    deadline = time.monotonic() + 20
    while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.02)
    second = tierscore(*write_inputs(tmp_path / "b", amount=9), "--out", str(out))
    assert second.returncode == 2, second.stderr
    assert f"(pid {first.pid})" in second.stderr
    _, err = first.communicate(timeout=30)
    assert first.returncode == 0, err
    check_whole(out)
    assert leftovers(out) == []


def test_the_library_can_wait_for_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    waiter = [sys.executable, "-c", "import sys; from pathlib import Path; "
              "from tierscore.scoring.outdir import claim\n"
              "with claim(Path(sys.argv[1]), wait=True): print('got it')", str(out)]  # fmt: skip
    with claim(out):
        proc = subprocess.Popen(waiter, stdout=subprocess.PIPE, text=True)
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
    assert proc.communicate(timeout=30)[0] == "got it\n"


# ---- Ctrl-C ----------------------------------------------------------------------------


def wait_for(condition: object, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline and proc.poll() is None, "never got there"
        time.sleep(0.02)


def test_ctrl_c_while_publishing_leaves_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert tierscore(*write_inputs(tmp_path / "a"), "--out", str(out)).returncode == 0
    before = visible(out)
    proc = start(*write_inputs(tmp_path / "b", amount=5), "--out", str(out),
                 env={"TIERSCORE_TEST_STEP_DELAY": "1"})  # fmt: skip
    wait_for(lambda: any(n.startswith(".staging-") for n in os.listdir(out / ".runs")), proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert leftovers(out) == [] and visible(out) == before
    check_whole(out)


def test_a_signal_while_the_staging_folder_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signal's ``abandon`` that comes while a staging folder is being made removes
    it once made; one that comes after makes the next staging wait for the process's
    end rather than leave a folder (CI once found one left after a SIGTERM)."""
    from tierscore.scoring import outdir

    monkeypatch.setattr(outdir, "_ABANDONED", threading.Event())  # this test's own end
    making, mkdir = threading.Event(), Path.mkdir

    def slow_mkdir(path: Path, *args: object, **kwargs: object) -> None:
        if path.name.startswith(".staging-"):
            making.set()
            time.sleep(0.3)  # the signal comes now
        mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    out = tmp_path / "out"
    out.mkdir()
    with claim(out) as folder:
        monkeypatch.setattr(Path, "mkdir", slow_mkdir)

        def stage() -> None:
            with folder.staging():
                time.sleep(2)  # writing: a process ending now runs no finally

        writer = threading.Thread(target=stage, daemon=True)
        writer.start()
        assert making.wait(5)
        outdir.abandon()  # what the CLI runs on a signal, before the process ends
        time.sleep(0.4)  # past the slow mkdir, the writer still writing
        assert not [n for n in os.listdir(out / ".runs") if n.startswith(".staging-")]
        later = threading.Thread(target=stage, daemon=True)
        later.start()
        later.join(0.5)
        assert later.is_alive()  # waits for the end that abandon() announced
        assert not [n for n in os.listdir(out / ".runs") if n.startswith(".staging-")]
        writer.join(5)


def test_ctrl_c_before_publishing_removes_the_folder_it_made(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    proc = start(*write_inputs(tmp_path / "a"), "--out", str(out),
                 env={"TIERSCORE_TEST_STEP_DELAY": "3"})  # fmt: skip
    wait_for(lambda: (out / ".runs" / ".lock").exists(), proc)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 130
    assert not (tmp_path / "new").exists()


# ---- full, read-only, foreign, linked, mounted ----------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        OSError("No space left on device (os error 28)"),  # as polars raises it
        pl.exceptions.ComputeError(
            "parquet: underlying IO error: No space left on device (os error 28)"
        ),
        OSError(errno.EROFS, "Read-only file system"),
    ],
    ids=["errno", "polars-oserror", "polars-compute", "erofs"],
)
def test_a_full_or_read_only_disk_is_exit_2_and_changes_nothing(
    failure: Exception, result: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    publish(result, out, extras=Extras(split="tier"))
    before, version = visible(out), shown(out)

    def full(*_: object, **__: object) -> None:
        raise failure

    monkeypatch.setattr(publish_module, "write_scores", full)
    with pytest.raises(ConfigError, match=rf"--out: cannot write to {out}: ") as caught:
        publish(result, out)
    assert os.strerror(errno.ENOSPC if "space" in str(failure) else errno.EROFS) in str(
        caught.value
    )
    assert visible(out) == before and shown(out) == version and leftovers(out) == []


def test_other_errors_while_writing_stay_what_they_are(
    result: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"

    def broken(*_: object, **__: object) -> None:
        raise ValueError("a bug")

    monkeypatch.setattr(publish_module, "write_scores", broken)
    with pytest.raises(ValueError, match="a bug"):
        publish(result, out)
    assert not out.exists()  # it made the folder, published nothing, and took it away


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a mount point, another filesystem, and one that fills up."""
    path = tmp_path / "vol"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(path)],
                             capture_output=True)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_mount_point_a_link_into_it_a_full_disk_and_read_only(
    volume: Path, tmp_path: Path
) -> None:
    link = tmp_path / "link"
    link.symlink_to(volume)
    (volume / "lost+found").mkdir()  # as on a fresh ext4 volume: not a foreign file
    done = tierscore(*write_inputs(tmp_path / "a"), "--split", "tier", "--out", str(link))
    assert done.returncode == 0, done.stderr
    assert (volume / "scores.csv").is_file() and check_whole(volume)
    before = visible(volume)
    big = write_inputs(tmp_path / "big", customers=20_000)  # scores far over 1 MiB
    done = tierscore(*big, "--out", str(volume))
    assert done.returncode == 2, done.stderr
    assert f"cannot write to {volume}: No space left on device" in done.stderr
    assert visible(volume) == before and leftovers(volume) == []
    check_whole(volume)
    subprocess.run(["mount", "-o", "remount,ro", str(volume)], check=True)
    done = tierscore(*write_inputs(tmp_path / "c", amount=3), "--out", str(volume))
    assert done.returncode == 2, done.stderr
    assert f"cannot write to {volume}: Read-only file system" in done.stderr
    assert visible(volume) == before


def test_out_empty_is_exit_2_and_the_current_folder_is_untouched(tmp_path: Path) -> None:
    args = write_inputs(tmp_path / "in")
    (tmp_path / "keep.txt").write_text("mine\n", encoding="utf-8")
    before = sorted(os.listdir(tmp_path))
    done = tierscore(*args, "--out", "", cwd=tmp_path)
    assert done.returncode == 2 and "--out: is empty" in done.stderr
    assert sorted(os.listdir(tmp_path)) == before


def test_a_dangling_link_is_exit_2(tmp_path: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to(tmp_path / "nowhere")
    done = tierscore(*write_inputs(tmp_path / "in"), "--out", str(link))
    assert done.returncode == 2, done.stderr
    assert "which does not exist" in done.stderr and str(link) in done.stderr
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()


def test_a_link_to_another_folder_publishes_there(tmp_path: Path) -> None:
    real = tmp_path / "data" / "scores"
    real.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(real)
    for n in range(2):
        done = tierscore(*write_inputs(tmp_path / f"in{n}", amount=10 + n), "--out", str(link))
        assert done.returncode == 0, done.stderr
    assert link.is_symlink() and check_whole(real) and check_whole(link)
    assert len(versions(real)) == 2 and not list(tmp_path.glob(".*"))


def test_a_foreign_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "docs"
    out.mkdir()
    (out / "report.html").write_text("someone's report\n", encoding="utf-8")
    (out / "thesis.txt").write_text("do not delete\n", encoding="utf-8")
    done = tierscore(*write_inputs(tmp_path / "in"), "--out", str(out))
    assert done.returncode == 2, done.stderr
    assert "not empty and holds no tierscore manifest" in done.stderr
    assert sorted(os.listdir(out)) == ["report.html", "thesis.txt"]
    assert (out / "report.html").read_text(encoding="utf-8") == "someone's report\n"


def test_a_file_tierscore_did_not_write_is_never_replaced(result: Result, tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(result, out)
    (out / "notes.txt").write_text("the operator's\n", encoding="utf-8")
    publish(result, out)  # a stranger's file beside ours is fine, and kept
    assert (out / "notes.txt").read_text(encoding="utf-8") == "the operator's\n"
    (out / "scores.xlsx").write_text("hand-made\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"scores\.xlsx was not written by tierscore"):
        publish(result, out, extras=Extras(xlsx=True))
    assert (out / "scores.xlsx").read_text(encoding="utf-8") == "hand-made\n"
    (out / "scores.xlsx").unlink()
    (out / "scores.csv").unlink()
    (out / "scores.csv").symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(ConfigError, match=r"scores\.csv was not written by tierscore"):
        publish(result, out)
    assert os.readlink(out / "scores.csv") == str(tmp_path / "elsewhere.csv")
    with pytest.raises(ConfigError, match="is one of tierscore's versions"):
        publish(result, out / "current")  # never into a version, which readers may be reading


def test_old_staging_beside_out_is_swept_only_when_surely_ours(
    result: Result, tmp_path: Path
) -> None:
    old = time.time() - 7200

    def leftover(name: str, files: list[str], age: float) -> Path:
        folder = tmp_path / name
        for file in files:
            (folder / file).parent.mkdir(parents=True, exist_ok=True)
            (folder / file).write_text("x\n", encoding="utf-8")
            for path in [folder / file, *(folder / file).parents]:
                if path == tmp_path:
                    break
                os.utime(path, (age, age))
        return folder

    ours = leftover(".tierscore-ab12cd_3", ["scores.csv", "old-by_tier/五星级.csv"], old)
    foreign = leftover(".tierscore-zz99yy88", ["scores.csv", "thesis.txt"], old)
    recent = leftover(".tierscore-qq11ww22", ["scores.csv"], time.time())
    other = leftover(".tierscore-notours", ["scores.csv"], old)
    publish(result, tmp_path / "out")
    assert not ours.exists()
    assert foreign.exists() and recent.exists() and other.exists()


def test_nested_claims_share_the_lock(result: Result, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with claim(out) as held:
        publish(result, out)  # the CLI's order: claimed before computing, then published
        assert held.published
    assert check_whole(out)


def test_a_folder_is_swapped_for_a_link_where_renameat2_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tierscore.scoring import outdir

    (tmp_path / ".runs").mkdir()
    (tmp_path / "by_tier").mkdir()
    (tmp_path / "by_tier" / "a.csv").write_text("a\n", encoding="utf-8")
    (tmp_path / ".runs" / ".link-x").symlink_to("current/by_tier")
    monkeypatch.setattr(outdir.ctypes, "CDLL", lambda *_, **__: object())
    outdir._exchange(tmp_path / ".runs" / ".link-x", tmp_path / "by_tier")
    assert os.readlink(tmp_path / "by_tier") == "current/by_tier"
    assert (tmp_path / ".runs" / ".link-x" / "a.csv").read_text(encoding="utf-8") == "a\n"
