"""Consent openers: create them (uploaded audio or local TTS), pick the one a call plays, and give its audio.
What a call heard is written on the call by calls/consent.py."""

import hashlib
import logging

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When

from agents.models import Agent
from compliance.models import ConsentOpener, OpenerAudioSource
from compliance.tts import SpeechUnavailable, synthesize
from wordcab_admin.kernel.audio import AudioFormatError, to_telephone_audio
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.errors import Unprocessable

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_OPENER_SECONDS = 60
CONSENT_MARK = "consent_opener"  # the media stream's mark sent after the opener's last frame


def _audit_view(opener: ConsentOpener) -> dict:
    return {
        "jurisdiction": opener.jurisdiction,
        "agent_id": opener.agent.public_id if opener.agent_id else None,
        "language": opener.language,
        "text": opener.text,
        "audio_source": opener.audio_source,
        "audio_sha256": opener.audio_sha256,
    }


def _set_audio(opener: ConsentOpener, *, upload: UploadedFile | None) -> None:
    if upload is not None:
        if upload.size and upload.size > MAX_UPLOAD_BYTES:
            raise Unprocessable("The audio file is larger than 10 MB", field="audio")
        try:
            audio = to_telephone_audio(upload.read())
        except AudioFormatError as exc:
            raise Unprocessable(str(exc), field="audio") from exc
        opener.audio_source = OpenerAudioSource.UPLOADED
        opener.source_filename = (upload.name or "")[:255]
    else:
        try:
            audio = synthesize(opener.text, language=opener.language)
        except SpeechUnavailable as exc:
            raise Unprocessable(f"Could not synthesize the text: {exc}", field="text") from exc
        opener.audio_source = OpenerAudioSource.SYNTHESIZED
        opener.source_filename = ""
    if len(audio) > MAX_OPENER_SECONDS * 8000:
        raise Unprocessable(f"An opener may last at most {MAX_OPENER_SECONDS} seconds", field="audio")
    opener.audio = audio
    opener.duration_seconds = round(len(audio) / 8000, 3)
    opener.audio_sha256 = hashlib.sha256(audio).hexdigest()


def opener_create(
    *,
    actor,
    jurisdiction: str,
    language: str,
    text: str,
    agent: Agent | None = None,
    upload: UploadedFile | None = None,
) -> ConsentOpener:
    """Audio from `upload` (WAV or MP3) when given, else spoken from `text` by the local TTS."""
    opener = ConsentOpener(
        jurisdiction=jurisdiction.strip().upper(), agent=agent, language=language.strip(), text=text.strip()
    )
    if not opener.text:
        raise Unprocessable("Write what the opener says", field="text")
    _set_audio(opener, upload=upload)
    return _opener_save_audited(actor=actor, opener=opener, action="consent_opener.created")


def opener_update(
    *,
    actor,
    opener: ConsentOpener,
    changes: dict,
    upload: UploadedFile | None = None,
) -> ConsentOpener:
    """Change jurisdiction, agent, language or text; new audio when uploaded, or spoken again when the
    text or language of a synthesized opener changed. Calls already snapshotted keep what they played."""
    before = _audit_view(opener)
    for name in ("jurisdiction", "language", "text"):
        if name in changes:
            value = changes[name].strip()
            setattr(opener, name, value.upper() if name == "jurisdiction" else value)
    if "agent" in changes:
        opener.agent = changes["agent"]
    if not opener.text:
        raise Unprocessable("Write what the opener says", field="text")
    spoken_changed = before["text"] != opener.text or before["language"] != opener.language
    if upload is not None or (opener.audio_source == OpenerAudioSource.SYNTHESIZED and spoken_changed):
        _set_audio(opener, upload=upload)
    return _opener_save_audited(actor=actor, opener=opener, action="consent_opener.updated", before=before)


def _opener_save_audited(
    *, actor, opener: ConsentOpener, action: str, before: dict | None = None
) -> ConsentOpener:
    """Save the opener and its audit event (before → after) in one transaction."""
    with transaction.atomic():
        opener.save()
        audit_record(
            actor=actor,
            action=action,
            object_type="consent_opener",
            object_id=str(opener.pk),
            before=before,
            after=_audit_view(opener),
        )
    return opener


