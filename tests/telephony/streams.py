"""What Twilio hands back in a media stream's `start` as `customParameters`: the `<Parameter>`s of the TwiML
we gave it for the call. Tests and the media benchmark open streams with these, as Twilio would."""

import xml.etree.ElementTree as ET

from calls.models import Call
from telephony.twilio.twiml import call_stream_twiml


def twiml_parameters(twiml: str) -> dict[str, str]:
    """The custom parameters of the `<Connect><Stream>` in `twiml`."""
    root = ET.fromstring(twiml)  # noqa: S314 -- our own TwiML
    return {p.get("name"): p.get("value") for p in root.findall("./Connect/Stream/Parameter")}


def stream_parameters(call: Call) -> dict[str, str]:
    """The TwiML the product renders for `call` now (issuing a fresh stream token), as Twilio reads it."""
    return twiml_parameters(call_stream_twiml(call))
