"""The one place where failures become exit codes and one-line messages.

Codes: 0 scored and published; 1 unexpected; 2 usage or configuration;
3 too many rejected rows; 130 interrupted. Messages never print whole input
rows, and tracebacks (only with --verbose) never show local variables.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import traceback
from collections.abc import Callable

from rich.console import Console

from tierscore.scoring.errors import ConfigError, RejectLimitError, TierscoreError

OK, UNEXPECTED, CONFIG, REJECTS, INTERRUPTED = 0, 1, 2, 3, 130

EXIT_CODES: dict[type[TierscoreError], int] = {
    ConfigError: CONFIG,
    RejectLimitError: REJECTS,
}

# Called on Ctrl-C before the process ends at once (os._exit runs no finally block):
# each removes what the run was writing.
ON_INTERRUPT: list[Callable[[], None]] = []

# Logs (stderr not a terminal) get wide lines rather than tables wrapped at 80 columns.
# Messages are never wrapped (soft_wrap), so a log line stays one line.
err = Console(
    stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 200
)


def exit_code_for(exc: BaseException) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return UNEXPECTED


def _outcome(app: Callable[[], object], verbose: bool) -> int:
    """Run the typer app and translate whatever ends it into an exit code.

    Typer itself answers usage errors (2) and ``--help`` (0); everything
    tierscore raises on purpose is mapped here, once.
    """
    try:
        app()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (OK if exc.code is None else UNEXPECTED)
    except KeyboardInterrupt:
        return INTERRUPTED
    except TierscoreError as exc:
        err.print(f"error: {exc}", markup=False)
        return exit_code_for(exc)
    except Exception as exc:  # the last resort: one line, traceback on request
        if verbose:
            traceback.print_exc()
        err.print(f"unexpected error ({type(exc).__name__}): {_short(exc)}", markup=False)
        if not verbose:
            err.print("run again with --verbose for the traceback")
        return UNEXPECTED
    return OK


def _short(exc: BaseException, limit: int = 200) -> str:
    """An unexpected error's first line, cut: a polars error can quote whole input rows
    (customer data, which a cron log would keep); --verbose shows it all."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_cli(app: Callable[[], object], verbose: bool = False) -> int:
    """Run the app in a worker thread so that Ctrl-C is answered at once.

    A polars query runs in native code and only returns to Python when done;
    the main thread stays free to take the signal and end the process with
    130. Outputs are only ever renamed into place complete, so nothing
    half-written is left under a final name.
    """
    codes: list[int] = []
    worker = threading.Thread(target=lambda: codes.append(_outcome(app, verbose)), daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.1)
    except KeyboardInterrupt:
        for hook in ON_INTERRUPT:
            hook()
        err.print("interrupted: nothing was published")
        sys.stderr.flush()
        os._exit(INTERRUPTED)
    return codes[0] if codes else UNEXPECTED


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
