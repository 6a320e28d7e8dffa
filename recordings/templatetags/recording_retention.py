"""Retention on pages of apps below recordings, which may not import it (docs/architecture.md, "How a
lower app reaches up"):

- `{% recording_retention call.recording as retention %}` on the call page (templates/calls/_recording.html):
  the rule that sets the recording's expiry, the holds that keep it, its deletion receipt;
- `{% retention_sweep_plan as plan %}` on compliance's dry-run page: what the next sweep would delete, and
  what holds keep (recordings/retention.py `retention_sweep_plan`)."""

from django import template

from recordings import retention
from recordings.models import Recording

register = template.Library()


@register.simple_tag
def recording_retention(recording: Recording | None) -> retention.RecordingRetention | None:
    return retention.recording_retention(recording) if recording is not None else None


PAGE_LISTED = 200  # a page lists fewer than the API: the counts are whole either way


@register.simple_tag
def retention_sweep_plan() -> retention.SweepPlan:
    return retention.retention_sweep_plan(limit=PAGE_LISTED)
