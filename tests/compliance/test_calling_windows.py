"""Calling windows with a frozen clock: the callee's local time (DST-correct) against the window and day
rules, across time zones, over a daylight saving change, on a restricted Sunday and on holidays."""

from datetime import UTC, date, datetime, time

import pytest

from agents.phone import jurisdiction_for
from compliance.calling_windows import calling_window_check, outside_window_message
from compliance.day_rules import (
    DayRulesInvalid,
    day_rules_clean,
    day_rules_summary,
    us_federal_holidays,
    windows_on,
)
from compliance.jurisdictions import jurisdiction_rules
from tests.factories import JurisdictionFactory, number_inside_calling_hours

pytestmark = pytest.mark.django_db

CALIFORNIA = "+14155550123"  # America/Los_Angeles
NEW_YORK = "+12125550123"  # America/New_York
LONDON = "+442079460123"
TEXAS = "+15125550123"  # Austin: America/Chicago


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def check(number: str, code: str, now: datetime):
    return calling_window_check(rules=jurisdiction_rules(code), number=number, now=now)


def test_the_same_instant_is_inside_the_window_in_new_york_and_outside_in_california():
    JurisdictionFactory(code="US-CA", calling_start=time(8), calling_end=time(21))
    JurisdictionFactory(code="US-NY", calling_start=time(8), calling_end=time(21))
    now = utc(2026, 6, 17, 13, 30)  # 09:30 in New York (EDT), 06:30 in California (PDT)
    new_york, california = check(NEW_YORK, "US-NY", now), check(CALIFORNIA, "US-CA", now)
    assert new_york.inside
    assert new_york.deciding.local.strftime("%H:%M") == "09:30"
    assert not california.inside
    assert california.deciding.zone == "America/Los_Angeles"
    assert california.opens_next == utc(2026, 6, 17, 15, 0)  # 08:00 PDT


def test_the_window_follows_daylight_saving_time_in_the_callees_zone():
    """US clocks went forward on 2026-03-08: 15:30 UTC is 07:30 PST before and 08:30 PDT after."""
    JurisdictionFactory(code="US-CA", calling_start=time(8), calling_end=time(21))
    before, after = (
        check(CALIFORNIA, "US-CA", utc(2026, 3, 7, 15, 30)),
        check(CALIFORNIA, "US-CA", utc(2026, 3, 9, 15, 30)),
    )
    assert (before.deciding.local.strftime("%H:%M %Z"), before.inside) == ("07:30 PST", False)
    assert (after.deciding.local.strftime("%H:%M %Z"), after.inside) == ("08:30 PDT", True)
    assert before.opens_next == utc(2026, 3, 7, 16, 0)  # 08:00 PST


def test_the_opening_across_the_change_is_the_next_local_start_in_the_new_offset():
    JurisdictionFactory(code="US-CA", calling_start=time(8), calling_end=time(21))
    saturday_night = utc(2026, 3, 8, 5, 30)  # Saturday 21:30 PST; Sunday is the change to PDT
    reading = check(CALIFORNIA, "US-CA", saturday_night)
    assert not reading.inside
    assert reading.opens_next == utc(2026, 3, 8, 15, 0)  # Sunday 08:00 PDT = 15:00 UTC, not 16:00


def test_the_window_end_is_the_last_moment_a_call_may_start():
    JurisdictionFactory(code="US-NY", calling_start=time(8), calling_end=time(21))
    assert check(NEW_YORK, "US-NY", utc(2026, 6, 18, 0, 59)).inside  # 20:59 EDT
    assert not check(NEW_YORK, "US-NY", utc(2026, 6, 18, 1, 0)).inside  # 21:00 EDT
    assert check(NEW_YORK, "US-NY", utc(2026, 6, 17, 12, 0)).inside  # 08:00 EDT


def test_a_restricted_sunday_opens_later_than_a_weekday():
    """Texas: Mon-Sat 09:00-21:00, Sundays 12:00-21:00."""
    JurisdictionFactory(
        code="US-TX", calling_start=time(9), calling_end=time(21), day_rules={"sunday": "12:00-21:00"}
    )
    sunday_ten = utc(2026, 6, 21, 15, 0)  # Sunday 10:00 CDT
    monday_ten = utc(2026, 6, 22, 15, 0)
    sunday = check(TEXAS, "US-TX", sunday_ten)
    assert not sunday.inside
    assert sunday.deciding.applied == [
        {"rule": "base", "hours": "09:00-21:00"},
        {"rule": "sunday", "hours": "12:00-21:00"},
    ]
    assert sunday.opens_next == utc(2026, 6, 21, 17, 0)  # Sunday 12:00 CDT
    assert check(TEXAS, "US-TX", monday_ten).inside


def test_a_closed_sunday_opens_on_monday_and_the_message_says_when():
    JurisdictionFactory(
        code="US-AL",
        name="Alabama",
        calling_start=time(8),
        calling_end=time(20),
        day_rules={"sunday": "closed"},
    )
    sunday_noon = utc(2026, 6, 21, 17, 0)  # Birmingham (205): 12:00 CDT on a Sunday
    reading = check("+12055550123", "US-AL", sunday_noon)
    assert not reading.inside
    assert reading.opens_next == utc(2026, 6, 22, 13, 0)  # Monday 08:00 CDT
    message = outside_window_message(check=reading, rules=jurisdiction_rules("US-AL"), number="+12055550123")
    assert "it is 12:00 on Sunday in America/Chicago" in message
    assert "calls may start 08:00-20:00 there, today closed (sunday: closed)" in message
    assert "opens next on Monday 2026-06-22 at 08:00 local time (2026-06-22 13:00 UTC)" in message


