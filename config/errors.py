"""The project's exceptions: configuration errors, and the transient/permanent
tree every adapter translates foreign exceptions into."""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A configuration file is missing or invalid.

    ``str(error)`` is the single line a person needs: ``FILE:LINE: problem``.
    """

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


class TransientError(Exception):
    """Worth retrying later: a server is down, a connection dropped, a 4xx reply."""


class PermanentError(Exception):
    """Retrying will not help: a 5xx reply, an invalid address. A person must look."""


class ClaimLostError(Exception):
    """A delivery attempt found at its point of no return that its claim on
    the outbox row was released (its process was taken for dead) and the row
    may be another attempt's: it stops before anything is sent."""


class OutcomeUnknownError(PermanentError):
    """A request may or may not have taken effect (an answer lost after the
    request was sent). Not retried automatically: repeating it could send an
    SMS twice. A person, or a reconciliation against the provider, decides."""
