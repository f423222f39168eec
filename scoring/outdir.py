"""The ``--out`` folder: one writer at a time, whole runs only, nothing of anyone else's touched.

Layout (every name but ``current`` and the outputs is hidden in ``.runs``)::

    OUT/.runs/.lock              flock'd by the one run writing OUT (its pid inside)
    OUT/.runs/<version>/         one run's complete files, never changed once named
    OUT/.runs/.staging-*         a run being written; gone on every exit, swept when stale
    OUT/current -> .runs/<version>
    OUT/scores.csv -> current/scores.csv   (one such link per output the run wrote)

A run writes into a staging folder inside ``.runs`` (so on OUT's own filesystem,
whatever OUT is mounted on or linked to), renames it to a version and then
replaces the one link ``current`` (``os.replace`` of a new link: atomic). Killed
at any instant, OUT shows the previous run or this one, never a mix. The version
``current`` pointed to before is kept for a reader still reading it; older ones go.

A folder written by an earlier tierscore (plain files and a manifest.json) is
turned into this layout on its first publish, its files kept as the previous
version. A folder that is neither empty nor tierscore's is refused (exit 2).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import filecmp
import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError
from .split import SPLIT_FOLDERS

RUNS, CURRENT, LOCK = ".runs", "current", ".lock"
STAGING, TRASH, TMP_LINK = ".staging-", ".trash-", ".link-"
LEGACY_STAGING = re.compile(r"\.tierscore-[a-z0-9_]{8}")  # tempfile.mkdtemp's names

# Every name a run may show at the top of OUT (an earlier tierscore wrote them as files).
TOP_LEVEL_NAMES = (
    "scores.csv",
    "scores.parquet",
    "summary.json",
    "scores.xlsx",
    "report.html",
    "rejects.csv",
    "unmapped_codes.csv",
    "manifest.json",
    *SPLIT_FOLDERS.values(),
)
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}
_LEGACY_STAGING_AGE_S = 3600  # an older tierscore still writing there touched it more recently

# What this process is writing, for Ctrl-C: the CLI ends the process with os._exit
# (no finally runs), so it calls abandon() first.
_STATE = threading.Lock()
_ACTIVE: set[Path] = set()
_ABANDONED = threading.Event()  # abandon() ran: the process ends next and makes no folder


def _step(name: str) -> None:
    """A point between two publishing steps, for the fault-injection tests: they kill
    the process here (``TIERSCORE_TEST_KILL_AT``) or slow each step down
    (``TIERSCORE_TEST_STEP_DELAY`` seconds) to prove every instant leaves OUT whole."""
    if os.environ.get("TIERSCORE_TEST_KILL_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
    delay = os.environ.get("TIERSCORE_TEST_STEP_DELAY")
    if delay:
        time.sleep(float(delay))


class OutFolder:
    """One run's hold on OUT: the lock, and the steps that change OUT under it."""

    def __init__(self, given: Path, root: Path, created: list[Path]) -> None:
        self.given = given  # as the user named it: for messages and the paths we return
        self.root = root  # the real folder, links resolved
        self.runs = root / RUNS
        self.created = created  # folders this run made: removed again if it publishes nothing
        self.published = False
        self.fd: int | None = None

    # ---- the lock -------------------------------------------------------------------

    def lock(self, wait: bool) -> None:
        """Take OUT/.runs/.lock. A run that created OUT removes it again when it
        publishes nothing, lock file included; so after the lock is ours, the file
        must still be the one at that path, or we locked a removed one and try again."""
        path = self.runs / LOCK
        for _ in range(100):
            self.runs.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except FileNotFoundError:
                continue
            self._flock(fd, wait)
            if _same_file(fd, path):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
                self.fd = fd
                return
            os.close(fd)
        raise ConfigError(f"could not lock {self.given}: it keeps being removed", key="--out")

    def _flock(self, fd: int, wait: bool) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise ConfigError(
                f"another tierscore run is writing to {self.given}{who}; "
                "run again when it has finished",
                key="--out",
            ) from None
        except BaseException:
            os.close(fd)
            raise

    def release(self) -> None:
        """Unlock; a folder this run created and published nothing into is removed."""
        self.remove_if_unused()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def remove_if_unused(self) -> None:
        """Only while locked: unlocked, the lock file may be another run's by now."""
        if self.fd is None or self.published or not self.created:
            return
        with contextlib.suppress(OSError):
            if os.listdir(self.runs) == [LOCK]:
                os.unlink(self.runs / LOCK)
            os.rmdir(self.runs)
            for folder in reversed(self.created):
                os.rmdir(folder)

    # ---- staging --------------------------------------------------------------------

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh folder on OUT's filesystem to write the run into. It is gone after
        the block, however it ends (committed: renamed to a version); a disk that is
        full or read-only becomes a ConfigError naming OUT."""
        path = self.runs / f"{STAGING}{uuid.uuid4().hex}"
        self._make_staging(path)
        try:
            yield path
        except Exception as exc:
            failure = self.failure(exc)
            if failure is None:
                raise
            raise failure from exc
        finally:
            with _STATE:
                _ACTIVE.discard(path)
            _remove(path)

    def _make_staging(self, path: Path) -> None:
        """Make and register ``path`` as one step: a signal's ``abandon`` then removes
        it, or it is never made. (Made first, a signal between the two left it.)"""
        with _STATE:
            if not _ABANDONED.is_set():
                try:
                    path.mkdir()  # not mkdtemp's 0700: readers of OUT read the version
                except OSError as exc:
                    failure = self.failure(exc)
                    if failure is None:
                        raise
                    raise failure from exc
                _ACTIVE.add(path)
                return
        threading.Event().wait()  # abandon() ran: the process ends at once, this thread waits

    def failure(self, exc: BaseException) -> ConfigError | None:
        """A full, read-only or forbidden disk is the operator's to fix (exit 2), and
        nothing was switched: say so, naming OUT. Other errors stay what they are."""
        code = _errno_of(exc)
        if code not in _DISK_ERRORS:
            return None
        return ConfigError(
            f"cannot write to {self.given}: {os.strerror(code)}; its files are as they were",
            key="--out",
        )

    # ---- publishing -----------------------------------------------------------------

    def commit(self, staging: Path, *, carry: bool = False) -> list[str]:
        """Make the complete ``staging`` the current version, in one atomic step.

        ``carry``: the run publishes no scores (exit 3), so the previous version's
        files it did not write are carried into its version (hard links), and OUT
        still shows the previous scores beside this run's rejects and manifest.
        Returns the top-level names of the new version.
        """
        _step("written")
        self._migrate_legacy()
        self._adopt_real_entries()
        previous = self.current_version()
        if carry and previous:
            _carry(self.runs / previous, staging)
            _step("carried")
        names = sorted(os.listdir(staging))
        version = self._new_version()
        with _STATE:
            os.rename(staging, self.runs / version)
            _ACTIVE.discard(staging)
            _step("versioned")
            self._switch_to_version(version, names)
        _step("switched")
        self._tidy({version, previous})
        return names

    def _switch_to_version(self, version: str, names: list[str]) -> None:
        try:
            self._link_names(names)
            _step("linked")
            self._point_current(version)
        except BaseException:
            _remove(self.runs / version)
            raise
        self.published = True

    def current_version(self) -> str | None:
        """The version ``current`` points to, if it is there."""
        target = _our_target(self.root / CURRENT, f"{RUNS}/")
        version = target.removeprefix(f"{RUNS}/") if target else None
        return version if version and (self.runs / version).is_dir() else None

    def _new_version(self) -> str:
        """Named by UTC time and pid, so versions sort by age and two never clash."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name, n = f"{stamp}-{os.getpid()}", 1
        while os.path.lexists(self.runs / name):
            name, n = f"{stamp}-{os.getpid()}-{n}", n + 1
        return name

    def _point_current(self, version: str) -> None:
        """The one step that publishes: a new link renamed over ``current``."""
        tmp = self.runs / f"{TMP_LINK}{uuid.uuid4().hex}"
        os.symlink(f"{RUNS}/{version}", tmp)
        os.replace(tmp, self.root / CURRENT)

    def _link_names(self, names: list[str]) -> None:
        """``OUT/name -> current/name`` for each name; made before the switch, where
        the current version lacks a name the link dangles (reads as absent) until then."""
        for name in names:
            path = self.root / name
            if _our_target(path, f"{CURRENT}/{name}") is not None:
                continue
            if os.path.lexists(path):
                raise _in_the_way(self.given, name)
            os.symlink(f"{CURRENT}/{name}", path)

    def _tidy(self, keep: set[str | None]) -> None:
        """After the switch, best effort (the next run does it again): links whose
        output this version lacks, versions older than the previous one, leftovers."""
        with contextlib.suppress(OSError):
            for name in os.listdir(self.root):
                path = self.root / name
                if _our_target(path, f"{CURRENT}/{name}") is not None and not path.exists():
                    os.unlink(path)
            _step("unlinked")
            for name in os.listdir(self.runs):
                if not name.startswith(".") and name not in keep:
                    _remove(self.runs / name, step="pruning")
            self.sweep()
        _step("pruned")

    # ---- an earlier tierscore's folder -----------------------------------------------

    def _legacy_names(self) -> list[str]:
        return [
            name
            for name in TOP_LEVEL_NAMES
            if os.path.lexists(self.root / name) and not os.path.islink(self.root / name)
        ]

    def _migrate_legacy(self) -> None:
        """An earlier tierscore's plain files become a version (hard links: no copy,
        nothing moved), which becomes current; the files are then replaced by links."""
        if self.current_version() is not None or not _is_manifest(self.root / "manifest.json"):
            return
        with self.staging() as stage:
            for name in self._legacy_names():
                _link_tree(self.root / name, stage / name)
            version = f"{self._new_version()}-legacy"
            with _STATE:
                os.rename(stage, self.runs / version)
                _ACTIVE.discard(stage)
        _step("legacy-versioned")
        self._point_current(version)
        _step("legacy-switched")

    def _adopt_real_entries(self) -> None:
        """Top-level files that are the current version's (a migration was cut short)
        are replaced by links to it, each in one atomic rename or exchange."""
        version = self.current_version()
        for name in self._legacy_names():
            if version is None or not _same_tree(self.root / name, self.runs / version / name):
                raise _in_the_way(self.given, name)
            tmp = self.runs / f"{TMP_LINK}{uuid.uuid4().hex}"
            os.symlink(f"{CURRENT}/{name}", tmp)
            if (self.root / name).is_dir():
                _exchange(tmp, self.root / name)  # tmp is now the real folder
                _remove(tmp)
            else:
                os.replace(tmp, self.root / name)
            _step("adopted")

    # ---- what is tierscore's here ----------------------------------------------------

    def check(self) -> None:
        """Refuse (exit 2) a folder that is not empty and not tierscore's, or where a
        name tierscore would publish is taken by something it did not write."""
        if not self.root.exists():
            return
        if os.path.lexists(self.runs) and (self.runs.is_symlink() or not self.runs.is_dir()):
            raise _in_the_way(self.given, RUNS)
        ours = _our_target(self.root / CURRENT, f"{RUNS}/") is not None
        if not ours and os.path.lexists(self.root / CURRENT):
            raise _in_the_way(self.given, CURRENT)
        if ours or _is_manifest(self.root / "manifest.json"):
            self._check_names(legacy=not ours)
            return
        foreign = sorted(set(os.listdir(self.root)) - self._ignored() - self._our_links())
        if foreign:
            raise ConfigError(
                f"{self.given} is not empty and holds no tierscore manifest "
                f"(it has {', '.join(foreign[:3])}{', …' if len(foreign) > 3 else ''}); "
                "refusing to publish there: give a new or empty folder",
                key="--out",
            )

    def _check_names(self, legacy: bool) -> None:
        version = self.current_version()
        for name in TOP_LEVEL_NAMES:
            path = self.root / name
            if not os.path.lexists(path) or _our_target(path, f"{CURRENT}/{name}") is not None:
                continue
            if path.is_symlink():
                raise _in_the_way(self.given, name)
            if not legacy and (version is None or not _same_tree(path, self.runs / version / name)):
                raise _in_the_way(self.given, name)

    def _ignored(self) -> set[str]:
        """Ours, and a filesystem's own lost+found where OUT is a mount point (a volume)."""
        return {RUNS, CURRENT, *(["lost+found"] if os.path.ismount(self.root) else [])}

    def _our_links(self) -> set[str]:
        return {
            name
            for name in os.listdir(self.root)
            if _our_target(self.root / name, f"{CURRENT}/{name}") is not None
        }

    # ---- leftovers -------------------------------------------------------------------

    def sweep(self) -> None:
        """Under the lock no one else writes OUT: every staging folder, half-deleted
        version or spare link in .runs is a killed run's, and goes."""
        for name in os.listdir(self.runs):
            if name.startswith((STAGING, TRASH, TMP_LINK)):
                _remove(self.runs / name)
        _sweep_legacy_staging(self.root.parent)


