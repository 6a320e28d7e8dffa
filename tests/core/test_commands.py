"""The foundation's management commands: sync_schedules and ensure_first_admin."""

from datetime import timedelta
from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from wordcab_admin import schedules
from wordcab_admin.kernel.roles import Role, role_of


def test_sync_schedules_writes_every_periodic_task_and_disables_dropped_ones(db, monkeypatch):
    monkeypatch.setattr(
        schedules,
        "PERIODIC",
        [("tick", "calls.dispatch_tick", timedelta(seconds=5)), ("sweep", "x.sweep", timedelta(minutes=10))],
    )
    call_command("sync_schedules")
    call_command("sync_schedules")  # idempotent
    tick = PeriodicTask.objects.get(name="tick")
    assert (tick.task, tick.interval.every, tick.interval.period, tick.enabled) == (
        "calls.dispatch_tick",
        5,
        "seconds",
        True,
    )
    assert PeriodicTask.objects.get(name="sweep").interval.every == 600

    monkeypatch.setattr(schedules, "PERIODIC", [("tick", "calls.dispatch_tick", timedelta(seconds=5))])
    call_command("sync_schedules")
    assert PeriodicTask.objects.get(name="sweep").enabled is False  # kept (staff may have edited it), off
    assert PeriodicTask.objects.get(name="tick").enabled is True


def test_the_real_schedule_list_syncs(db):
    call_command("sync_schedules")
    names = set(PeriodicTask.objects.filter(enabled=True).values_list("name", flat=True))
    assert names >= {name for name, _task, _every in schedules.PERIODIC}


def test_each_periodic_run_expires_after_its_interval_so_a_worker_back_from_an_outage_runs_one_sweep(db):
    call_command("sync_schedules")
    for name, _task, every in schedules.PERIODIC:
        assert PeriodicTask.objects.get(name=name).expire_seconds == int(every.total_seconds())


def test_the_sweeps_that_recover_lost_work_run_every_few_seconds():
    every = {task: interval for _name, task, interval in schedules.PERIODIC}
    assert every["calls.place_sweep"] <= timedelta(seconds=5)
    assert every["telephony.simulator_sweep"] <= timedelta(seconds=5)


def test_ensure_first_admin_creates_an_admin_once_and_prints_its_password_once(client, db):
    out = StringIO()
    call_command("ensure_first_admin", stdout=out)
    password = out.getvalue().strip()
    assert len(password) >= 12
    admin = get_user_model().objects.get(username="admin")
    assert role_of(admin) == Role.ADMIN
    assert client.login(username="admin", password=password)

    again = StringIO()
    call_command("ensure_first_admin", stdout=again)
    assert again.getvalue() == ""
    assert get_user_model().objects.count() == 1
