"""Progress on a terminal and in logs, and how a run ends (issue #23).

On a terminal (a pseudo-terminal here, read back through a small screen model) the
spinner shows the elapsed time and the rows read, and however the run ends (an
error, Ctrl-C typed, SIGTERM) its line is gone, the cursor is shown and the cursor
sits at the start of an empty line, where the shell prompt goes. SIGTERM cleans up
as Ctrl-C does and exits 143; an interrupt after the switch of ``current`` says the
run was published. Under cron, stage lines carry an ISO 8601 time with its offset.
A Spark failure is one line unless --verbose.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tierscore.cli import errors
from tierscore.cli.errors import _outcome, spark_cause
from tierscore.cli.progress import LiveStages, LogStages, _clock
from tierscore.scoring import outdir
from tierscore.scoring.outdir import claim
from tierscore.scoring.pipeline import Job, Stages, run
from tierscore.scoring.window import parse_window

from .conftest import QUICK_JVM, Ran, tierscore_here

TIERSCORE = Path(sys.executable).with_name("tierscore")
ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
BAL = "customer_id,account_id,product,date,balance\n"
TXN = "customer_id,txn_id,date,txn_type,amount\n"
SPINNER = re.compile("[\u2800-\u28ff]")  # rich's "dots" frames are braille
CLOCK = re.compile(r"\b\d+:\d\d( · |$)")  # the spinner's elapsed time
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"


def write_inputs(folder: Path, amount: int = 100) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [f"C{i},A{i},CURRENT,2026-01-05,{amount + i}.00" for i in range(3)]
    (folder / "bal.csv").write_text(BAL + "\n".join(rows) + "\n", encoding="utf-8")
    (folder / "txn.csv").write_text(TXN + "C0,T1,2026-01-06,POS,10.00\n", encoding="utf-8")
    return ["--balances", str(folder / "bal.csv"), "--transactions", str(folder / "txn.csv")]


def score_args(inputs: list[str], out: Path, *extra: str) -> list[str]:
    return [str(TIERSCORE), "score", *inputs, "--period", "2026H1", "--out", str(out), *extra]


def score_here(inputs: list[str], out: Path, *extra: str) -> Ran:
    """``score_args`` run in this process (a run that is not itself signalled)."""
    return tierscore_here(*score_args(inputs, out, *extra)[1:])


def env_with(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env.pop("NO_COLOR", None)
    return {**env, **changes}


# ---- a terminal ----------------------------------------------------------------------------


class Screen:
    """Just enough of a terminal to see what is left on it: text, carriage return,
    newline, cursor up, erase line, cursor shown or hidden; colours are ignored."""

    CSI = re.compile(r"\x1b\[([?0-9;]*)([A-Za-z])")

    def __init__(self, data: bytes) -> None:
        self.lines, self.row, self.col, self.cursor_shown = [""], 0, 0, True
        text = data.decode("utf-8", "replace")
        at = 0
        while at < len(text):
            found = self.CSI.match(text, at)
            if found:
                self._control(found.group(1), found.group(2))
                at = found.end()
                continue
            self._char(text[at])
            at += 1

    def _control(self, args: str, op: str) -> None:
        n = int(args) if args.isdigit() else 1
        if op == "A":
            self.row = max(0, self.row - n)
        elif op == "K" and args in ("", "0"):
            self.lines[self.row] = self.lines[self.row][: self.col]
        elif op == "K":
            self.lines[self.row] = ""
        elif args == "?25" and op in "hl":
            self.cursor_shown = op == "h"

    def _char(self, char: str) -> None:
        if char == "\r":
            self.col = 0
        elif char == "\n":
            self.row += 1
            self.lines += [""] * (self.row + 1 - len(self.lines))
        elif char == "\b":
            self.col = max(0, self.col - 1)
        elif char >= " ":
            line = self.lines[self.row].ljust(self.col)
            self.lines[self.row] = line[: self.col] + char + line[self.col + 1 :]
            self.col += 1

    def shown(self) -> list[str]:
        return [line.rstrip() for line in self.lines]

    def assert_ended_clean(self) -> None:
        """No spinner left, the cursor visible, at the start of an empty line."""
        lines = self.shown()
        assert not [line for line in lines if SPINNER.search(line)], lines
        assert not [line for line in lines if CLOCK.search(line)], lines
        assert self.cursor_shown, lines
        assert self.col == 0 and lines[self.row] == "", (self.row, self.col, lines)
        assert self.row == len(lines) - 1, lines


def on_terminal(
    args: list[str], env: dict[str, str], act: Callable[[bytes, int, int], bool] | None = None
) -> tuple[int, bytes]:
    """Run ``args`` with a pseudo-terminal as its controlling terminal, stdin and stderr
    (stdout: /dev/null); ``act(output, pid, fd)`` is called as output comes until it
    returns True. Returns the exit code (negative: the signal) and all output."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, whatever happens
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    size = struct.pack("HHHH", 30, int(env["COLUMNS"]), 0, 0)  # rich reads COLUMNS first
    fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
    output, acted, deadline = b"", act is None, time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child has gone and the terminal closed
                break
            if not chunk:
                break
            output += chunk
        if not acted and act is not None:
            acted = act(output, pid, fd)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def terminal_env(columns: int = 120, **changes: str) -> dict[str, str]:
    return env_with(TERM="xterm-256color", COLUMNS=str(columns), LINES="30", **changes)


