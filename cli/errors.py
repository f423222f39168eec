"""The one place where failures become exit codes and one-line messages.

Codes: 0 scored and published; 1 unexpected; 2 usage or configuration;
3 too many rejected rows; 130 interrupted. Messages never print whole input
rows, and tracebacks (only with --verbose) never show local variables.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from rich.console import Console
from tierscore.scoring.errors import ConfigError, RejectLimitError, TierscoreError

OK, UNEXPECTED, CONFIG, REJECTS, INTERRUPTED = 0, 1, 2, 3, 130

EXIT_CODES: dict[type[TierscoreError], int] = {
    ConfigError: CONFIG,
    RejectLimitError: REJECTS,
}

err = Console(stderr=True, highlight=False, soft_wrap=True)


def exit_code_for(exc: BaseException) -> int:
    for kind, code in EXIT_CODES.items():
        if isinstance(exc, kind):
            return code
    return UNEXPECTED


def run_cli(app: Callable[[], object], verbose: bool = False) -> int:
    """Run the typer app and translate whatever ends it into an exit code.

    Typer itself answers usage errors (2), ``--help`` (0) and Ctrl-C (130);
    everything tierscore raises on purpose is mapped here, once.
    """
    try:
        app()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (OK if exc.code is None else UNEXPECTED)
    except KeyboardInterrupt:
        err.print("interrupted: nothing was published")
        return INTERRUPTED
    except TierscoreError as exc:
        err.print(f"error: {exc}", markup=False)
        return exit_code_for(exc)
    except Exception as exc:  # the last resort: one line, traceback on request
        if verbose:
            traceback.print_exc()
        err.print(f"unexpected error ({type(exc).__name__}): {exc}", markup=False)
        if not verbose:
            err.print("run again with --verbose for the traceback")
        return UNEXPECTED
    return OK


def stdout_closed() -> None:
    """The reader of our stdout went away (``| head``): stop writing, quietly."""
    _silence_stdout()


def _silence_stdout() -> None:
    """After the reader of a pipe went away, keep Python from complaining at exit."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
