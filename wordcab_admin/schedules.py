"""Every periodic task, listed once; `manage.py sync_schedules` writes them into django-celery-beat."""

from datetime import timedelta

# (name shown to staff, task name, interval)
PERIODIC: list[tuple[str, str, timedelta]] = []
