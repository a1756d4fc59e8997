"""One rule for an unexpected error (a bug, not a server away): log its
traceback once, and nothing a citizen wrote.

An exception's message may hold what it was working on (a ValueError naming
an address, a KeyError holding a word of a mail), so the message is left
out: the log gets the exception's type and, for each exception in the chain,
where it was raised (file, line, function and that line of our code). That
is what finds the bug; the row the loop was on is named by its id."""

from __future__ import annotations

import logging
import traceback


def safe_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` and of its causes, without their messages."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        kind = type(current)
        parts.append(f"{frames}{kind.__module__}.{kind.__qualname__}")
        current = current.__cause__ or (None if current.__suppress_context__
                                        else current.__context__)
    return "\n-- which led to --\n".join(reversed(parts))


def log_unexpected(logger: logging.Logger, what: str, exc: BaseException) -> None:
    """``what`` failed unexpectedly: one ERROR record with the safe traceback."""
    logger.error("%s failed unexpectedly error=%s\nTraceback (most recent call last):\n%s",
                 what, type(exc).__name__, safe_traceback(exc))