def drawn_lines(output: bytes) -> list[str]:
    """Each spinner frame as drawn, without its colours."""
    plain = re.sub(r"\x1b\[[?0-9;]*[A-Za-z]", "", output.decode())
    return [part for part in re.split(r"[\r\n]", plain) if SPINNER.match(part)]


def test_the_live_line_shows_elapsed_time_and_rows_read(tmp_path: Path) -> None:
    """Slowed down, the spinner is drawn often: it names the stage, a clock that
    moves, and the rows read once known, on one line however narrow the terminal
    (the stage's detail, here a long path, is what gets cut); the run ends with
    nothing of it left."""
    out = tmp_path / "out"
    args = score_args(write_inputs(tmp_path / "in"), out)
    columns = 70
    code, output = on_terminal(args, terminal_env(columns, TIERSCORE_TEST_STEP_DELAY="0.3"))
    assert code == 0, output
    writing = [line for line in drawn_lines(output) if line[2:].startswith("write ")]
    assert writing, output
    clocks = set()
    for line in writing:
        said = re.fullmatch(
            r". write (\d+:\d\d) · rows read: balances 3, transactions 1 · (.*)", line
        )
        assert said, line
        assert said.group(2).endswith("…") and str(out).startswith(said.group(2)[:-1]), line
        assert len(line) <= columns, line
        clocks.add(said.group(1))
    assert len(clocks) >= 2, writing  # the time moves
    screen = Screen(output)
    screen.assert_ended_clean()
    shown = screen.shown()
    [compute] = [line for line in shown if line.startswith("✓ compute")]
    assert compute.endswith("rows read: balances 3, transactions 1"), compute
    stages = [line for line in shown if line.startswith("✓")]
    assert len([line for line in stages if "rows read" in line]) == 1, stages  # said once


def test_an_error_mid_spinner_leaves_the_prompt_on_its_own_line(tmp_path: Path) -> None:
    """A file put into OUT by someone else while the run writes: exit 2 from inside
    the write stage, its spinner on screen for a second by then."""
    out = tmp_path / "out"
    args = score_args(write_inputs(tmp_path / "in"), out)

    def intrude(output: bytes, pid: int, fd: int) -> bool:
        runs = out / ".runs"
        if runs.is_dir() and any(n.startswith(".staging-") for n in os.listdir(runs)):
            (out / "report.html").write_text("someone else's\n", encoding="utf-8")
            return True
        return False

    code, output = on_terminal(args, terminal_env(TIERSCORE_TEST_STEP_DELAY="0.5"), intrude)
    assert code == 2, output
    assert SPINNER.search(output.decode()), "the spinner was never drawn: nothing was tested"
    screen = Screen(output)
    screen.assert_ended_clean()
    assert screen.shown()[-2].startswith(f"error: --out: {out / 'report.html'} was not"), (
        screen.shown()
    )
    assert (out / "report.html").read_text(encoding="utf-8") == "someone else's\n"


