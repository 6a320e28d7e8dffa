"""A local fake of Telnyx's Call Control API (the parts we use), served on 127.0.0.1 for the real telnyx SDK,
and Telnyx's side of webhook signing: an Ed25519 key pair made for the test, its public key as Telnyx's
portal shows it (base64), the private one signing `f"{timestamp}|{body}"` as Telnyx does."""

from __future__ import annotations

import base64
import re
import time
import uuid
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.telephony.fake_carrier import Answer, FakeCarrier


class FakeTelnyx(FakeCarrier):
    """`POST /v2/calls` dials (200 with the new call); `POST /v2/calls/{id}/actions/{action}` is a command."""

    api_root = "/v2"  # as Telnyx's own (https://api.telnyx.com/v2): the SDK's base_url ends in /v2

    def dials(self) -> list[dict]:
        return [r for r in self.requests if r["path"] == "/v2/calls"]

    def commands(self, action: str) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith(f"/actions/{action}")]

    def answer(self, request: dict) -> Answer:
        if request["path"] == "/v2/calls":
            return 200, {"data": dial_answer()}
        if re.fullmatch(r"/v2/calls/[^/]+/actions/\w+", request["path"]):
            return 200, {"data": {"result": "ok"}}
        return 404, {"errors": [{"code": "10005", "title": "Resource not found"}]}


def dial_answer() -> dict:
    return {
        "call_control_id": "v3:" + uuid.uuid4().hex,
        "call_leg_id": str(uuid.uuid4()),
        "call_session_id": str(uuid.uuid4()),
        "is_alive": False,
        "record_type": "call",
    }


def telnyx_error(code: str, title: str, detail: str = "") -> dict:
    return {"errors": [{"code": code, "title": title, "detail": detail or title}]}


class TelnyxSigner:
    """Signs webhook bodies as Telnyx does, with a key pair of its own."""

    def __init__(self):
        self.private_key = Ed25519PrivateKey.generate()
        raw = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key_b64 = base64.b64encode(raw).decode()

    def headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """The headers Telnyx sends with `body`, as Django's test client takes them."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = self.private_key.sign(stamp.encode() + b"|" + body)
        return {
            "HTTP_TELNYX_SIGNATURE_ED25519": base64.b64encode(signature).decode(),
            "HTTP_TELNYX_TIMESTAMP": stamp,
        }


def telnyx_event(
    event_type: str, payload: dict, *, event_id: str | None = None, occurred_at: str = ""
) -> dict:
    """A Call Control webhook body: `{"data": {"event_type", "id", "occurred_at", "payload"}, "meta"}`."""
    return {
        "data": {
            "event_type": event_type,
            "id": event_id or str(uuid.uuid4()),
            "occurred_at": occurred_at or datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "payload": payload,
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://calls.example.com/v1/telnyx/webhook"},
    }
