"""Base errors of the platform. Each carries an i18n message key, optional parameters and field.

Pages show ``error.message(locale)``; no traceback ever reaches a user.
"""

from __future__ import annotations

from typing import Any


class JinfuError(Exception):
    """Root of every error a user may see; ``key`` is a message-catalog id."""

    key = "error.generic"

    def __init__(self, key: str | None = None, *, field: str | None = None, **params: Any) -> None:
        self.key = key or self.key
        self.field = field
        self.params = params
        super().__init__(f"{self.key} {params}" if params else self.key)

    def message(self, locale: str | None = None) -> str:
        """The error in the user's language."""
        from core.i18n import translate

        return translate(self.key, locale, **self.params)


class NotFoundError(JinfuError):
    key = "error.not_found"


class ForbiddenError(JinfuError):
    key = "error.forbidden"


class InvalidError(JinfuError):
    key = "error.invalid"


class ConflictError(JinfuError):
    key = "error.conflict"


class StaleVersionError(ConflictError):
    """Someone else changed the row since it was read (optimistic locking)."""

    key = "error.stale_version"


class DuplicateError(ConflictError):
    key = "error.duplicate"


class DatabaseNotReadyError(JinfuError):
    """The database is empty or behind the migrations; the message says what to run."""

    key = "error.database_not_ready"


class ValidationErrors(InvalidError):
    """Several field errors collected into one, so a form can show them all at once."""

    key = "error.several_invalid"

    def __init__(self, errors: list[JinfuError]) -> None:
        self.errors = errors
        super().__init__(count=len(errors))

    def messages(self, locale: str | None = None) -> dict[str, str]:
        return {e.field or "_": e.message(locale) for e in self.errors}
