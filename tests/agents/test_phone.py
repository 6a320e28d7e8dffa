"""E.164 normalization, jurisdictions from numbers, and reading pasted or uploaded lists of numbers."""

import phonenumbers
import pytest
from phonenumbers import geocoder

from agents import area_codes, bulk
from agents.phone import InvalidPhoneNumber, jurisdiction_for, normalize_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(415) 555-1234", "+14155551234"),
        ("415.555.1234", "+14155551234"),
        ("+1 415 555 1234", "+14155551234"),
        ("1-415-555-1234", "+14155551234"),
        ("+44 20 7123 4567", "+442071234567"),
    ],
)
def test_numbers_are_normalized_to_e164(raw, e164, settings):
    settings.DEFAULT_PHONE_REGION = "US"
    assert normalize_e164(raw) == e164


def test_the_default_region_reads_national_numbers(settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    assert normalize_e164("020 7123 4567") == "+442071234567"


@pytest.mark.parametrize("raw", ["", "   ", "hello", "555", "+1 415 555", "+999 1234 5678", "1" * 80])
def test_what_is_not_a_phone_number_is_refused_with_a_reason(raw):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalize_e164(raw)
    assert info.value.reason


@pytest.mark.parametrize(
    ("e164", "jurisdiction"),
    [
        ("+14155551234", "US-CA"),  # San Francisco
        ("+13105551234", "US-CA"),  # Los Angeles: only city-level prefixes in the geocoder
        ("+12125550100", "US-NY"),
        ("+17185550100", "US-NY"),
        ("+12035550100", "US-CT"),
        ("+17135550100", "US-TX"),
        ("+12025550100", "US-DC"),
        ("+19075550100", "US-AK"),
        ("+18085550100", "US-HI"),
        ("+18005551234", "US"),  # toll-free: no state
        ("+16045551234", "CA"),  # Canada shares +1
        ("+17875551234", "PR"),
        ("+442071234567", "GB"),
        ("+33142685300", "FR"),
    ],
)
def test_a_numbers_jurisdiction_is_its_country_or_us_state(e164, jurisdiction):
    assert jurisdiction_for(e164) == jurisdiction


def test_the_shipped_area_code_table_matches_what_phonenumbers_gives_today():
    """Rebuild with `python -m agents.area_codes > agents/data/us_area_codes.csv` when this fails.

    A newer phonenumbers may know a few new area codes (they resolve to plain `US` until the rebuild);
    it must never put a shipped area code in another state."""
    shipped = area_codes.us_area_code_states()
    fresh = dict(area_codes.build_rows())
    moved = {
        area: (state, fresh[area])
        for area, state in shipped.items()
        if area in fresh and fresh[area] != state
    }
    assert moved == {}
    assert len(set(fresh) - set(shipped)) <= 10


def test_the_area_code_table_covers_every_state_and_agrees_with_the_geocoder():
    table = area_codes.us_area_code_states()
    assert set(table.values()) == set(area_codes.US_STATES.values())  # 50 states and DC
    assert len(table) > 300
    disagreements = []
    for area, state in table.items():
        description = geocoder.description_for_number(phonenumbers.parse(f"+1{area}2345678"), "en")
        found = area_codes.state_of_description(description)
        if found is not None and found != state:
            disagreements.append((area, state, description))
    assert disagreements == []


def test_descriptions_map_to_state_codes():
    assert area_codes.state_of_description("California") == "CA"
    assert area_codes.state_of_description("San Francisco, CA") == "CA"
    assert area_codes.state_of_description("Washington State") == "WA"
    assert area_codes.state_of_description("Washington D.C.") == "DC"
    assert area_codes.state_of_description("Ontario") is None
    assert area_codes.state_of_description("") is None


def test_a_pasted_list_keeps_line_numbers_and_splits_on_commas_and_semicolons():
    text = "+14155550111\n\n(415) 555-0122, +14155550133\n  +14155550144 ;x\n"
    assert bulk.entries_from_text(text) == [
        (1, "+14155550111", ""),
        (3, "(415) 555-0122", ""),
        (3, "+14155550133", ""),
        (4, "+14155550144", ""),
        (4, "x", ""),
    ]


def test_a_csv_with_a_phone_header_uses_that_column_and_counts_the_header_as_row_1():
    data = b"name,phone_number\nJane,+14155550111\nJoe,\nAnn,(415) 555-0122\n"
    assert bulk.entries_from_csv(data) == [(2, "+14155550111", "Jane"), (4, "(415) 555-0122", "Ann")]


def test_a_semicolon_csv_with_a_bom_is_read_with_its_names():
    data = "\ufeffNumber;Name\n+14155550111;Jane\n".encode()
    assert bulk.entries_from_csv(data) == [(2, "+14155550111", "Jane")]


def test_a_friendly_name_column_names_the_numbers_and_a_lone_name_header_is_not_mistaken_for_one():
    data = b"friendly_name,number,notes\nFront desk,+14155550111,x\n"
    assert bulk.entries_from_csv(data) == [(2, "+14155550111", "Front desk")]
    assert bulk.entries_from_csv(b"name\n+14155550111\n") == [(2, "+14155550111", "")]


def test_a_csv_without_a_header_reads_the_first_column_from_row_1():
    assert bulk.entries_from_csv(b"+14155550111,Jane\n+14155550122,Joe\n") == [
        (1, "+14155550111", ""),
        (2, "+14155550122", ""),
    ]


def test_a_csv_that_is_not_utf8_is_unreadable():
    with pytest.raises(bulk.UnreadableFile):
        bulk.entries_from_csv(b"\xff\xfe\x00b\x00a\x00d")


def test_an_over_long_list_is_refused():
    with pytest.raises(bulk.UnreadableFile):
        bulk.entries_from_text("\n".join("+14155550111" for _ in range(bulk.MAX_ROWS + 1)))
