"""Fixtures the carriers' media stream tests share (test_media_stream.py, test_telnyx_media.py,
test_plivo_media.py); their fake carriers and calls are in fake_media_stream.py."""

import pytest

from compliance.models import ConsentOpener
from compliance.openers import opener_create


@pytest.fixture
def opener(db) -> ConsentOpener:
    """The US-CA consent opener: a `media_call` (in US-CA) plays it before anything else. A module with
    openers of its own (test_streams_begin.py, test_webrtc.py) defines its own `opener`."""
    return opener_create(
        actor=None, jurisdiction="US-CA", language="en-US", text="This call is recorded and uses an AI agent."
    )
