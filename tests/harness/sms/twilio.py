"""Twilio on loopback, as its documentation (Message resource, webhook security) describes it.

* ``{api_url}/Accounts/{sid}/Messages.json`` (GET list with ``To``, ``From``,
  ``DateSent``/``DateSent>``/``DateSent<``, ``PageSize``, ``Page``, ``PageToken``; POST
  create), ``.../Messages/{sid}.json``.
* Webhooks carry an ``X-Twilio-Signature`` (see :func:`twilio_signature`) and are tried
  once only. A TwiML answer ``<Response><Message>text</Message></Response>`` becomes an
  ``outbound-reply``.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode

from tests.harness.sms.base import (
    ALPHANUMERIC_SENDER,
    E164,
    Answer,
    Direction,
    GatewayEmulator,
    Sms,
    json_answer,
    sms_segments,
    split_userinfo,
)

TWILIO_API_VERSION = "2010-04-01"


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    """Twilio's ``X-Twilio-Signature``: base64(HMAC-SHA1(auth token, URL + every POST
    parameter name immediately followed by its value, sorted by name))."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment.astimezone(UTC).replace(microsecond=0))


def _not_found() -> Answer:
    return json_answer(404, {"code": 20404, "message": "The requested resource was not found",
                             "status": 404})


