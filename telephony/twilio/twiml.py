"""TwiML that bridges a Twilio call into an agent over Media Streams; used by inbound and outbound calls."""

from urllib.parse import urlencode

from twilio.twiml.voice_response import Connect, VoiceResponse

from calls.models import Call
from calls.services import call_stream_token_issue
from wordcab_admin.kernel.public_url import public_url

MEDIA_STREAM_PATH = "/v1/media/twilio"


def media_stream_url(*, agent_id: str) -> str:
    """wss://… when PUBLIC_BASE_URL is https, ws://… when it is http."""
    return public_url(f"{MEDIA_STREAM_PATH}?{urlencode({'agent_id': agent_id})}", scheme="ws")


def stream_twiml(*, agent_id: str, call_id: str, direction: str, stream_token: str) -> str:
    """`<Response><Connect><Stream url=…>` with our call id and the stream's single-use token carried as
    custom parameters (Twilio hands them back in the stream's `start` message)."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=media_stream_url(agent_id=agent_id))
    stream.parameter(name="call_id", value=call_id)
    stream.parameter(name="agent_id", value=agent_id)
    stream.parameter(name="direction", value=direction)
    stream.parameter(name="stream_token", value=stream_token)
    response.append(connect)
    return str(response)


def call_stream_twiml(call: Call) -> str:
    """The TwiML that connects `call` to its agent's media stream, with a fresh single-use stream token
    (the URL's signature never changes, so it alone cannot tell Twilio's stream for this call from a
    replay). Rendered once per answer we give Twilio: the latest token is the one that opens the stream."""
    return stream_twiml(
        agent_id=call.agent.public_id,
        call_id=call.public_id,
        direction=call.direction,
        stream_token=call_stream_token_issue(call=call),
    )


def polite_hangup_twiml(message: str) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)
