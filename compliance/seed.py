"""What a fresh deployment starts with: the jurisdictions of compliance/data/jurisdictions.csv (kept in the
project, copied from the sourced reference data; see its README: not legal advice), and the deployment's
default consent opener. Called by the data migration 0004 with the historical models (`apps`).

Each row's `calling_days_note` is prose. The day rules below are that prose structured by hand, row by row
(the format: compliance/day_rules.py, docs/compliance.md), each quoting the note it reads; a note that
restricts nothing a call can be checked against (frequency caps, "no statutory window", a rule for other
call types than ours) is in INFORMATIVE_NOTES and keeps empty day rules, its note shown beside the row.
tests/compliance/test_seed.py fails for a row with a note in neither, so a new row gets read by a person.

Holidays: where a US note bans "state" or "legal" holidays, the US federal holidays are listed (a state's
own extra holidays are not in the data: compliance officers add them as `holiday_dates`). Countries list
their fixed-date national holidays; movable ones (Easter, Carnival, ...) are added by date, per year.
Our calls are made by an AI voice, which the FCC treats as an artificial voice (2024 declaratory ruling),
so rules for prerecorded or automated calls apply to them (Nebraska's Sunday hours)."""

from __future__ import annotations

import csv
import hashlib
import logging
from datetime import time
from pathlib import Path

from compliance.tts import SpeechUnavailable, synthesize

log = logging.getLogger(__name__)

DATA_FILE = Path(__file__).resolve().parent / "data" / "jurisdictions.csv"
VERIFY_MARK = "verify"

_STATE_HOLIDAYS_CLOSED = {"holidays": "closed", "holiday_calendar": "us_federal"}

DAY_RULES: dict[str, dict] = {
    # "no calls on Sundays or state holidays (PSC rule; …)"
    "US-AL": {"sunday": "closed", **_STATE_HOLIDAYS_CLOSED},
    # "no calls on Sundays or state legal holidays recognised by the LPSC; no telephone solicitation during
    # a declared state of emergency" (emergencies cannot be known here: the note says it)
    "US-LA": {"sunday": "closed", **_STATE_HOLIDAYS_CLOSED},
    # "no calls on Sundays; hours stated in Central Standard Time; legal-holiday ban dropped in 2024"
    "US-MS": {"sunday": "closed"},
    # "prerecorded messages on Sundays/legal holidays only 13:00-21:00" (an AI voice is an artificial one)
    "US-NE": {"sunday": "13:00-21:00", "holidays": "13:00-21:00", "holiday_calendar": "us_federal"},
    # "no telephone solicitation calls on legal holidays (since 2019-12-03); some charts report Sunday
    # limits (verify)": the unverified Sunday limit is left to review
    "US-PA": dict(_STATE_HOLIDAYS_CLOSED),
    # "Mon-Fri 09:00-18:00; Sat 10:00-17:00; no calls on Sundays or state/federal holidays"
    "US-RI": {"saturday": "10:00-17:00", "sunday": "closed", **_STATE_HOLIDAYS_CLOSED},
    # "Mon-Sat 09:00-21:00; Sundays 12:00-21:00"
    "US-TX": {"sunday": "12:00-21:00"},
    # "no calls on Sundays or legal holidays without prior express consent" (consent is not recorded here)
    "US-UT": {"sunday": "closed", **_STATE_HOLIDAYS_CLOSED},
    # "weekdays 09:00-21:30; Sat-Sun 10:00-18:00; provincial rules may be stricter"
    "CA": {"saturday": "10:00-18:00", "sunday": "10:00-18:00"},
    # "Mon-Fri only; no calls 13:00-14:00; none on Sat, Sun or public holidays; …"
    "FR": {
        "weekdays": "10:00-13:00,14:00-20:00",
        "saturday": "closed",
        "sunday": "closed",
        "holidays": "closed",
        "holiday_dates": ["01-01", "05-01", "05-08", "07-14", "08-15", "11-01", "11-11", "12-25"],
    },
    # "no calls on weekends or public holidays"
    "ES": {
        "saturday": "closed",
        "sunday": "closed",
        "holidays": "closed",
        "holiday_dates": ["01-01", "01-06", "05-01", "08-15", "10-12", "11-01", "12-06", "12-08", "12-25"],
    },
    # "weekdays 09:00-20:00; Sat 09:00-17:00; no calls on Sundays or national public holidays"
    "AU": {
        "saturday": "09:00-17:00",
        "sunday": "closed",
        "holidays": "closed",
        "holiday_dates": ["01-01", "01-26", "04-25", "12-25", "12-26"],
    },
    # "Sat 10:00-16:00; no Sundays/holidays; sector rule for telecom operators (Anatel, 0303 prefix)"
    "BR": {
        "saturday": "10:00-16:00",
        "sunday": "closed",
        "holidays": "closed",
        "holiday_dates": ["01-01", "04-21", "05-01", "09-07", "10-12", "11-02", "11-15", "11-20", "12-25"],
    },
    # "Mon-Fri 08:00-20:00; Sat 09:00-13:00; no direct marketing on Sundays or public holidays"
    "ZA": {
        "saturday": "09:00-13:00",
        "sunday": "closed",
        "holidays": "closed",
        "holiday_dates": [
            "01-01",
            "03-21",
            "04-27",
            "05-01",
            "06-16",
            "08-09",
            "09-24",
            "12-16",
            "12-25",
            "12-26",
        ],
    },
}