class TwilioEmulator(GatewayEmulator):
    """Twilio on loopback, per its public documentation; see the module doc."""

    provider = "twilio"
    api_root = TWILIO_API_VERSION
    id_prefix = "SM"
    directions: ClassVar[dict[Direction, str]] = {
        "incoming": "inbound", "outgoing": "outbound-api", "reply": "outbound-reply"}
    outgoing_status = "queued"

    # -- webhooks --------------------------------------------------------------------------

    def _webhook_tries(self) -> int:
        return 1

    def _webhook_accepted(self, status: int) -> bool:
        return 200 <= status < 300

    def _send_incoming(self, sms: Sms, url: str) -> str:
        fields = [("MessageSid", sms.id), ("SmsSid", sms.id), ("SmsMessageSid", sms.id),
                  ("AccountSid", self.username), ("From", sms.sender), ("To", sms.to),
                  ("Body", sms.message), ("NumMedia", "0"),
                  ("NumSegments", str(sms_segments(sms.message))),
                  ("SmsStatus", "received"), ("ApiVersion", TWILIO_API_VERSION)]
        answer = self._attempt_loop(sms.id, partial(self._post_signed, url, fields))
        return _twiml_reply(answer or "")

    def _send_report(self, sms: Sms, url: str, delivered: datetime) -> None:
        fields = [("MessageSid", sms.id), ("MessageStatus", "delivered"),
                  ("AccountSid", self.username), ("From", sms.sender), ("To", sms.to),
                  ("SmsSid", sms.id), ("SmsStatus", "delivered")]
        self._attempt_loop(sms.id, partial(self._post_signed, url, fields))

    def _post_signed(self, url: str, fields: list[tuple[str, str]]) -> tuple[int, str]:
        clean, _ = split_userinfo(url)
        signature = twilio_signature(self.password, clean, dict(fields))
        return self._post(url, fields, {"X-Twilio-Signature": signature})

    # -- the API ---------------------------------------------------------------------------

    def _unauthorized(self) -> Answer:
        return json_answer(401, {"code": 20003, "message": "Authenticate",
                                 "more_info": "https://www.twilio.com/docs/errors/20003",
                                 "status": 401})

    def _base(self) -> str:
        return f"/{TWILIO_API_VERSION}/Accounts/{self.username}/Messages"

    def _route(self, method: str, path: str, raw_query: str, form: dict[str, str]) -> Answer:
        match = re.fullmatch(rf"/{TWILIO_API_VERSION}/Accounts/([^/]+)/Messages(/[^/]+)?\.json",
                             path)
        if match is None:
            return _not_found()
        if match.group(1) != self.username:
            return json_answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if match.group(2):
            if method != "GET":
                return json_answer(405, {"code": 20004, "message": "Method not allowed",
                                         "status": 405})
            resource = self._render_one(match.group(2)[1:], self._resource)
            return json_answer(200, resource) if resource is not None else _not_found()
        if method == "POST":
            return self._send(form)
        return self._list(raw_query)

    def _resource(self, sms: Sms) -> dict[str, object]:
        updated = sms.updated or sms.created
        return {
            "account_sid": self.username, "api_version": TWILIO_API_VERSION,
            "body": sms.message, "date_created": rfc2822(sms.created),
            "date_sent": rfc2822(sms.created), "date_updated": rfc2822(updated),
            "direction": self.directions[sms.direction], "error_code": None,
            "error_message": None, "from": sms.sender, "messaging_service_sid": None,
            "num_media": "0", "num_segments": str(sms_segments(sms.message)), "price": None,
            "price_unit": "USD", "sid": sms.id, "status": sms.status, "to": sms.to,
            "uri": f"{self._base()}/{sms.id}.json",
            "subresource_uris": {"media": f"{self._base()}/{sms.id}/Media.json"},
        }

    def _send(self, form: dict[str, str]) -> Answer:
        to, sender, message = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not E164.match(to):
            return json_answer(400, {"code": 21211, "message": f"The 'To' number {to} is not "
                                     "a valid phone number.", "status": 400,
                                     "more_info": "https://www.twilio.com/docs/errors/21211"})
        if not (E164.match(sender) or ALPHANUMERIC_SENDER.match(sender)):
            return json_answer(400, {"code": 21212, "message": f"The 'From' number {sender} "
                                     "is not a valid phone number, shortcode, or alphanumeric "
                                     "sender ID.", "status": 400})
        if not message:
            return json_answer(400, {"code": 21602, "message": "Message body is required.",
                                     "status": 400})
        callback = form.get("StatusCallback") or None
        with self._lock:
            sms = self._store("outgoing", sender, to, message, None, status_url=callback)
            resource = self._resource(sms)
            if callback is not None:
                self._pending += 1
        if callback is not None:
            self._spawn(self._deliver_report, sms, callback)
        return json_answer(201, resource)

    def _list(self, raw_query: str) -> Answer:
        pairs = parse_qsl(raw_query, keep_blank_values=True)
        filters: list[tuple[str, str]] = []
        page_size, page = 50, 0
        after: datetime | None = None
        before: datetime | None = None
        to: str | None = None
        sender: str | None = None
        try:
            for key, value in pairs:
                if key == "PageSize":
                    page_size = min(1000, int(value))
                elif key == "Page":
                    page = int(value)
                elif key == "PageToken":
                    continue
                elif key in ("To", "From"):
                    filters.append((key, value))
                    to, sender = (value, sender) if key == "To" else (to, value)
                elif key in ("DateSent", "DateSent>", "DateSent<"):
                    filters.append((key, value))
                    after, before = _date_bounds(key, value.lstrip("="), after, before)
                else:
                    continue
        except ValueError:
            return json_answer(400, {"code": 20001, "message": "Invalid query parameter",
                                     "status": 400})
        if page_size < 1 or page < 0:
            return json_answer(400, {"code": 20001, "message": "Invalid paging", "status": 400})
        with self._lock:
            selected = [
                sms for sms in self._messages
                if (to is None or sms.to == to) and (sender is None or sms.sender == sender)
                and (after is None or sms.created >= after)
                and (before is None or sms.created < before)]
            selected.sort(key=lambda m: (m.created, m.seq), reverse=True)
            first = page * page_size
            items = selected[first:first + page_size]
            messages = [self._resource(sms) for sms in items]
            more = len(selected) > first + page_size
            last_sid = items[-1].id if items else ""

        def uri(number: int, token: str | None = None) -> str:
            params = [*filters, ("PageSize", str(page_size)), ("Page", str(number))]
            if token is not None:
                params.append(("PageToken", token))
            return f"{self._base()}.json?{urlencode(params)}"

        return json_answer(200, {
            "messages": messages, "page": page, "page_size": page_size,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1, "PA" + last_sid) if more else None,
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "uri": uri(page), "start": first,
            "end": first + max(0, len(messages) - 1),
        })


def _parse_twilio_date(value: str) -> datetime | date:
    text = value.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _date_bounds(key: str, value: str, after: datetime | None,
                 before: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Apply one ``DateSent`` filter: (inclusive lower bound, exclusive upper bound)."""
    parsed = _parse_twilio_date(value)
    if isinstance(parsed, datetime):
        low, high = parsed, parsed + timedelta(seconds=1)
    else:
        low, high = _day_start(parsed), _day_start(parsed) + timedelta(days=1)
    if key in ("DateSent", "DateSent>"):
        after = low if after is None else max(after, low)
    if key in ("DateSent", "DateSent<"):
        before = high if before is None else min(before, high)
    return after, before


def _twiml_reply(body: str) -> str:
    """The text of the ``<Message>`` elements of a TwiML answer ('' when none)."""
    if not body.strip():
        return ""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return ""
    texts: Iterable[str] = (
        (element.findtext("Body") or element.text or "").strip()
        for element in root.iter("Message"))
    return "\n".join(text for text in texts if text)
