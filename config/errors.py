"""The project's exceptions: one tree, every adapter translating foreign
exceptions into it at the edge (a socket error, an SMTP 4xx, a database
restarting: TransientError; a 5xx, a refused login: PermanentError).

    SynpunktError
    ├── TransientError        worth trying again later
    ├── PermanentError        trying again will not help; a person must look
    │   ├── ConfigError       a configuration file is wrong (FILE:LINE: problem)
    │   └── ClaimLostError    the work is another attempt's now: stop, quietly
    └── OutcomeUnknownError   it may or may not have happened: never repeat blindly

The packages' own errors (a missing model, a refused webhook, a user form
that does not validate) are PermanentErrors too.
"""

from __future__ import annotations

from pathlib import Path


class SynpunktError(Exception):
    """The root of every exception the project raises on purpose."""


class TransientError(SynpunktError):
    """Worth retrying later: a server is down, a connection dropped, a 4xx reply."""


class PermanentError(SynpunktError):
    """Retrying will not help: a 5xx reply, an invalid address. A person must look."""


class OutcomeUnknownError(SynpunktError):
    """A request may or may not have taken effect (an answer lost after the
    request was sent). Not retried automatically: repeating it could send an
    SMS twice. A person, or a reconciliation against the provider, decides."""


class ConfigError(PermanentError):
    """A configuration file is missing or invalid.

    ``str(error)`` is the single line a person needs: ``FILE:LINE: problem``.
    """

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        self.path = Path(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {problem}")


class ClaimLostError(PermanentError):
    """A delivery attempt found at its point of no return that its claim on
    the outbox row was released (its process was taken for dead) and the row
    may be another attempt's: it stops before anything is sent."""
