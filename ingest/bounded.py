"""The stdlib e-mail parser with the message's structure bounded while it is
built: a message of 100,000 parts stops at the parts limit instead of
filling memory, and one nested 1,000 levels deep stops at the depth limit
before Python's recursion limit is near. No copies of the raw bytes are made
beyond the parser's own."""

from __future__ import annotations

import email.message
import email.parser
import email.policy
from dataclasses import dataclass

from config.errors import PermanentError
from config.settings import Limits


@dataclass(frozen=True, slots=True)
class StructureRefused(PermanentError):  # noqa: N818 - a verdict, not a failure of ours
    """The message is over a structure limit; ``code`` and ``detail`` are
    the quarantine reason (the detail in Swedish, for the registrator)."""

    code: str
    detail: str


def too_large(size: int, limits: Limits) -> StructureRefused | None:
    if size <= limits.message_bytes:
        return None
    return StructureRefused("too-large", f"meddelandet är {_mb(size)} stort; gränsen är "
                            f"{_mb(limits.message_bytes)} (SYNPUNKT_LIMIT_MESSAGE_BYTES)")


def parse_bounded(raw: bytes, limits: Limits) -> email.message.Message:
    """The message tree of ``raw``; raises StructureRefused over a limit."""
    counter = _Counter(limits)
    parser = email.parser.BytesFeedParser(_factory=counter.new_part,
                                          policy=email.policy.compat32)
    counter.watch(parser)
    try:
        parser.feed(raw)
        return parser.close()
    except RecursionError:  # only when SYNPUNKT_LIMIT_DEPTH is set very high
        raise StructureRefused("too-deep", "meddelandets delar är nästlade för djupt för "
                               "att kunna läsas") from None


class _Counter:
    """The parser's message factory, refusing parts over the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.created = 0
        self.parser: email.parser.BytesFeedParser | None = None

    def watch(self, parser: email.parser.BytesFeedParser) -> None:
        self.parser = parser
        self.created = 0  # the parser calls the factory once to learn its signature

    def new_part(self, **_kwargs: object) -> email.message.Message:
        self.created += 1
        # The parser's stack of open parts is its nesting depth (private, but
        # unchanged since Python 3.2; were it gone, the parts limit still holds).
        depth = len(getattr(self.parser, "_msgstack", ())) + 1
        if depth > self.limits.depth:
            raise StructureRefused("too-deep", f"meddelandets delar är nästlade mer än "
                                   f"{self.limits.depth} nivåer djupt (SYNPUNKT_LIMIT_DEPTH)")
        if self.created > self.limits.parts + 1:  # the message itself is not a part
            raise StructureRefused("too-many-parts", f"meddelandet har fler än "
                                   f"{self.limits.parts} delar (SYNPUNKT_LIMIT_PARTS)")
        return email.message.Message(policy=email.policy.compat32)


def _mb(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB".replace(".", ",")
