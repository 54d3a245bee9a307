"""Errors a user can act on.

Every exception the CLI shows without a traceback derives from NewsletterError.
Its message is one line that names the file, line or field and what was expected;
``hint`` says what to do next.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """A problem the user can fix; shown as one line, no traceback."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message


class InputError(NewsletterError):
    """A file given by the user cannot be read or has the wrong shape."""

    def __init__(
        self,
        source: str,
        message: str,
        *,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = source
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}", hint=hint)
        self.source = source
        self.line = line
        self.field = field


class ConfigError(NewsletterError):
    """newsletter.toml or an environment variable is missing or wrong."""


class StoreError(NewsletterError):
    """The database refused an operation (unknown list, unknown issue, ...)."""
