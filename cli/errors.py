"""The one place where failures become exit codes and one-line messages.

Codes: 0 scored and published; 1 unexpected; 2 usage or configuration;
3 too many rejected rows; 130 interrupted (Ctrl-C); 143 terminated (SIGTERM).
Messages never print whole input rows, and tracebacks (only with --verbose)
never show local variables.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime
from types import FrameType
from typing import Any, NoReturn

from rich.console import Console

from tierscore.scoring.errors import ConfigError, RejectLimitError, TierscoreError
from tierscore.scoring.outdir import published_into

OK, UNEXPECTED, CONFIG, REJECTS, INTERRUPTED, TERMINATED = 0, 1, 2, 3, 130, 143

EXIT_CODES: dict[type[TierscoreError], int] = {
    ConfigError: CONFIG,
    RejectLimitError: REJECTS,
}

# Called on Ctrl-C or SIGTERM before the process ends at once (os._exit runs no finally
# block): each removes what the run was writing.
ON_INTERRUPT: list[Callable[[], None]] = []

# Called first whenever a run ends in a message (an error, Ctrl-C, SIGTERM): the live
# display clears its spinner line, so the message and then the shell prompt start on
# lines of their own, with the cursor shown again.
ON_END: list[Callable[[], None]] = []

# Logs (stderr not a terminal) get wide lines rather than tables wrapped at 80 columns.
# Messages are never wrapped (soft_wrap), so a log line stays one line.
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200
)

_ENDINGS = {signal.SIGINT: ("interrupted", INTERRUPTED), signal.SIGTERM: ("terminated", TERMINATED)}
_RUN = {"verbose": False}  # the run's --verbose, for what starts a Spark JVM
_QUIETED: list[int] = []  # our stderr, saved while a starting JVM gets /dev/null instead
_ENDING = threading.Event()  # a signal is being answered: a second one waits its turn
# Spark conditions that mean an input the operator named is not there: exit 2, as a
# missing file is on the polars engine.
_SPARK_MISSING = {"TABLE_OR_VIEW_NOT_FOUND", "PATH_NOT_FOUND"}
_TRACEBACK = "Traceback (most recent call last):"
_JVM_TRACE = "\n\nJVM stacktrace:\n"  # what pyspark adds to a captured error's message


def exit_code_for(exc: BaseException) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return UNEXPECTED


def log_stamp() -> str:
    """Now, as a log line starts: ISO 8601 to the second with the UTC offset
    (2026-12-03T13:40:01+08:00), so cron logs from machines in other zones compare."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def clear_display() -> None:
    """Before a message that ends the run (see ``ON_END``)."""
    for hook in ON_END:
        hook()


def _outcome(app: Callable[[], object], verbose: bool) -> int:
    """Run the typer app and translate whatever ends it into an exit code.

    Typer itself answers usage errors (2) and ``--help`` (0); everything
    tierscore raises on purpose is mapped here, once.
    """
    _RUN["verbose"] = verbose
    try:
        app()
    except SystemExit as exc:
        clear_display()
        return exc.code if isinstance(exc.code, int) else (OK if exc.code is None else UNEXPECTED)
    except KeyboardInterrupt:
        clear_display()
        return INTERRUPTED
    except TierscoreError as exc:
        clear_display()
        err.print(f"error: {exc}", markup=False)
        return exit_code_for(exc)
    except Exception as exc:  # the last resort: one line, traceback on request
        clear_display()
        return _unexpected(exc, verbose)
    return OK


def _unexpected(exc: Exception, verbose: bool) -> int:
    if verbose:
        traceback.print_exc()
    spark = _spark_error(exc)
    if spark is not None:
        return _spark_failed(spark, verbose)
    err.print(f"unexpected error ({type(exc).__name__}): {_short(exc)}", markup=False)
    if not verbose:
        err.print("run again with --verbose for the traceback")
    return UNEXPECTED


def _short(exc: BaseException, limit: int = 200) -> str:
    """An unexpected error's first line, cut: a polars error can quote whole input rows
    (customer data, which a cron log would keep); --verbose shows it all."""
    lines = str(exc).strip().splitlines()
    return _cut(lines[0] if lines else "", limit)


