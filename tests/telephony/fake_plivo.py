"""A local fake of Plivo's Voice API (the parts we use), served on 127.0.0.1 for the real plivo SDK:
`POST /v1/Account/{auth_id}/Call/` (JSON body → 201 with a request_uuid), `DELETE …/Call/{call_uuid}/`
(hang up) and `DELETE …/Request/{request_uuid}/` (cancel), answered 204. And Plivo's side of its
webhooks: requests signed as Plivo signs them (with the SDK's own V3 functions), and the `<Stream>` XML
we answer with, read back."""

from __future__ import annotations

import re
import secrets
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from django.conf import settings
from django.test import Client
from plivo.utils.signature_v3 import construct_post_url, get_signature_v3

from telephony.plivo.xml import header_value_decode
from tests.telephony.fake_carrier import Answer, FakeCarrier
from wordcab_admin.kernel.public_url import public_url

CALL_PATH = re.compile(r"^/v1/Account/(?P<account>\w+)/Call/$")


class FakePlivo(FakeCarrier):
    """`POST /v1/Account/{auth_id}/Call/` creates a call (201 with its request_uuid); `DELETE` hangs up or
    cancels one (204, no body)."""

    methods = ("POST", "DELETE")

    def creates(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "POST" and CALL_PATH.match(r["path"])]

    def deletes(self) -> list[dict]:
        return [r for r in self.requests if r["method"] == "DELETE"]

    def answer(self, request: dict) -> Answer:
        if request["method"] == "POST" and CALL_PATH.match(request["path"]):
            return 201, {
                "api_id": str(uuid.uuid4()),
                "message": "call fired",
                "request_uuid": str(uuid.uuid4()),
            }
        if request["method"] == "DELETE":
            return 204, None
        return 404, {"api_id": str(uuid.uuid4()), "error": "not found"}


FORM = "application/x-www-form-urlencoded"
PLIVO_AUTH_ID = "MA" + "Z" * 18
PLIVO_AUTH_TOKEN = "plivo-test-auth-token"  # noqa: S105 -- a test value for the signature's HMAC


def plivo_sign(url: str, params: dict, nonce: str) -> str:
    """Plivo's X-Plivo-Signature-V3 of a POST to `url` with `params`, under settings.PLIVO_AUTH_TOKEN."""
    return get_signature_v3(settings.PLIVO_AUTH_TOKEN, construct_post_url(url, dict(params)), nonce).decode()


def plivo_post(path: str, params: dict, *, signature: str | None = "sign", nonce: str | None = None):
    """POST `params` to `path` as Plivo does: a form, signed for the public URL with a fresh nonce."""
    nonce = nonce or secrets.token_hex(10)
    headers = {"HTTP_X_PLIVO_SIGNATURE_V3_NONCE": nonce}
    if signature == "sign":
        headers["HTTP_X_PLIVO_SIGNATURE_V3"] = plivo_sign(public_url(path), params, nonce)
    elif signature is not None:
        headers["HTTP_X_PLIVO_SIGNATURE_V3"] = signature
    return Client(enforce_csrf_checks=True).post(path, urlencode(params), content_type=FORM, **headers)


def parse_xml(text: str | bytes) -> ET.Element:
    return ET.fromstring(text)  # noqa: S314 -- our own XML, in a test


def stream_headers(stream: ET.Element) -> dict[str, str]:
    """The `extraHeaders` of a `<Stream>`, decoded: {"callId": …, "streamToken": …}."""
    pairs = (pair.split("=", 1) for pair in stream.get("extraHeaders", "").split(","))
    return {name: header_value_decode(value) for name, value in pairs}
