import hashlib
from datetime import UTC, datetime, time

import factory
from django.contrib.auth import get_user_model

from agents.models import Agent, PhoneNumber
from agents.phone import jurisdiction_for
from calls.models import Call
from compliance.calling_windows import number_inside_calling_hours as windows_number_inside_calling_hours
from compliance.jurisdictions import JurisdictionRules
from compliance.models import ConsentOpener, DoNotCall, DoNotCallSource, Jurisdiction, RecordingConsent
from compliance.seed import jurisdiction_rows
from wordcab_admin.kernel.accounts import user_set_role
from wordcab_admin.kernel.roles import Role


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def role(self, create: bool, extracted: Role | None, **kwargs):
        self.save()
        if extracted:
            user_set_role(user=self, role=extracted)


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    name = factory.Sequence(lambda n: f"Agent {n}")
    instructions = "Remind the customer of their appointment."


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    number = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    jurisdiction = "US-CA"


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    agent = factory.SubFactory(AgentFactory)
    to_number = "+14155550123"


class JurisdictionFactory(factory.django.DjangoModelFactory):
    """A jurisdiction with these rules, whether the migration seeded its row or not (the row is updated)."""

    class Meta:
        model = Jurisdiction

    code = "US-CA"
    name = factory.LazyAttribute(lambda row: row.code)
    country = factory.LazyAttribute(lambda row: row.code[:2])
    recording_consent = RecordingConsent.ONE_PARTY
    calling_start = time(8, 0)
    calling_end = time(21, 0)
    day_rules = factory.LazyFunction(dict)
    calling_days_note = ""
    source = ""
    needs_review = False

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        code = kwargs.pop("code")
        row, _ = model_class.objects.update_or_create(code=code, defaults=kwargs)
        return row


class DoNotCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DoNotCall

    number = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    reason = "Asked not to be called again"
    source = DoNotCallSource.API


def _seeded_rules(code: str) -> JurisdictionRules:
    row = next(row for row in jurisdiction_rows() if row["code"] == code)
    window = (row["calling_start"], row["calling_end"])
    return JurisdictionRules(code=code, rules_from=code, window=window, day_rules=row["day_rules"])


def number_inside_calling_hours(
    last_four: str = "0123", *, now: datetime | None = None, minutes: int = 30
) -> str:
    """A number ending in `last_four` that a call may be placed to at the wall clock's time and for the next
    `minutes` too, by the seeded rules (compliance/data/jurisdictions.csv): for tests whose calls go through
    a separate server process, whose clearance clock a test cannot fix."""
    now = now or datetime.now(UTC)
    number = windows_number_inside_calling_hours(
        last_four, rules_for=_seeded_rules, jurisdiction_of=jurisdiction_for, now=now, minutes=minutes
    )
    if number is None:
        raise AssertionError(
            f"no number ending in {last_four} is inside its calling hours at {now:%H:%M} UTC"
        )
    return number


class ConsentOpenerFactory(factory.django.DjangoModelFactory):
    """An opener with stand-in audio (a second of μ-law silence): for tests of which opener is chosen."""

    class Meta:
        model = ConsentOpener

    jurisdiction = ""
    language = "en-US"
    text = factory.LazyAttribute(lambda opener: f"Opener for {opener.jurisdiction or 'the default'}.")
    audio = b"\xff" * 8000
    duration_seconds = 1.0
    audio_sha256 = factory.LazyAttribute(lambda opener: hashlib.sha256(opener.audio).hexdigest())


class CampaignFactory(factory.django.DjangoModelFactory):
    """A campaign as an import leaves it (a draft), without contacts: add them with ContactFactory."""

    class Meta:
        model = "campaigns.Campaign"

    name = factory.Sequence(lambda n: f"Campaign {n}")
    agent = factory.SubFactory(AgentFactory)
    file_name = "contacts.csv"
    columns = factory.LazyFunction(lambda: ["name", "phone"])
    phone_column = "phone"


class ContactFactory(factory.django.DjangoModelFactory):
    """A pending contact of a campaign, row after row."""

    class Meta:
        model = "campaigns.Contact"

    campaign = factory.SubFactory(CampaignFactory)
    row = factory.Sequence(lambda n: n + 2)
    phone_number = factory.Sequence(lambda n: f"+1415555{(n + 1000) % 10000:04d}")
    raw_number = factory.LazyAttribute(lambda contact: contact.phone_number)
    context = factory.LazyFunction(lambda: {"name": "Jane Doe"})