# ---- taking OUT -------------------------------------------------------------------------

_HELD: dict[Path, OutFolder] = {}
_CLAIMED: list[OutFolder] = []  # every OUT this process held, for ``published_into``


@contextlib.contextmanager
def claim(out: Path, *, wait: bool = False) -> Iterator[OutFolder]:
    """Hold ``out`` for one run: checked, created if need be, and locked against any
    other tierscore run (``wait=False``: a ConfigError naming the other run's pid).

    Take it before computing, so a second run stops at once rather than after its
    work. Nested claims of the same folder in one process share the first one.
    """
    root = _resolve(out)
    if root in _HELD:
        yield _HELD[root]
        return
    folder = OutFolder(out, root, _missing(root))
    folder.check()  # before anything is created or written
    try:
        folder.lock(wait)
        _HELD[root] = folder
        _CLAIMED.append(folder)
        folder.check()  # again: now no one else changes it
        folder.sweep()
    except OSError as exc:
        folder.release()
        raise folder.failure(exc) or _cannot_use(out, exc) from exc
    except BaseException:
        folder.release()
        raise
    _step("claimed")
    try:
        yield folder
    finally:
        with _STATE:
            _HELD.pop(root, None)
        folder.release()


def abandon() -> None:
    """On Ctrl-C, just before the process ends without unwinding: remove the staging
    folders being written and any OUT this process created and published nothing into.
    Waits briefly for a commit in progress, so a version is never cut in two; no
    staging folder is made after it (``OutFolder.staging``)."""
    _ABANDONED.set()
    if not _STATE.acquire(timeout=2):
        return
    try:
        for path in list(_ACTIVE):
            _remove(path)
        _ACTIVE.clear()
        for folder in list(_HELD.values()):
            folder.remove_if_unused()
    finally:
        _STATE.release()


