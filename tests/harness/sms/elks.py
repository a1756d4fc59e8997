"""46elks on loopback, as its documentation (https://46elks.com/docs) describes it.

* ``{api_url}/sms`` (GET: history with ``to``, ``limit``, ``start``, ``end``, paged by
  ``next``; POST: send), ``{api_url}/sms/{id}``.
* Incoming-SMS webhooks are form posts with ``direction``, ``id``, ``from``, ``to``,
  ``message``, ``created``, retried until the receiver answers 200–204; a non-empty
  answer body is sent back to the citizen as an ``outgoing-reply`` SMS.
* A send's ``whendelivered`` URL gets a delivery report: ``id``, ``status``, ``delivered``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial
from typing import ClassVar
from urllib.parse import parse_qsl

from tests.harness.sms.base import (
    ALPHANUMERIC_SENDER,
    E164,
    Answer,
    Direction,
    GatewayEmulator,
    Sms,
    json_answer,
    sms_segments,
    text_answer,
)

ELKS_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
ELKS_DELIVERED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ELKS_COST_PER_PART = 3500


def elks_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(ELKS_TIME_FORMAT)


def _parse_elks_time(value: str) -> datetime:
    text = value.strip().removesuffix("Z")
    for fmt in (ELKS_TIME_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(value)


class ElksEmulator(GatewayEmulator):
    """46elks on loopback, per its public documentation; see the module doc."""

    provider = "46elks"
    api_root = "a1"
    id_prefix = "s"
    directions: ClassVar[dict[Direction, str]] = {
        "incoming": "incoming", "outgoing": "outgoing", "reply": "outgoing-reply"}
    outgoing_status = "created"

    # -- webhooks --------------------------------------------------------------------------

    def _webhook_tries(self) -> int:
        return self.webhook_attempts

    def _webhook_accepted(self, status: int) -> bool:
        return 200 <= status <= 204

    def _send_incoming(self, sms: Sms, url: str) -> str:
        fields = [("direction", "incoming"), ("id", sms.id), ("from", sms.sender),
                  ("to", sms.to), ("message", sms.message),
                  ("created", elks_time(sms.created))]
        answer = self._attempt_loop(sms.id, partial(self._post, url, fields))
        return answer.strip() if answer else ""

    def _send_report(self, sms: Sms, url: str, delivered: datetime) -> None:
        fields = [("id", sms.id), ("status", "delivered"),
                  ("delivered", delivered.strftime(ELKS_DELIVERED_FORMAT))]
        self._attempt_loop(sms.id, partial(self._post, url, fields))

    # -- the API ---------------------------------------------------------------------------

    def _unauthorized(self) -> Answer:
        return text_answer(401, "API access requires Basic HTTP authentication")

    def _route(self, method: str, path: str, raw_query: str, form: dict[str, str]) -> Answer:
        if path == "/a1/sms" and method == "GET":
            return self._history(dict(parse_qsl(raw_query, keep_blank_values=True)))
        if path == "/a1/sms" and method == "POST":
            return self._send(form)
        match = re.fullmatch(r"/a1/sms/([^/]+)", path)
        if match and method == "GET":
            item = self._render_one(match.group(1), self._item)
            if item is not None:
                return json_answer(200, item)
            return text_answer(404, "Not found")
        return text_answer(404, "Not found")

    def _item(self, sms: Sms) -> dict[str, object]:
        item: dict[str, object] = {
            "id": sms.id, "direction": self.directions[sms.direction], "from": sms.sender,
            "to": sms.to, "created": elks_time(sms.created), "message": sms.message,
            "cost": ELKS_COST_PER_PART * sms_segments(sms.message)}
        if sms.direction != "incoming":
            item["status"] = sms.status
            if sms.delivered is not None:
                item["delivered"] = sms.delivered.strftime(ELKS_DELIVERED_FORMAT)
        return item

    def _history(self, query: dict[str, str]) -> Answer:
        try:
            limit = min(100, int(query.get("limit") or 100))
            start = _parse_elks_time(query["start"]) if query.get("start") else None
            end = _parse_elks_time(query["end"]) if query.get("end") else None
        except ValueError:
            return text_answer(400, "Invalid limit, start or end")
        if limit < 1:
            return text_answer(400, "Invalid limit")
        to = query.get("to")
        with self._lock:
            selected = [
                sms for sms in self._messages
                if (to is None or sms.to == to)
                and (start is None or sms.created < start)
                and (end is None or sms.created > end)]
            selected.sort(key=lambda m: (m.created, m.seq), reverse=True)
            page = selected[:limit]
            data: dict[str, object] = {"data": [self._item(sms) for sms in page]}
            if len(selected) > limit:
                data["next"] = elks_time(page[-1].created)
        return json_answer(200, data)

    def _send(self, form: dict[str, str]) -> Answer:
        for key in ("from", "to", "message"):
            if key not in form:
                return text_answer(400, f"Missing key {key}")
        sender, to, message = form["from"], form["to"], form["message"]
        if not E164.match(to):
            return text_answer(400, "Invalid to")
        if not (E164.match(sender) or ALPHANUMERIC_SENDER.match(sender)):
            return text_answer(400, "Invalid from")
        if not message:
            return text_answer(400, "Invalid message")
        callback = form.get("whendelivered") or None
        with self._lock:
            sms = self._store("outgoing", sender, to, message, None, status_url=callback)
            parts = sms_segments(message)
            answer = {"status": "created", "direction": "outgoing", "from": sender, "to": to,
                      "message": message, "created": elks_time(sms.created), "id": sms.id,
                      "parts": parts, "cost": ELKS_COST_PER_PART * parts}
            if callback is not None:
                self._pending += 1
        if callback is not None:
            self._spawn(self._deliver_report, sms, callback)
        return json_answer(200, answer)
