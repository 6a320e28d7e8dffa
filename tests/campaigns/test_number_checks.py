"""campaigns/number_checks.py: an imported row's number is judged exactly as a single call's would be
(agents.phone.normalize_e164), whether in this process or in the helper process, which may die without
costing a verdict."""

import random

import phonenumbers
import pytest

from agents.phone import InvalidPhoneNumber, normalize_e164
from campaigns import number_checks
from campaigns.number_checks import NumberChecks, number_verdict, number_verdicts

# Country codes several regions share, where the region lookup decides what validation is left to do.
SHARED_CODES = [1, 7, 44, 47, 61, 212, 262, 290, 358, 590, 599]


def corpus(seed: int, size: int) -> list[str]:
    """Numbers as people type them, valid or not, in every country code, with the shared codes favoured."""
    rng = random.Random(seed)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)

    def digits(count: int) -> str:
        return "".join(rng.choice("0123456789") for _ in range(count))

    numbers = []
    for _ in range(size):
        pick = rng.random()
        if pick < 0.35:
            numbers.append(f"+{rng.choice(SHARED_CODES)}{digits(rng.randint(6, 11))}")
        elif pick < 0.65:
            numbers.append(f"+{rng.choice(codes)} {digits(rng.randint(4, 12))}")
        elif pick < 0.85:
            numbers.append("".join(rng.choice("0123456789 ()-.") for _ in range(rng.randint(3, 16))))
        else:
            numbers.append("".join(rng.choice("0123456789+ ext.x#*ab") for _ in range(rng.randint(0, 20))))
    # A valid example of every region: a full validation passes once, not twice.
    numbers += [
        phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        if (example := phonenumbers.example_number(region)) is not None
    ]
    return numbers


def normalize_e164_verdict(raw: str, region: str) -> tuple[str, str]:
    try:
        e164 = normalize_e164(raw, region=region)
    except InvalidPhoneNumber as exc:
        return "", exc.reason
    return e164, phonenumbers.region_code_for_number(phonenumbers.parse(e164))


@pytest.mark.parametrize("region", ["US", "GB", "FR"])
def test_each_verdict_and_region_is_what_normalize_e164_and_phonenumbers_say(region):
    numbers = corpus(seed=len(region) + ord(region[0]), size=15_000)
    verdicts = number_verdicts(numbers, region)
    expected = [normalize_e164_verdict(raw, region) for raw in numbers]
    differ = [
        (raw, got, want) for raw, got, want in zip(numbers, verdicts, expected, strict=True) if got != want
    ]
    assert differ == []
    assert sum(1 for e164, _ in verdicts if e164) > 1000  # the corpus has valid numbers of many regions


def test_the_reasons_complete_the_sentence_a_single_call_refuses_with():
    assert number_verdict("  ", "US") == ("", "it is empty")
    assert number_verdict("1" * 65, "US") == ("", "it is too long")
    assert number_verdict("hello", "US") == ("", "the string supplied did not seem to be a phone number")
    assert number_verdict("+1 415 555 01", "US") == (
        "",
        "no such number exists in its country's numbering plan",
    )
    assert number_verdict(" (415) 555-0101 ", "US") == ("+14155550101", "US")
    assert number_verdict("+1 268 464 1234", "US") == (
        "+12684641234",
        "AG",
    )  # a region told by leading digits


def test_phonenumbers_still_offers_its_pattern_cache():
    # number_checks turns it on; an upgrade without it would only be slower, so say so here.
    assert callable(getattr(phonenumbers, "enable_pattern_cache", None))


def test_the_helper_answers_batches_in_the_order_they_were_sent():
    batches = [corpus(seed=seed, size=300) for seed in range(6)]
    with NumberChecks("US", helper=True, depth=6) as checks:
        assert checks.helper is not None
        pending = [checks.submit(batch) for batch in batches]
        assert all(item.awaited is not None for item in pending)
        answers = [item.verdicts() for item in pending]
    assert answers == [number_verdicts(batch, "US") for batch in batches]


def test_batches_beyond_the_helpers_depth_are_checked_here():
    with NumberChecks("US", helper=True, depth=1) as checks:
        first, second = checks.submit(["+14155550101"]), checks.submit(["+14155550102"])
        assert first.awaited is not None
        assert second.awaited is None
        assert second.verdicts() == [("+14155550102", "US")]
        assert first.verdicts() == [("+14155550101", "US")]


def test_a_helper_that_dies_costs_no_verdict():
    batch = corpus(seed=11, size=2000)
    with NumberChecks("US", helper=True, depth=4) as checks:
        pending = checks.submit(batch)
        checks.helper.process.kill()
        after = checks.submit(["+14155550101"])
        assert pending.verdicts() == number_verdicts(batch, "US")
        assert after.verdicts() == [("+14155550101", "US")]
        checks.helper.process.wait(timeout=10)
        assert checks.submit(["nope"]).verdicts() == [
            ("", "the string supplied did not seem to be a phone number")
        ]


def test_without_an_interpreter_to_start_every_batch_is_checked_here(monkeypatch):
    monkeypatch.setattr(number_checks.sys, "executable", "/nonexistent/python")
    with NumberChecks("GB", helper=True) as checks:
        assert checks.helper is None
        assert checks.submit(["020 7946 0958"]).verdicts() == [("+442079460958", "GB")]
