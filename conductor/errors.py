"""Conductor's error hierarchy: every failure a user can cause or fix is a ConductorError.

Each error carries a message written for the user and an optional hint saying what to do
next. The CLI boundary (conductor.boundary) prints them without a traceback and exits 1.
"""

from __future__ import annotations


class ConductorError(Exception):
    """A failure the user can understand and act on (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The full text shown to the user: message, then the hint if any."""
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message

    @property
    def code(self) -> str:
        """What kind of failure, for scripts: the class's name in snake case without "Error"
        (`not_found`, `config`, `ledger_conflict`), `error` for a plain one."""
        name = type(self).__name__.removesuffix("Error")
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
        return "error" if snake == "conductor" else snake

    def to_json(self) -> dict[str, object]:
        """The error as `--json` prints it (under "error")."""
        return {"message": self.message, "hint": self.hint, "code": self.code, "exit_code": self.exit_code}


class NotARepositoryError(ConductorError):
    """The working directory is not inside a git repository."""


class ConfigError(ConductorError):
    """A configuration file (policy, plan, config) is unreadable or invalid.

    `path` names the file, `line` the 1-based line when one is known, `field` the dotted
    path of the offending key.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
        details: str = "",
    ) -> None:
        where = f"{path}:{line}" if line else path
        about = f" (field '{field}')" if field else ""
        super().__init__(f"{where}: {message}{about}{details}", hint=hint)
        self.path = path
        self.line = line
        self.field = field

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "path": self.path, "line": self.line, "field": self.field}


class LedgerError(ConductorError):
    """The ledger (Conductor's state refs) cannot be read or written."""


class LedgerFormatError(LedgerError):
    """A ledger record was written in a format this Conductor does not understand."""


class LedgerConflictError(LedgerError):
    """A compare-and-swap update kept losing the race to other writers."""


class NotFoundError(ConductorError):
    """A plan, fork, step or record that was asked for does not exist."""


class HookError(ConductorError):
    """A git hook cannot be installed or removed."""
