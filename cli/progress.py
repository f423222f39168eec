"""Stage progress on stderr: a live spinner on a terminal, plain log lines under cron."""

from __future__ import annotations

from datetime import datetime

from rich.status import Status

from .errors import err


class LiveStages:
    """A spinner naming the running stage; a line per finished stage stays on screen."""

    def __init__(self) -> None:
        self._status: Status | None = None

    def started(self, stage: str, detail: str) -> None:
        self._status = err.status(f"{stage}: {detail}")
        self._status.start()

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        if self._status is not None:
            self._status.stop()
        err.print(f"[green]✓[/green] {stage} {seconds:.1f}s {detail}".rstrip())


class LogStages:
    """One timestamped line per stage, for logs that are not a terminal."""

    def started(self, stage: str, detail: str) -> None:
        pass

    def finished(self, stage: str, seconds: float, detail: str) -> None:
        stamp = datetime.now().isoformat(timespec="seconds")
        err.print(
            f"{stamp} tierscore {stage} done in {seconds:.2f}s {detail}".rstrip(), markup=False
        )


def observer(quiet: bool) -> LiveStages | LogStages | None:
    if quiet:
        return None
    return LiveStages() if err.is_terminal else LogStages()
