"""Errors fit for users: one sentence each. Only the edges (CLI, UI) translate them."""

from __future__ import annotations


class DrafterError(Exception):
    """Base error; ``str(err)`` is one clear sentence for the user."""

    exit_code = 2

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def __str__(self) -> str:
        return self.message


class InputError(DrafterError):
    """The text or file given cannot be processed (empty, too long, binary, not UTF-8)."""


class IndexMissingError(DrafterError):
    """No usable index: build it with `drafter index`."""


class IndexBusyError(DrafterError):
    """Another process is writing the index."""


class RulePackError(DrafterError):
    """A rule pack file is malformed; the message names the file and the rule."""


class DatasetError(DrafterError):
    """An eval dataset line is malformed; the message names the file and line."""


class LLMError(DrafterError):
    """The model endpoint failed or answered something unusable."""

    def __init__(
        self, message: str, *, cause: str = "", attempts: int = 0, last_output: str = ""
    ) -> None:
        super().__init__(message, cause=cause, attempts=attempts)
        self.cause = cause
        self.attempts = attempts
        self.last_output = last_output


class NotConfiguredError(DrafterError):
    """A feature was asked for whose configuration is missing (for example no LLM)."""


class SettingsError(DrafterError):
    """An environment variable has a bad value; the message names the variable."""


class StateError(DrafterError):
    """The state folder (DRAFTER_HOME) cannot be created or written."""


class FeedbackStoreError(DrafterError):
    """The feedback store cannot be read or written (read-only, not a database, unreachable)."""
