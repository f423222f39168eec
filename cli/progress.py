"""Stage progress on stderr: a live spinner on a terminal, plain log lines under cron.

On a terminal the spinner line names the running stage, the run's elapsed time and
the rows read per input once they are known; a line per finished stage stays on
screen. However the run ends (an error, Ctrl-C, SIGTERM), the spinner line is
cleared first (``errors.ON_END``), so the message and then the shell prompt start
on lines of their own. Under cron each finished stage is one line that starts with
an ISO 8601 timestamp with its UTC offset.
"""

from __future__ import annotations

import threading
import time

from rich.markup import escape
from rich.status import Status
from rich.text import Text

from .errors import ON_END, err, log_stamp

_RUNNING: set[LiveStages] = set()  # spinners on screen, for ``clear``


class LiveStages:
    """A spinner naming the running stage; a line per finished stage stays on screen."""

    def __init__(self) -> None:
        self._status: Status | None = None
        self._clock = time.monotonic()
        self._stage = self._detail = ""
        self._rows: dict[str, int] = {}
        self._said: dict[str, int] = {}  # rows already on a finished stage's line
        self._lock = threading.Lock()
        self._closed = False

    def started(self, stage: str, detail: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._stage, self._detail = stage, detail
            self._status = Status(_Line(self), console=err)
            self._status.start()
            _RUNNING.add(self)

    def rows(self, counts: dict[str, int]) -> None:
        """Rows read per input, told by the run (from another thread than the spinner's)."""
        self._rows = {**self._rows, **counts}

    def warning(self, text: str) -> None:
        """A line that stays above the spinner: something the run passed over (a file of
        an unknown type in an input's folder)."""
        with self._lock:
            if not self._closed:
                err.print(f"[yellow]warning:[/yellow] {escape(text)}")

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._stop()
            told = _rows_said(self._rows, self._said)
            self._said = dict(self._rows)
            line = " · ".join(part for part in (detail, told) if part)
            err.print(f"[green]✓[/green] {stage} {seconds:.1f}s {escape(line)}".rstrip())

    def close(self) -> None:
        """The run ends in a message: clear the spinner line, now and for good (the
        worker thread may still be running and would start the next stage's)."""
        if not self._lock.acquire(timeout=1):
            return
        try:
            self._closed = True
            self._stop()
        finally:
            self._lock.release()

    def line(self) -> Text:
        """The spinner's text, rendered at every refresh so that the time moves: one
        line, what matters first (a long path is what an 80-column terminal cuts)."""
        parts = [f"{self._stage} {_clock(time.monotonic() - self._clock)}"]
        if self._rows:
            parts.append(f"rows read: {_counts(self._rows)}")
        if self._detail:
            parts.append(self._detail)
        return Text(" · ".join(parts), no_wrap=True, overflow="ellipsis")

    def _stop(self) -> None:
        """Transient: rich erases the spinner line and shows the cursor again."""
        if self._status is not None:
            self._status.stop()
            self._status = None
        _RUNNING.discard(self)


class _Line:
    """A renderable asked for its text at each refresh (a plain string is fixed)."""

    def __init__(self, stages: LiveStages) -> None:
        self.stages = stages

    def __rich__(self) -> Text:
        return self.stages.line()


class LogStages:
    """One timestamped line per finished stage, for logs that are not a terminal."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._said: dict[str, int] = {}

    def started(self, stage: str, detail: str) -> None:
        pass

    def rows(self, counts: dict[str, int]) -> None:
        self._rows = {**self._rows, **counts}

    def warning(self, text: str) -> None:
        err.print(f"{log_stamp()} tierscore warning: {text}", markup=False)

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        told = _rows_said(self._rows, self._said)
        self._said = dict(self._rows)
        line = " · ".join(part for part in (detail, told) if part)
        stamp = log_stamp()
        err.print(f"{stamp} tierscore {stage} done in {seconds:.2f}s {line}".rstrip(), markup=False)


def observer(quiet: bool) -> LiveStages | LogStages | None:
    if quiet:
        return None
    return LiveStages() if err.is_terminal else LogStages()


def clear() -> None:
    for stages in list(_RUNNING):
        stages.close()


ON_END.append(clear)


def _rows_said(rows: dict[str, int], said: dict[str, int]) -> str:
    """Rows read, on the line of the stage that learnt them (or learnt other counts)."""
    return f"rows read: {_counts(rows)}" if rows and rows != said else ""


def _counts(rows: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in rows.items())


def _clock(seconds: float) -> str:
    """Elapsed time as a clock reads it: 0:07, 12:30, 1:02:03."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