def published_into() -> dict[Path, bool] | None:
    """Every OUT this process held (as given), True where its ``current`` was switched
    to this run: an interrupt after the switch must not say nothing was published.
    None when a commit holds the switch too long to tell (it ends whole either way)."""
    if not _STATE.acquire(timeout=2):
        return None
    try:
        return {folder.given: folder.published for folder in _CLAIMED}
    finally:
        _STATE.release()


def _resolve(out: Path) -> Path:
    """The real folder behind ``out``. A link that leads nowhere (or in a circle) is
    refused rather than followed into creating a folder somewhere unexpected."""
    if os.path.islink(out) and not os.path.exists(out):
        raise ConfigError(
            f"{out} is a symbolic link to {os.readlink(out)}, which does not exist",
            key="--out",
        )
    root = Path(os.path.realpath(out))
    if root.exists() and not root.is_dir():
        raise ConfigError(f"{out} is a file, not a folder", key="--out")
    if root.parent.name == RUNS:  # out/current, say: a version is never written again
        raise ConfigError(
            f"{out} is one of tierscore's versions; give {root.parent.parent}", key="--out"
        )
    return root


def _missing(root: Path) -> list[Path]:
    """The folders, outermost first, that creating ``root`` will make."""
    missing = []
    path = root
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing[::-1]


