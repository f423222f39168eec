"""The few failures a run can end with.

Each class stands for one way an operator must react (fix the command or
configuration, fix the data, investigate a bug), so the CLI can map each to
one exit code in one place instead of guessing from messages.
"""

from __future__ import annotations


class TierscoreError(Exception):
    """Base of every failure tierscore reports on purpose."""


class ConfigError(TierscoreError):
    """Usage or configuration is wrong: a bad rule file, mapping, window or path.

    Carries the file and key so the operator knows where to look without a traceback.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        where = ""
        if file and key:
            where = f"{file}: {key}: "
        elif file:
            where = f"{file}: "
        elif key:
            where = f"{key}: "
        super().__init__(f"{where}{message}")


class InputError(ConfigError):
    """An input cannot be read at all (missing file, missing column)."""


class RejectLimitError(TierscoreError):
    """Too many rows were rejected to trust the scores; nothing is published."""
