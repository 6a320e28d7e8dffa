"""The wallboard's numbers: counts by state, today's outcomes."""

from django.db.models import Count, Q
from django.utils import timezone

from calls.models import Call, CallStatus


def dashboard_context() -> dict:
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    counts = Call.objects.aggregate(
        ringing=Count("id", filter=Q(status=CallStatus.RINGING)),
        in_progress=Count("id", filter=Q(status=CallStatus.IN_PROGRESS)),
        completed_today=Count("id", filter=Q(status=CallStatus.COMPLETED, created_at__gte=today)),
        failed_today=Count("id", filter=Q(status=CallStatus.FAILED, created_at__gte=today)),
        no_answer_today=Count("id", filter=Q(status=CallStatus.NO_ANSWER, created_at__gte=today)),
    )
    active = Call.objects.filter(status__in=CallStatus.active()).select_related("agent")[:100]
    return {"counts": counts, "active_calls": active, "has_calls": Call.objects.exists()}