def _cannot_use(out: Path, exc: OSError) -> ConfigError:
    return ConfigError(f"cannot use {out} as the output folder: {exc.strerror or exc}", key="--out")


def _in_the_way(given: Path, name: str) -> ConfigError:
    return ConfigError(
        f"{given / name} was not written by tierscore (or no longer matches what it "
        "wrote); move it away and run again",
        key="--out",
    )


# ---- small filesystem helpers ------------------------------------------------------------


def _our_target(path: Path, expected: str) -> str | None:
    """The link's target if ``path`` is a link tierscore made (its target is exactly
    ``expected``, or starts with it when ``expected`` ends in /), else None."""
    try:
        target = os.readlink(path)
    except OSError:
        return None
    matches = target.startswith(expected) if expected.endswith("/") else target == expected
    return target if matches and "/../" not in f"/{target}/" else None


def _is_manifest(path: Path) -> bool:
    """A manifest.json an earlier tierscore wrote: the folder is tierscore's."""
    if path.is_symlink() or not path.is_file() or path.stat().st_size > 50_000_000:
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and (data.get("tool") or {}).get("name") == "tierscore"


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _same_tree(a: Path, b: Path) -> bool:
    """Same files with the same bytes (hard links are compared without reading)."""
    if a.is_symlink() or b.is_symlink() or not os.path.lexists(b):
        return False
    if a.is_dir() or b.is_dir():
        if not (a.is_dir() and b.is_dir()) or sorted(os.listdir(a)) != sorted(os.listdir(b)):
            return False
        return all(_same_tree(a / name, b / name) for name in os.listdir(a))
    return os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)


