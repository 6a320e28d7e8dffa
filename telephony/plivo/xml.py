"""Plivo XML that bridges a call into its agent over Plivo's bidirectional audio stream, and the polite
refusal for a call nobody can take.

`<Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000"
extraHeaders="callId=…,streamToken=…">wss://…/v1/media/plivo?agent_id=…</Stream>`: Plivo opens the websocket
and hands `extraHeaders` back in the stream's `start`; keepCallAlive holds the call for as long as the
stream lives. Plivo allows only letters and digits in extraHeaders' values, so our call id and the
single-use stream token (which hold `_` and `-`) travel hex-encoded."""

from __future__ import annotations

from urllib.parse import urlencode

from plivo import plivoxml

from calls.models import Call
from calls.services import call_stream_token_issue
from wordcab_admin.kernel.public_url import public_url

MEDIA_STREAM_PATH = "/v1/media/plivo"
STREAM_CONTENT_TYPE = "audio/x-mulaw;rate=8000"
CALL_ID_HEADER = "callId"
STREAM_TOKEN_HEADER = "streamToken"  # noqa: S105 -- a header name, not a secret


def media_stream_url(*, agent_id: str) -> str:
    """wss://… when PUBLIC_BASE_URL is https, ws://… when it is http."""
    return public_url(f"{MEDIA_STREAM_PATH}?{urlencode({'agent_id': agent_id})}", scheme="ws")


def header_value_encode(value: str) -> str:
    return value.encode().hex()


def header_value_decode(value: str) -> str:
    """The inverse of header_value_encode; "" for anything that is not such a value."""
    try:
        return bytes.fromhex(value).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


def extra_headers(*, call_id: str, stream_token: str) -> str:
    return ",".join(
        [
            f"{CALL_ID_HEADER}={header_value_encode(call_id)}",
            f"{STREAM_TOKEN_HEADER}={header_value_encode(stream_token)}",
        ]
    )


def stream_xml(*, agent_id: str, call_id: str, stream_token: str) -> str:
    response = plivoxml.ResponseElement()
    response.add(
        plivoxml.StreamElement(
            media_stream_url(agent_id=agent_id),
            bidirectional=True,
            audioTrack="inbound",
            keepCallAlive=True,
            contentType=STREAM_CONTENT_TYPE,
            extraHeaders=extra_headers(call_id=call_id, stream_token=stream_token),
        )
    )
    return response.to_string(pretty=False)


def call_stream_xml(call: Call) -> str:
    """The XML that connects `call` to its agent's media stream, with a fresh single-use stream token: only
    the latest answer we gave Plivo can open the stream (a retried answer webhook replaces the token)."""
    return stream_xml(
        agent_id=call.agent.public_id,
        call_id=call.public_id,
        stream_token=call_stream_token_issue(call=call),
    )


def polite_hangup_xml(message: str) -> str:
    response = plivoxml.ResponseElement()
    response.add(plivoxml.SpeakElement(message))
    response.add(plivoxml.HangupElement())
    return response.to_string(pretty=False)