def test_a_listed_federal_holiday_closes_a_state_that_bans_holiday_calls():
    JurisdictionFactory(
        code="US-UT",
        calling_start=time(8),
        calling_end=time(21),
        day_rules={"sunday": "closed", "holidays": "closed", "holiday_calendar": "us_federal"},
    )
    thanksgiving_noon = utc(2026, 11, 26, 19, 0)  # 12:00 MST in Salt Lake City (801)
    reading = check("+18015550123", "US-UT", thanksgiving_noon)
    assert not reading.inside
    assert reading.deciding.applied[-1] == {
        "rule": "holidays",
        "hours": "closed",
        "holiday": "Thanksgiving Day",
    }
    assert reading.opens_next == utc(2026, 11, 27, 15, 0)  # Friday 08:00 MST


def test_a_split_weekday_window_closes_for_lunch_in_france():
    reading = check("+33142680123", "FR", utc(2026, 6, 17, 11, 30))  # Wednesday 13:30 CEST
    assert jurisdiction_rules("FR").rules_from == "FR"
    assert not reading.inside
    assert reading.opens_next == utc(2026, 6, 17, 12, 0)  # 14:00 CEST
    assert check("+33142680123", "FR", utc(2026, 6, 17, 12, 30)).inside


def test_a_number_in_several_time_zones_must_be_inside_in_every_one():
    """An Australian mobile may ring from Perth (UTC+8) to Lord Howe Island (UTC+10:30)."""
    reading = check("+61491570156", "AU", utc(2026, 6, 17, 0, 30))  # 08:30 Perth, 10:30 Sydney
    assert len(reading.zones) > 1
    assert not reading.inside  # Perth (and the Indian Ocean islands) are still before 09:00
    assert reading.deciding.zone in reading.zones
    assert reading.opens_next is not None
    opening = check("+61491570156", "AU", reading.opens_next)
    assert opening.inside


def test_a_jurisdiction_without_a_row_falls_back_to_its_country_then_to_the_federal_hours():
    JurisdictionFactory(code="US", calling_start=time(8), calling_end=time(21))
    state = jurisdiction_rules("US-ZZ")
    assert (state.rules_from, state.window) == ("US", (time(8), time(21)))
    unknown = jurisdiction_rules("JP")
    assert (unknown.rules_from, unknown.recording_consent, unknown.window) == (
        None,
        None,
        (time(8), time(21)),
    )
    assert not check("+81312345678", "JP", utc(2026, 6, 17, 14, 0)).inside  # 23:00 in Tokyo


def test_us_federal_holidays_include_the_observed_days():
    holidays = us_federal_holidays(2026)
    assert holidays[date(2026, 7, 3)] == "Independence Day (observed)"  # July 4th 2026 is a Saturday
    assert holidays[date(2026, 11, 26)] == "Thanksgiving Day"
    assert holidays[date(2026, 5, 25)] == "Memorial Day"
    assert date(2027, 12, 31) in us_federal_holidays(2027)  # New Year's Day 2028 falls on a Saturday


def test_day_rules_are_normalized_and_a_bad_one_says_what_to_write():
    assert day_rules_clean({"sunday": " Closed ", "saturday": "10:00-17:00"}) == {
        "sunday": "closed",
        "saturday": "10:00-17:00",
    }
    assert day_rules_clean({"holidays": "closed", "holiday_dates": ["2026-4-3", "12-26"]})[
        "holiday_dates"
    ] == [
        "12-26",
        "2026-04-03",
    ]
    for bad, says in [
        ({"sunday": "noon"}, "closed"),
        ({"sunday": "18:00-09:00"}, "start before it ends"),
        ({"monday": "closed"}, "Unknown day rule"),
        ({"holidays": "closed"}, "holiday_calendar or holiday_dates"),
        ({"holidays": "closed", "holiday_dates": ["13-45"]}, "not a date"),
        ({"weekdays": "09:00-13:00,12:00-18:00"}, "overlap"),
        (["sunday"], "JSON object"),
    ]:
        with pytest.raises(DayRulesInvalid, match=says):
            day_rules_clean(bad)


def test_the_windows_of_a_day_are_every_rule_that_applies_at_once():
    rules = {"saturday": "10:00-18:00", "holidays": "13:00-21:00", "holiday_dates": ["06-20"]}
    windows, applied = windows_on(base=(time(9), time(21)), rules=rules, day=date(2026, 6, 20))  # a Saturday
    assert windows == [(time(13), time(18))]
    assert [rule["rule"] for rule in applied] == ["base", "saturday", "holidays"]
    assert day_rules_summary(rules) == ["Saturdays: 10:00–18:00", "Holidays (06-20): 13:00–21:00"]


def test_a_number_inside_calling_hours_can_be_found_at_any_hour():
    """tests.factories.number_inside_calling_hours, for tests that place calls through another process."""
    for day in (utc(2026, 1, 4), utc(2026, 7, 5)):  # Sundays in northern winter and summer
        for hour in range(24):
            now = day.replace(hour=hour, minute=17)
            number = number_inside_calling_hours("0150", now=now)
            assert number.endswith("0150")
            assert check(number, jurisdiction_for(number), now).inside