@pytest.mark.parametrize("how", ["ctrl-c typed", "SIGTERM"])
def test_interrupted_on_a_terminal_clears_the_spinner(tmp_path: Path, how: str) -> None:
    out = tmp_path / "out"
    args = score_args(write_inputs(tmp_path / "in"), out)

    def stop(output: bytes, pid: int, fd: int) -> bool:
        if not re.search(rb"write \d+:\d\d", output):
            return False
        if how == "SIGTERM":
            os.kill(pid, signal.SIGTERM)
        else:
            os.write(fd, b"\x03")  # the terminal sends SIGINT, as a key press does
        return True

    code, output = on_terminal(args, terminal_env(TIERSCORE_TEST_STEP_DELAY="0.5"), stop)
    assert code == (143 if how == "SIGTERM" else 130), output
    screen = Screen(output)
    screen.assert_ended_clean()
    word = "terminated" if how == "SIGTERM" else "interrupted"
    assert screen.shown()[-2] == f"{word}: nothing was published", screen.shown()
    assert "Traceback" not in output.decode()
    assert not out.exists()  # it made OUT and published nothing: OUT is gone again


# ---- SIGTERM cleans up as Ctrl-C does ---------------------------------------------------


def start(args: list[str], **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8", env=env_with(**env))  # fmt: skip


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline and proc.poll() is None, "never got there"
        time.sleep(0.02)


def files_of(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def runs_of(out: Path) -> list[str]:
    return sorted(os.listdir(out / ".runs"))


def staging(out: Path) -> bool:
    runs = out / ".runs"
    return runs.is_dir() and any(n.startswith(".staging-") for n in os.listdir(runs))


def test_sigterm_while_publishing_cleans_up_and_exits_143(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert score_here(write_inputs(tmp_path / "a"), out, "--quiet").returncode == 0
    before, versions = files_of(out), runs_of(out)
    proc = start(score_args(write_inputs(tmp_path / "b", 5), out), TIERSCORE_TEST_STEP_DELAY="0.5")
    wait_for(lambda: staging(out), proc)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)  # a second one must not cut the cleanup short
    _, said = proc.communicate(timeout=30)
    assert proc.returncode == 143, said
    assert re.search(rf"^{STAMP} tierscore terminated: nothing was published$", said, re.M), said
    assert "Traceback" not in said
    assert files_of(out) == before and runs_of(out) == versions  # no staging, no version
    with claim(out):  # the lock was given back: the next run may write
        pass


def test_interrupted_after_the_switch_says_it_was_published(tmp_path: Path) -> None:
    """The known gap: an interrupt while old versions are tidied away, after ``current``
    points to the new run, said "nothing was published"."""
    out = tmp_path / "out"
    assert score_here(write_inputs(tmp_path / "a"), out, "--quiet").returncode == 0
    first = os.readlink(out / "current")
    proc = start(score_args(write_inputs(tmp_path / "b", 5), out), TIERSCORE_TEST_STEP_DELAY="0.5")
    wait_for(lambda: os.readlink(out / "current") != first, proc)
    proc.send_signal(signal.SIGINT)
    _, said = proc.communicate(timeout=30)
    assert proc.returncode == 130, said
    assert re.search(rf"^{STAMP} tierscore interrupted: this run was published to {out}$", said,
                     re.M), said  # fmt: skip
    assert "nothing was published" not in said
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"]["balances"][0]["path"] == str(tmp_path / "b" / "bal.csv")
    for output in manifest["outputs"]:  # whole: every file as the manifest lists it
        data = (out / output["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == output["sha256"], output["file"]


def test_a_signal_ignored_at_start_stays_ignored(tmp_path: Path) -> None:
    """A shell's background job ignores SIGINT; tierscore must not take it back."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        score_args(write_inputs(tmp_path / "a"), out, "--quiet"), stderr=subprocess.PIPE,
        text=True, env=env_with(TIERSCORE_TEST_STEP_DELAY="0.2"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    wait_for(lambda: (out / ".runs" / ".lock").exists(), proc)
    proc.send_signal(signal.SIGINT)
    _, said = proc.communicate(timeout=60)
    assert proc.returncode == 0, said
    assert (out / "scores.csv").exists()


def test_a_commit_that_holds_the_switch_is_not_called_unpublished() -> None:
    """Past the wait, it is unknown whether ``current`` was switched: say so."""
    with outdir._STATE:
        assert errors._published_said().startswith(" while publishing: ")


# ---- logs -----------------------------------------------------------------------------------


def test_log_lines_carry_an_iso_timestamp_with_the_zone_offset(tmp_path: Path) -> None:
    out = tmp_path / "out"
    customers = tmp_path / "customers.csv"
    gates = "overdue_90d,missed_consecutive,missed_total"
    customers.write_text(f"customer_id,branch,{gates}\nC0,B1,0,0,0\nC1,B2,0,0,0\n", "utf-8")
    args = score_args(write_inputs(tmp_path / "in"), out, "--customers", str(customers))
    done = subprocess.run(args, capture_output=True, text=True, encoding="utf-8",
                          env=env_with(TZ="Asia/Shanghai"), timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    stages = [line for line in done.stderr.splitlines() if " tierscore " in line]
    assert [line.split()[2] for line in stages] == ["read", "compute", "write"], stages
    for line in stages:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00 tierscore \w+ done in ", line)
    assert stages[0].endswith("· rows read: customers 2"), stages
    assert stages[1].endswith("· rows read: customers 2, balances 3, transactions 1"), stages


def test_log_stamp_is_iso_8601_with_the_local_offset() -> None:
    stamp = errors.log_stamp()
    assert re.fullmatch(STAMP, stamp), stamp
    assert time.strftime("%z") == stamp[-6:].replace(":", "")


# ---- the observer hooks ------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.said: list[tuple[str, object]] = []
        self.rows_read: dict[str, int] = {}

    def started(self, stage: str, detail: str) -> None:
        self.said.append(("started", stage))

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        self.said.append(("finished", stage))

    def rows(self, counts: dict[str, int]) -> None:
        self.said.append(("rows", dict(counts)))
        self.rows_read.update(counts)


def test_rows_told_are_the_rows_the_summary_counts(tmp_path: Path) -> None:
    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
              parse_window("2026H1"), customers=str(SAMPLE / "customers.csv"))  # fmt: skip
    recorder = Recorder()
    result = run(job, recorder)
    counts = result.summary["rows"]
    assert isinstance(counts, dict)
    assert recorder.rows_read == {name: c["read"] for name, c in counts.items()}
    lines = (SAMPLE / "balances.csv").read_text(encoding="utf-8").splitlines()
    assert recorder.rows_read["balances"] == len(lines) - 1
    kinds = [kind for kind, _ in recorder.said]
    assert kinds.index("rows") < kinds.index("finished")  # known while the run is going


def test_an_observer_without_rows_is_not_asked() -> None:
    class Old:
        def started(self, stage: str, detail: str) -> None:
            pass

        def finished(self, stage: str, seconds: float, detail: str) -> None:
            pass

    Stages(Old()).rows({"balances": 3})  # no AttributeError


def test_log_stages_say_rows_once_on_the_stage_that_learnt_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = LogStages()
    log.rows({"balances": 1_234_567})
    log.finished("read", 0.5, "1 balances file(s)")
    log.rows({"balances": 1_234_567})
    log.finished("compute", 1.5, "9 customers")
    log.rows({"transactions": 2})
    log.finished("write", 0.1, "")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith(
        "read done in 0.50s 1 balances file(s) · rows read: balances 1,234,567"
    )
    assert lines[1].endswith("compute done in 1.50s 9 customers")
    assert lines[2].endswith("write done in 0.10s rows read: balances 1,234,567, transactions 2")


def test_a_closed_live_display_starts_no_spinner_again() -> None:
    """After the run's end cleared it, the worker thread may still reach the next stage."""
    live = LiveStages()
    live.close()
    live.started("write", "out")
    assert live._status is None


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (7.9, "0:07"), (750, "12:30"), (3723, "1:02:03")]
)
def test_clock(seconds: float, shown: str) -> None:
    assert _clock(seconds) == shown


# ---- Spark failures: one line ---------------------------------------------------------------


def spark_kind(name: str, module: str = "pyspark.errors.exceptions.captured") -> type[Exception]:
    """A stand-in with the name and module of a pyspark or Py4J exception (the real
    ones need a running JVM to be made or printed)."""
    return type(name, (Exception,), {"__module__": module})


WORKER = (
    "An exception was thrown from the Python worker:\n"
    "Traceback (most recent call last):\n"
    '  File "/x/worker.py", line 4327, in invoke_udf\n'
    "    run_process()\n"
    "    ~~~~~~~~~~~^^\n"
    "ZeroDivisionError: division by zero\n"
    "\n\nJVM stacktrace:\norg.apache.spark.api.python.PythonException: boom\n"
    "\tat org.apache.spark.api.python.BasePythonRunner.handlePythonException(X.scala:1)\n"
    "Caused by: java.lang.RuntimeException: not the cause\n"
)
PY4J = (
    "An error occurred while calling o57.collectToPython.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 failed\n"
    "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(X.scala:1)\n"
    "Caused by: org.apache.spark.SparkException: wrapped\n"
    "\tat y\n"
    "Caused by: java.io.IOException: No space left on device\n"
    "\tat z\n"
)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        (WORKER.split("\n\nJVM stacktrace:\n")[0], "ZeroDivisionError: division by zero"),
        (PY4J, "java.io.IOException: No space left on device"),
        (PY4J.split("Caused by")[0], "org.apache.spark.SparkException: Job aborted due to "
         "stage failure: Task 0 failed"),
        ("[PATH_NOT_FOUND] Path does not exist: file:/x.csv. SQLSTATE: 42K03\nmore",
         "[PATH_NOT_FOUND] Path does not exist: file:/x.csv. SQLSTATE: 42K03"),
        ("\n\n", ""),
    ],
)  # fmt: skip
def test_spark_cause(text: str, cause: str) -> None:
    assert spark_cause(text) == cause


