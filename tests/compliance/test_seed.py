"""What a fresh deployment starts with: the 66 jurisdictions of compliance/data/jurisdictions.csv with their
review flags and structured day rules, and a default consent opener that plays."""

import csv
import hashlib

import pytest
from django.apps import apps as django_apps

from compliance.day_rules import day_rules_clean
from compliance.models import ConsentOpener, Jurisdiction
from compliance.openers import opener_audio_ensure
from compliance.seed import (
    DATA_FILE,
    DAY_RULES,
    DEFAULT_OPENER_TEXT,
    INFORMATIVE_NOTES,
    default_opener_seed,
    jurisdiction_rows,
    jurisdictions_seed,
)

pytestmark = pytest.mark.django_db


def csv_rows() -> list[dict]:
    with DATA_FILE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def seeded():
    """The seed as the migration runs it (the rows are there already, unless a transactional test emptied
    the tables: seeding again is idempotent)."""
    jurisdictions_seed(django_apps)
    return {row.code: row for row in Jurisdiction.objects.all()}


def test_the_seed_holds_the_66_jurisdictions_of_the_data_file(seeded):
    assert len(seeded) == 66
    codes = set(seeded)
    assert {f"US-{state}" for state in ("CA", "TX", "NY", "DC")} <= codes
    assert {"US", "GB", "FR", "AU", "ZA"} <= codes
    assert sum(code.startswith("US-") for code in codes) == 51  # 50 states and DC


def test_seeding_twice_changes_nothing(seeded):
    jurisdictions_seed(django_apps)
    assert Jurisdiction.objects.count() == 66


def test_rows_whose_source_says_verify_need_review_and_the_others_do_not(seeded):
    for row in csv_rows():
        assert seeded[row["code"]].needs_review == ("verify" in row["source"].lower()), row["code"]
    assert seeded["US-AL"].needs_review
    assert not seeded["US-CA"].needs_review  # its citation is confirmed


def test_a_state_whose_note_closes_sundays_gets_a_structured_sunday_rule(seeded):
    assert seeded["US-AL"].day_rules == {
        "sunday": "closed",
        "holidays": "closed",
        "holiday_calendar": "us_federal",
    }
    assert seeded["US-TX"].day_rules == {"sunday": "12:00-21:00"}  # "Sundays 12:00-21:00"
    assert seeded["US-RI"].day_rules["saturday"] == "10:00-17:00"
    assert seeded["FR"].day_rules["weekdays"] == "10:00-13:00,14:00-20:00"  # "no calls 13:00-14:00"


def test_a_note_that_is_only_informative_keeps_empty_day_rules_and_its_text(seeded):
    florida = seeded["US-FL"]
    assert florida.day_rules == {}
    assert "max 3 sales calls" in florida.calling_days_note
    assert seeded["US-CA"].day_rules == {}


def test_every_note_in_the_data_is_either_structured_or_known_to_be_informative():
    """A row added to the data with a note fails here until a person reads it into DAY_RULES or
    INFORMATIVE_NOTES."""
    with_notes = {row["code"] for row in csv_rows() if row["calling_days_note"].strip()}
    assert with_notes == set(DAY_RULES) | set(INFORMATIVE_NOTES)
    assert not set(DAY_RULES) & set(INFORMATIVE_NOTES)


def test_every_seeded_day_rule_follows_the_format():
    for row in jurisdiction_rows():
        assert day_rules_clean(row["day_rules"]) == row["day_rules"], row["code"]


def test_a_fresh_deployment_has_a_default_opener_that_can_be_played():
    ConsentOpener.objects.all().delete()  # as a database before migration 0004
    default_opener_seed(django_apps)
    opener = ConsentOpener.objects.get()
    assert (opener.jurisdiction, opener.agent, opener.text) == ("", None, DEFAULT_OPENER_TEXT)
    assert opener.duration_seconds > 1
    assert len(bytes(opener.audio)) == pytest.approx(opener.duration_seconds * 8000, abs=4)  # ms rounding
    assert opener.audio_sha256 == hashlib.sha256(bytes(opener.audio)).hexdigest()


def test_a_deployment_that_has_a_default_opener_keeps_it():
    ConsentOpener.objects.all().delete()
    ConsentOpener.objects.create(jurisdiction="", text="Ours.", audio=b"\xff" * 800)
    default_opener_seed(django_apps)
    assert list(ConsentOpener.objects.values_list("text", flat=True)) == ["Ours."]


def test_an_opener_seeded_without_audio_is_spoken_on_its_first_use():
    """Where the migration could not run the TTS, the default is saved silent and spoken when first needed."""
    ConsentOpener.objects.all().delete()
    silent = ConsentOpener.objects.create(jurisdiction="", text=DEFAULT_OPENER_TEXT, audio=b"")
    opener = opener_audio_ensure(silent)
    stored = ConsentOpener.objects.get(pk=silent.pk)
    assert len(bytes(stored.audio)) > 8000
    assert stored.audio_sha256 == opener.audio_sha256 != ""