def _cut(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- Spark ------------------------------------------------------------------------------


def _spark_error(exc: BaseException) -> BaseException | None:
    """The Spark or Py4J exception behind ``exc``, if any (found by module, so that
    pyspark need not be installed to tell)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return None
        if type(seen).__module__.partition(".")[0] in ("pyspark", "py4j"):
            return seen
        seen = seen.__cause__
    return None


def _spark_failed(exc: BaseException, verbose: bool) -> int:
    """One line: Spark's errors run to dozens of lines of Java and Python trace, where
    the cause is one line deep inside; --verbose prints them all."""
    text = _text_of(exc)
    cause = spark_cause(text.split(_JVM_TRACE)[0]) or type(exc).__name__
    condition = re.match(r"\[([A-Z0-9_.]+)\]", cause)
    code = CONFIG if condition and condition.group(1) in _SPARK_MISSING else UNEXPECTED
    if verbose:
        trace = getattr(exc, "_stackTrace", None)  # a captured JVM error's Java trace
        if isinstance(trace, str) and trace.strip() and _JVM_TRACE not in text:
            err.print(f"{_JVM_TRACE.strip()}\n{trace.rstrip()}", markup=False)
    hint = "" if verbose else " (run again with --verbose for the trace)"
    err.print(f"Spark failed ({type(exc).__name__}): {_cut(cause)}{hint}", markup=False)
    return code


def _text_of(exc: BaseException) -> str:
    """``str`` of a captured Spark error asks the JVM (whether to add its trace), which
    may be gone by now; the message it keeps is then enough."""
    try:
        return str(exc)
    except Exception:
        return str(getattr(exc, "_desc", "") or "")


def spark_cause(text: str) -> str:
    """The line of a Spark error's text that says what went wrong: the exception a
    Python task raised (the line after its traceback's frames), else the deepest Java
    ``Caused by:``, else the Java exception a Py4J call threw, else the first line."""
    lines = [line.rstrip() for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines) if _TRACEBACK in line]
    if starts:
        raised = [ln for ln in lines[starts[-1] + 1 :] if ln.strip() and not ln[0].isspace()]
        if raised:
            return raised[0]
    caused = [line for line in lines if line.startswith("Caused by: ")]
    if caused:
        return caused[-1].removeprefix("Caused by: ")
    thrown = [line for line in lines if line.startswith(": ")]  # Py4J: "\n: java.lang.X: ..."
    if thrown:
        return thrown[0].removeprefix(": ")
    said = [line.strip() for line in lines if line.strip()]
    return said[0] if said else ""


@contextlib.contextmanager
def spark_output() -> Iterator[None]:
    """Around starting a Spark session: the JVM it launches inherits our stderr and
    writes there for its whole life (a dozen lines as it starts, a Java trace per
    failed task). Without --verbose it gets /dev/null; our own messages are written
    to stderr again as soon as the session is up."""
    if _RUN["verbose"]:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    _QUIETED.append(saved)
    try:
        yield
    finally:
        _unquiet()


def _unquiet() -> None:
    """Our stderr back (the run's end may come from the main thread meanwhile)."""
    while True:
        try:
            saved = _QUIETED.pop()
        except IndexError:
            return
        with contextlib.suppress(OSError):
            os.dup2(saved, 2)
            os.close(saved)


# ---- the main thread: Ctrl-C and SIGTERM -------------------------------------------------


class _Ended(BaseException):
    """A signal that ends the run, raised in the main thread by ``_on_signal``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_cli(app: Callable[[], object], verbose: bool = False) -> int:
    """Run the app in a worker thread so that Ctrl-C and SIGTERM are answered at once.

    A polars query runs in native code and only returns to Python when done;
    the main thread stays free to take the signal and end the process with
    130 (Ctrl-C) or 143 (SIGTERM), as a shell reports a process its signal
    ended. Outputs are only ever renamed into place complete, so nothing
    half-written is left under a final name.
    """
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(_outcome(app, verbose)), daemon=True)
    previous = _take_signals()
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
    except _Ended as ended:
        _end_now(ended.signum)
    except KeyboardInterrupt:  # SIGINT not ours to handle (not the main thread)
        _end_now(signal.SIGINT)
    finally:
        _ENDING.set()  # the run is over: a signal now must not raise past this point
        _give_back(previous)
    return codes[0] if codes else UNEXPECTED


def _take_signals() -> dict[int, Any]:
    """Answer SIGINT and SIGTERM alike; one ignored when we started stays ignored
    (``nohup``, a shell's background job), as does any outside the main thread."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    _ENDING.clear()
    for signum in _ENDINGS:
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN:
            previous[signum] = handler if handler is not None else signal.SIG_DFL
            signal.signal(signum, _on_signal)
    return previous


def _give_back(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _ENDING.is_set():
        return  # the first one is being answered; the cleanup is not cut short
    _ENDING.set()
    raise _Ended(signum)


def _end_now(signum: int) -> NoReturn:
    """Clear the display, remove what the run was writing, say what is published, and
    end the process at once (the worker may be deep in a polars query)."""
    _ENDING.set()
    how, code = _ENDINGS[signal.Signals(signum)]
    _unquiet()
    clear_display()
    for hook in ON_INTERRUPT:
        hook()
    line = how + _published_said()
    if not err.is_terminal:
        line = f"{log_stamp()} tierscore {line}"
    err.print(line, markup=False)
    sys.stderr.flush()
    os._exit(code)


def _published_said() -> str:
    """What an ended run leaves published, said only of what is known. After the switch
    of ``current`` the run is published, whatever was cut short after it."""
    state = published_into()
    if state is None:
        return " while publishing: the output folder shows the previous run or this one"
    done = [str(path) for path, published in state.items() if published]
    if done:
        return f": this run was published to {', '.join(done)}"
    return ": nothing was published" if state else ""


# ---- stdout ------------------------------------------------------------------------------


def is_broken_pipe(exc: OSError) -> bool:
    return (
        isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE or ("Broken pipe" in str(exc))
    )


def stdout_closed() -> None:
    """The reader of our stdout went away (``| head``): stop writing, quietly."""
    _silence_stdout()


def _silence_stdout() -> None:
    """After the reader of a pipe went away, keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