# Notes that restrict nothing a single call can be checked against: their rows keep empty day rules.
INFORMATIVE_NOTES = {
    "US-FL": "a frequency cap (3 calls per 24 h), not a day rule",
    "US-MD": "a frequency cap (3 calls per 24 h), not a day rule",
    "US-OK": "a frequency cap (3 calls per 24 h), not a day rule",
    "US-IL": "the window already takes the stricter 09:00 start",
    "US-MN": "the window already takes the stricter 09:00 start",
    "US-NV": "the window already takes the stricter 09:00 start; the 20:00 end is unverified",
    "GB": "no statutory window",
    "IE": "no statutory window",
    "DE": "no statutory window; consent for B2C marketing calls is the caller's to hold",
    "IT": "no statutory window",
    "NL": "no statutory window; consent for B2C marketing calls is the caller's to hold",
    "NZ": "no statutory window",
    "IN": "the TRAI hours are the window itself",
    "MX": "no statutory window for marketing calls; the collection-call hours are wider than the window",
}


def _window(text: str) -> tuple[time, time]:
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def jurisdiction_rows() -> list[dict]:
    with DATA_FILE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    seeded = []
    for row in rows:
        start, end = _window(row["calling_hours_local"])
        seeded.append(
            {
                "code": row["code"],
                "name": row["name"],
                "country": row["country"],
                "recording_consent": row["recording_consent"],
                "calling_start": start,
                "calling_end": end,
                "calling_days_note": row["calling_days_note"],
                "source": row["source"],
                "needs_review": VERIFY_MARK in row["source"].lower(),
                "day_rules": DAY_RULES.get(row["code"], {}),
            }
        )
    return seeded


def jurisdictions_seed(apps, schema_editor=None) -> None:
    jurisdiction = apps.get_model("compliance", "Jurisdiction")
    for row in jurisdiction_rows():
        jurisdiction.objects.update_or_create(code=row["code"], defaults=row)


DEFAULT_OPENER_TEXT = "This call may be recorded, and you are speaking with an AI assistant."


def default_opener_seed(apps, schema_editor=None) -> None:
    """The deployment-default opener (any jurisdiction, any agent), so a fresh deployment is never silent.
    It is an ordinary opener: compliance officers edit, replace or delete it. Spoken here by the local TTS
    (offline, bundled with the project); should that fail, it is saved without audio and spoken on its
    first use (compliance.openers.opener_audio_ensure). A deployment that has a default already keeps it."""
    opener_model = apps.get_model("compliance", "ConsentOpener")
    if opener_model.objects.filter(jurisdiction="", agent__isnull=True).exists():
        return
    try:
        audio = synthesize(DEFAULT_OPENER_TEXT, language="en-US")
    except SpeechUnavailable as exc:
        log.warning("the default consent opener will be spoken on its first use: %s", exc)
        audio = b""
    opener_model.objects.create(
        jurisdiction="",
        agent=None,
        language="en-US",
        text=DEFAULT_OPENER_TEXT,
        audio=audio,
        audio_source="synthesized",
        duration_seconds=round(len(audio) / 8000, 3),
        audio_sha256=hashlib.sha256(audio).hexdigest() if audio else "",
    )
