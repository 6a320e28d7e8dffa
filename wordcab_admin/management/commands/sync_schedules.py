from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from wordcab_admin import schedules


class Command(BaseCommand):
    help = "Write the periodic tasks of wordcab_admin/schedules.py into django-celery-beat."

    @transaction.atomic
    def handle(self, *args, **options):
        names = []
        for name, task, every in schedules.PERIODIC:
            seconds = int(every.total_seconds())
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
            # A run not started within its interval is dropped: after an outage the worker finds one sweep
            # to run, not the hundreds beat sent meanwhile.
            PeriodicTask.objects.update_or_create(
                name=name,
                defaults={"task": task, "interval": interval, "enabled": True, "expire_seconds": seconds},
            )
            names.append(name)
        # Tasks we once scheduled but no longer list are disabled, not deleted: staff may have edited them.
        PeriodicTask.objects.filter(task__contains=".").exclude(name__in=names).exclude(
            task__startswith="celery."
        ).update(enabled=False)
