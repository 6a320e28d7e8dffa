from functools import partial

from django.db import models

from agents.models import Agent
from wordcab_admin.kernel.ids import new_public_id


class CampaignStatus(models.TextChoices):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Campaign(models.Model):
    """Outbound campaigns (CSV upload, dispatch) arrive with the campaigns issue; calls already point here.

    The table keeps the name it had when this model lived in calls (moved state-only: migrations 0001)."""

    public_id = models.CharField(max_length=64, unique=True, default=partial(new_public_id, "camp"))
    name = models.CharField(max_length=200)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="campaigns")
    status = models.CharField(max_length=16, choices=CampaignStatus, default=CampaignStatus.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "calls_campaign"
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name