def _link_or_copy(src: str, dst: str) -> None:
    """Versions are never written after they are named, so sharing inodes is safe."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _link_tree(src: Path, dst: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(src), str(dst))


def _carry(previous: Path, staging: Path) -> None:
    for name in sorted(os.listdir(previous)):
        if not os.path.lexists(staging / name):
            _link_tree(previous / name, staging / name)


def _remove(path: Path, step: str | None = None) -> None:
    """Rename away first, so a half-deleted folder never sits under a version's name."""
    if not os.path.lexists(path):
        return
    trash = path.parent / f"{TRASH}{uuid.uuid4().hex}"
    try:
        os.rename(path, trash)
    except OSError:
        trash = path
    if step:
        _step(step)
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(trash)


def _exchange(a: Path, b: Path) -> None:
    """Swap two names in one step (Linux renameat2 RENAME_EXCHANGE): a real folder is
    replaced by a link with no instant at which the name is missing. Elsewhere, the
    folder is moved away and the link put in its place right after."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    at_fdcwd, rename_exchange = -100, 2
    if renameat2 is not None:
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
        if ctypes.get_errno() not in (errno.ENOSYS, errno.EINVAL):
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code), str(b))
    aside = b.parent / RUNS / f"{TRASH}{uuid.uuid4().hex}"
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


def _errno_of(exc: BaseException) -> int | None:
    """The OS error behind ``exc``: polars reports one only in its message
    ("No space left on device (os error 28)"), sometimes inside its own exception."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if isinstance(seen, OSError) and seen.errno:
            return seen.errno
        found = re.search(r"\(os error (\d+)\)|\[Errno (\d+)\]", str(seen))
        if found:
            return int(found.group(1) or found.group(2))
        seen = seen.__cause__ or seen.__context__
    return None


def _sweep_legacy_staging(parent: Path) -> None:
    """Earlier tierscore versions staged beside OUT (``.tierscore-xxxxxxxx``) and left
    those folders behind when killed. One goes only when it is surely such a leftover:
    nothing in it but output names, and untouched for an hour (not being written)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            path = Path(entry.path)
            if LEGACY_STAGING.fullmatch(entry.name) and _is_legacy_staging(path):
                shutil.rmtree(path, ignore_errors=True)


def _is_legacy_staging(path: Path) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    allowed = {*TOP_LEVEL_NAMES, *(f"old-{name}" for name in TOP_LEVEL_NAMES)}
    split = {*SPLIT_FOLDERS.values(), *(f"old-{name}" for name in SPLIT_FOLDERS.values())}
    newest = path.lstat().st_mtime
    for name in os.listdir(path):
        if name not in allowed:
            return False
        inner = path / name
        if name in split and inner.is_dir() and not inner.is_symlink():
            for folder, dirs, files in os.walk(inner):
                newest = max(newest, Path(folder).lstat().st_mtime)
                if any(Path(folder, d).is_symlink() for d in dirs):
                    return False
                if any(not f.endswith((".csv", ".parquet")) for f in files):
                    return False
        elif inner.is_symlink() or not inner.is_file():
            return False
        newest = max(newest, inner.lstat().st_mtime)
    return time.time() - newest > _LEGACY_STAGING_AGE_S