def outcome_of(exc: BaseException, verbose: bool, capsys: pytest.CaptureFixture[str]) -> Any:
    def app() -> None:
        raise exc

    code = _outcome(app, verbose)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "text", "code", "line"),
    [
        (spark_kind("PythonException"), WORKER, 1,
         "Spark failed (PythonException): ZeroDivisionError: division by zero"),
        (spark_kind("Py4JJavaError", "py4j.protocol"), PY4J, 1,
         "Spark failed (Py4JJavaError): java.io.IOException: No space left on device"),
        (spark_kind("AnalysisException"),
         "[TABLE_OR_VIEW_NOT_FOUND] The table or view `nosuch` cannot be found.\nSearch path", 2,
         "Spark failed (AnalysisException): [TABLE_OR_VIEW_NOT_FOUND] The table or view "
         "`nosuch` cannot be found."),
    ],
)  # fmt: skip
def test_a_spark_failure_is_one_line_unless_verbose(
    kind: type[Exception], text: str, code: int, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    got, said = outcome_of(kind(text), False, capsys)
    assert got == code
    assert said.splitlines() == [f"{line} (run again with --verbose for the trace)"]
    got, said = outcome_of(kind(text), True, capsys)
    assert got == code
    assert "Traceback (most recent call last)" in said
    assert text.strip().splitlines()[-1] in said  # all of it
    assert said.splitlines()[-1] == line


def test_a_spark_failure_behind_our_own_error_is_still_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        try:
            raise spark_kind("Py4JError", "py4j.protocol")("An error occurred while calling o1")
        except Exception as inner:
            raise RuntimeError("while scoring") from inner
    except RuntimeError as outer:
        code, said = outcome_of(outer, False, capsys)
    assert code == 1
    assert said.splitlines() == [
        "Spark failed (Py4JError): An error occurred while calling o1 "
        "(run again with --verbose for the trace)"
    ]


def test_a_long_spark_cause_is_cut(capsys: pytest.CaptureFixture[str]) -> None:
    row = "C1,A1,CURRENT,2026-01-05," + "9" * 500
    _, said = outcome_of(spark_kind("PythonException")(f"Malformed record: {row}"), False, capsys)
    [line] = said.splitlines()
    assert len(line) < 300 and "…" in line


def test_the_jvm_gets_dev_null_unless_verbose() -> None:
    """What a JVM started meanwhile inherits as stderr; ours is back after."""
    probe = [sys.executable, "-c", "import os; os.write(2, b'jvm chatter')"]

    def child_writes(verbose: bool) -> bytes:
        read, write = os.pipe()
        saved = os.dup(2)
        os.dup2(write, 2)
        try:
            errors._RUN["verbose"] = verbose
            with errors.spark_output():
                subprocess.run(probe, check=True)
            os.write(2, b"|ours")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(write)
            errors._RUN["verbose"] = False
        with open(read, "rb") as got:
            return got.read()

    assert child_writes(verbose=False) == b"|ours"
    assert child_writes(verbose=True) == b"jvm chatter|ours"


@pytest.mark.spark
def test_cli_spark_failure_is_one_line_without_the_jvms_chatter(tmp_path: Path) -> None:
    args = [str(TIERSCORE), "score", "--engine", "spark", "--balances-table", "nosuch_b",
            "--transactions-table", "nosuch_t", "--period", "2026H1", "--out",
            str(tmp_path / "out"),
            "--spark-conf", f"spark.driver.extraJavaOptions={QUICK_JVM}"]  # fmt: skip
    pytest.importorskip("pyspark")
    done = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Spark failed (AnalysisException): [TABLE_OR_VIEW_NOT_FOUND]")
    assert not (tmp_path / "out").exists()


@pytest.mark.spark
def test_spark_engine_tells_the_same_rows(spark: Any) -> None:
    from tierscore.scoring import spark_engine

    job = Job(str(SAMPLE / "balances.csv"), str(SAMPLE / "transactions.csv"),
              parse_window("2026H1"), customers=str(SAMPLE / "customers.csv"))  # fmt: skip
    local, remote = Recorder(), Recorder()
    run(job, local)
    spark_engine.run(job, remote, spark=spark)
    assert remote.rows_read == local.rows_read
    assert set(local.rows_read) == {"balances", "transactions", "customers"}


def test_verbose_adds_the_java_trace_spark_kept(capsys: pytest.CaptureFixture[str]) -> None:
    failure = spark_kind("AnalysisException")("[PATH_NOT_FOUND] Path does not exist: file:/x")
    failure._stackTrace = "org.apache.spark.sql.AnalysisException: x\n\tat org.Y.z(Y:9)"  # type: ignore[attr-defined]
    code, said = outcome_of(failure, True, capsys)
    assert code == 2
    assert "JVM stacktrace:\norg.apache.spark.sql.AnalysisException: x\n" in said
    assert "at org.Y.z(Y:9)\nSpark failed (AnalysisException): [PATH_NOT_FOUND]" in said
    _, said = outcome_of(failure, False, capsys)
    assert "stacktrace" not in said and len(said.splitlines()) == 1
