import factory
from django.contrib.auth import get_user_model

from agents.models import Agent, PhoneNumber
from calls.models import Call
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
