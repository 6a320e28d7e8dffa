"""TwiML that bridges a Twilio call into an agent over Media Streams; used by inbound and outbound calls."""

from urllib.parse import urlencode

from twilio.twiml.voice_response import Connect, VoiceResponse

from wordcab_admin.kernel.public_url import public_url

MEDIA_STREAM_PATH = "/v1/media/twilio"


def media_stream_url(*, agent_id: str) -> str:
    """wss://… when PUBLIC_BASE_URL is https, ws://… when it is http."""
    return public_url(f"{MEDIA_STREAM_PATH}?{urlencode({'agent_id': agent_id})}", scheme="ws")


def stream_twiml(*, agent_id: str, call_id: str, direction: str) -> str:
    """`<Response><Connect><Stream url=…>` with our call id carried as custom parameters."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=media_stream_url(agent_id=agent_id))
    stream.parameter(name="call_id", value=call_id)
    stream.parameter(name="agent_id", value=agent_id)
    stream.parameter(name="direction", value=direction)
    response.append(connect)
    return str(response)


def polite_hangup_twiml(message: str) -> str:
    response = VoiceResponse()
    response.say(message)
    response.hangup()
    return str(response)
