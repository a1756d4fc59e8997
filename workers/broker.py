"""The one place that builds the dramatiq broker. Nothing builds one at import."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware, default_middleware

from service.queues import NAMESPACE

log = logging.getLogger(__name__)
DeadHandler = Callable[[str, tuple[Any, ...], BaseException], None]
# A citizen's receipt waits on the ingest queue: an idle worker looks at it
# every SYNPUNKT_WORKER_POLL_MS. What the other queues hold is due seconds to
# minutes after it is sent (retries, the sweep's rows, digests, and the delay
# queues that hand a delayed message on when it is due), so they are looked at
# at most this often: three queues polled at 10 Hz were half of an idle
# worker's CPU, and more than half of dramatiq's share under load
# (benchmarks/RESULTS.md, 2026-12-06, second session). A message they hold
# is handed on, and one done is acknowledged, up to that much later.
QUIET_POLL_MS = 1000
QUICK_QUEUES = frozenset({"ingest"})


class DeadLetters(Middleware):
    """When a message has failed for good (retries exhausted, or a permanent
    error), hand it to ``on_dead`` so the row it names is marked and shown to a
    person. dramatiq keeps the message in its dead-letter queue as well."""

    def __init__(self, on_dead: DeadHandler) -> None:
        self.on_dead = on_dead

    def after_process_message(self, broker: dramatiq.Broker, message: Any, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        if exception is None or not message.failed:
            return
        try:
            self.on_dead(message.actor_name, tuple(message.args), exception)
        except Exception as exc:  # the database may be the reason; the sweep retries
            log.error("dead letter not recorded actor=%s message_id=%s error=%s",
                      message.actor_name, message.message_id, type(exc).__name__)


class PacedBroker(RedisBroker):
    """dramatiq's Redis broker, with the queues not in QUICK_QUEUES polled at
    most every QUIET_POLL_MS when they are empty (a consumer that finds
    messages fetches again at once, whatever its pace)."""

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Any:
        if queue_name not in QUICK_QUEUES:
            timeout = max(timeout, QUIET_POLL_MS)
        return super().consume(queue_name, prefetch, timeout)


def make_broker(redis_url: str, on_dead: DeadHandler) -> RedisBroker:
    middleware = [m() for m in default_middleware]
    middleware.append(DeadLetters(on_dead))  # after Retries: sees message.failed
    broker: RedisBroker = PacedBroker(  # type: ignore[no-untyped-call]
        url=redis_url, middleware=middleware, namespace=NAMESPACE)
    return broker
