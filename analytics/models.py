"""The pre-aggregated call history the analytics read: one row per hour, agent, campaign, number and outcome.

A row counts the calls *created* in its hour (UTC; CallDaily: its UTC day) with that agent, campaign, our
number (the caller id of an outbound call, the called number of an inbound one) and that status, end reason
and error code (the parts of the outcome label, calls/outcomes.py). analytics/rollup.py is their only writer:
it re-aggregates whole hours, then their days from the hours, so a row is never incremented and a second run
writes the same rows."""

from django.db import models

from agents.models import Agent


class CallCounts(models.Model):
    """The grain and the measures both tables share."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    number = models.CharField(max_length=20, blank=True, default="")
    status = models.CharField(max_length=16)
    end_reason = models.CharField(max_length=16, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    calls = models.PositiveIntegerField(default=0)
    ended = models.PositiveIntegerField(default=0)
    connected = models.PositiveIntegerField(default=0)
    talk_seconds = models.FloatField(default=0.0, help_text="Answer to end, every answered call that ended.")
    handle_seconds = models.FloatField(default=0.0, help_text="Answer to end, connected calls only.")
    handled_calls = models.PositiveIntegerField(
        default=0, help_text="Connected calls whose talk time is known."
    )

    class Meta:
        abstract = True


class CallHourly(CallCounts):
    hour = models.DateTimeField(help_text="The start of the UTC hour the calls were created in.")

    class Meta:
        indexes = [models.Index(fields=["hour"], name="callhourly_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H:00} agent {self.agent_id}: {self.calls} calls"


class CallDaily(CallCounts):
    """CallHourly summed per UTC day, rewritten with its hours: a month's figures read ~30 rows per group and
    outcome instead of ~720 (bench_history)."""

    day = models.DateField(help_text="The UTC day the calls were created on.")

    class Meta:
        indexes = [models.Index(fields=["day"], name="calldaily_day")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} agent {self.agent_id}: {self.calls} calls"


class RollupWatermark(models.Model):
    """Where the rollup got to: the time its last run started reading. One row (name "calls")."""

    name = models.CharField(max_length=32, primary_key=True)
    read_from = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} rolled up to {self.read_from:%Y-%m-%d %H:%M:%S}"
