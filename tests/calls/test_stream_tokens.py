"""calls/services.py: the single-use token that lets one media stream start for a call. Only its hash is
stored; the latest issued is the only one accepted; it is consumed by one conditional UPDATE, so a second
stream, a stale read or an ended call are refused, and a refusal writes nothing."""

import pytest
from django.utils import timezone

from calls.models import Call, CallStatus
from calls.services import StreamRefused, call_stream_claim, call_stream_token_issue, stream_token_digest
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def stored(call: Call) -> Call:
    return Call.objects.get(pk=call.pk)


def test_only_the_hash_of_a_random_token_is_stored():
    call = CallFactory(status=CallStatus.RINGING)
    token = call_stream_token_issue(call=call)
    assert len(token) >= 43  # 32 random bytes
    assert call_stream_token_issue(call=call) != token
    hashes = {stored(call).stream_token_hash}
    assert token not in hashes
    assert all(len(h) == 64 for h in hashes)


@pytest.mark.parametrize("status", sorted(CallStatus.active()))
def test_an_active_call_is_claimed_once_with_its_token(status):
    call = CallFactory(status=status)
    token = call_stream_token_issue(call=call)
    call_stream_claim(call=stored(call), token=token)
    claimed = stored(call)
    assert claimed.stream_started_at is not None
    assert claimed.stream_token_hash == ""  # consumed
    with pytest.raises(StreamRefused, match="already has a stream"):
        call_stream_claim(call=claimed, token=token)


def test_of_two_streams_that_read_the_call_before_either_claimed_only_one_starts():
    call = CallFactory(status=CallStatus.RINGING)
    token = call_stream_token_issue(call=call)
    first_read, second_read = stored(call), stored(call)
    call_stream_claim(call=first_read, token=token)
    with pytest.raises(StreamRefused, match="meanwhile"):  # its read says unclaimed: the UPDATE decides
        call_stream_claim(call=second_read, token=token)


def test_each_issued_token_replaces_the_one_before():
    call = CallFactory(status=CallStatus.RINGING)
    earlier = call_stream_token_issue(call=call)
    latest = call_stream_token_issue(call=call)
    with pytest.raises(StreamRefused, match="wrong or stale stream token"):
        call_stream_claim(call=stored(call), token=earlier)
    call_stream_claim(call=stored(call), token=latest)


@pytest.mark.parametrize("token", ["", "not-the-token", None])
def test_a_missing_or_wrong_token_is_refused_and_does_not_burn_the_real_one(token):
    call = CallFactory(status=CallStatus.RINGING)
    real = call_stream_token_issue(call=call)
    before = stored(call).stream_token_hash
    with pytest.raises(StreamRefused, match="token"):
        call_stream_claim(call=stored(call), token=token or "")
    assert (stored(call).stream_token_hash, stored(call).stream_started_at) == (before, None)
    call_stream_claim(call=stored(call), token=real)


def test_a_call_never_issued_a_token_is_refused():
    call = CallFactory(status=CallStatus.RINGING)
    with pytest.raises(StreamRefused, match="stream token"):
        call_stream_claim(call=call, token="anything")


@pytest.mark.parametrize("status", sorted(CallStatus.terminal()))
def test_an_ended_call_is_refused_even_with_its_token_and_nothing_is_written(status):
    call = CallFactory(status=CallStatus.RINGING)
    token = call_stream_token_issue(call=call)
    Call.objects.filter(pk=call.pk).update(status=status, ended_at=timezone.now())
    before = stored(call)
    with pytest.raises(StreamRefused, match=f"the call has ended \\({status}\\)"):
        call_stream_claim(call=before, token=token)
    after = stored(call)
    assert (after.stream_token_hash, after.stream_started_at, after.updated_at) == (
        before.stream_token_hash,
        None,
        before.updated_at,
    )


def test_a_call_that_ended_after_it_was_read_is_refused():
    call = CallFactory(status=CallStatus.RINGING)
    token = call_stream_token_issue(call=call)
    read = stored(call)
    Call.objects.filter(pk=call.pk).update(status=CallStatus.NO_ANSWER, ended_at=timezone.now())
    with pytest.raises(StreamRefused, match="meanwhile"):
        call_stream_claim(call=read, token=token)
    assert stored(call).stream_started_at is None


def test_no_token_is_issued_for_an_ended_call_or_one_that_has_its_stream():
    ended = CallFactory(status=CallStatus.COMPLETED, ended_at=timezone.now())
    call_stream_token_issue(call=ended)
    assert stored(ended).stream_token_hash == ""
    streaming = CallFactory(status=CallStatus.RINGING)
    call_stream_claim(call=streaming, token=_issued(streaming))
    late = call_stream_token_issue(call=streaming)  # a retried webhook after the stream started
    assert stored(streaming).stream_token_hash == ""
    with pytest.raises(StreamRefused, match="already has a stream"):
        call_stream_claim(call=stored(streaming), token=late)


def _issued(call: Call) -> str:
    token = call_stream_token_issue(call=call)
    call.refresh_from_db()
    return token


def test_the_digest_is_sha256_hex():
    assert stream_token_digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