def opener_resynthesize(*, actor, opener: ConsentOpener) -> ConsentOpener:
    """Replace the opener's audio with the TTS reading of its text."""
    before = _audit_view(opener)
    _set_audio(opener, upload=None)
    return _opener_save_audited(actor=actor, opener=opener, action="consent_opener.updated", before=before)


def opener_delete(*, actor, opener: ConsentOpener) -> None:
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="consent_opener.deleted",
            object_type="consent_opener",
            object_id=str(opener.pk),
            before=_audit_view(opener),
        )
        opener.delete()


def opener_for(*, agent: Agent, jurisdiction: str) -> ConsentOpener | None:
    """The most specific opener for a call of `agent` to `jurisdiction`: this agent and jurisdiction, then
    the jurisdiction, then this agent's default, then the deployment default; within each, the agent's
    language first, then the newest (an opener added beside the seeded default replaces it)."""
    candidates = (
        ConsentOpener.objects.filter(Q(agent=agent.pk) | Q(agent__isnull=True))
        .filter(jurisdiction__in={jurisdiction.upper(), ""})
        .annotate(
            rank=Case(
                When(Q(jurisdiction="") & Q(agent__isnull=True), then=Value(3)),
                When(jurisdiction="", then=Value(2)),
                When(agent__isnull=True, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            language_rank=Case(
                When(language__iexact=agent.language, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("rank", "language_rank", "-id")
    )
    return candidates.first()


def opener_audio_ensure(opener: ConsentOpener) -> ConsentOpener:
    """An opener saved without audio (the seeded default, when the migration could not speak it) is spoken
    now, once, by the local TTS, so that it plays; the change is audited as the system's."""
    if opener.audio:
        return opener
    before = _audit_view(opener)
    try:
        _set_audio(opener, upload=None)
    except Unprocessable as exc:  # the media stream then finds no audio to play and plays no opener
        log.error("consent opener %s has no audio and cannot be spoken: %s", opener.pk, exc.message)
        return opener
    with transaction.atomic():
        ConsentOpener.objects.filter(pk=opener.pk, audio_sha256="").update(
            audio=opener.audio,
            audio_source=opener.audio_source,
            duration_seconds=opener.duration_seconds,
            audio_sha256=opener.audio_sha256,
        )
        audit_record(
            actor=None,
            action="consent_opener.updated",
            object_type="consent_opener",
            object_id=str(opener.pk),
            before=before,
            after=_audit_view(opener),
        )
    log.info("spoke the consent opener %s on its first use", opener.pk)
    return opener


def opener_decision(opener: ConsentOpener | None) -> dict | None:
    """The opener as the "cleared to call" decision names it."""
    if opener is None:
        return None
    return {
        "id": opener.pk,
        "jurisdiction": opener.jurisdiction,
        "agent_id": opener.agent.public_id if opener.agent_id else None,
        "language": opener.language,
        "text": opener.text,
    }


def opener_snapshot(opener: ConsentOpener) -> dict:
    return {
        "id": opener.pk,
        "jurisdiction": opener.jurisdiction,
        "language": opener.language,
        "text": opener.text,
        "audio_sha256": opener.audio_sha256,
        "duration_seconds": opener.duration_seconds,
    }


def opener_audio(snapshot: dict) -> bytes:
    """The μ-law audio of a snapshotted opener: the stored audio if it is still the same, else the
    snapshot's text spoken again (the opener was edited or deleted since)."""
    opener = ConsentOpener.objects.filter(pk=snapshot.get("id")).only("audio", "audio_sha256").first()
    if (
        opener is not None
        and opener.audio
        and (not snapshot.get("audio_sha256") or opener.audio_sha256 == snapshot["audio_sha256"])
    ):
        return bytes(opener.audio)
    return synthesize(snapshot.get("text", ""), language=snapshot.get("language", "en-US"))
