"""The audit log is append-only everywhere: through the ORM (one row, a queryset, a bulk update) and in the
Django admin, where nobody, a superuser included, may add, change or delete an event."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client, RequestFactory

from compliance.models import AuditEvent
from tests.factories import UserFactory
from wordcab_admin.kernel.audit import audit_record
from wordcab_admin.kernel.roles import Role

pytestmark = pytest.mark.django_db

CHANGELIST = "/django-admin/compliance/auditevent/"


@pytest.fixture
def event(alice) -> AuditEvent:
    return audit_record(
        actor=alice, action="number.assigned", object_type="phone_number", object_id="num_1",
        before={"agent_id": None}, after={"agent_id": "agent_abc"},
    )  # fmt: skip


@pytest.fixture
def root(db):
    """A superuser (`createsuperuser`): staff, every Django permission."""
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def unchanged(event: AuditEvent) -> bool:
    stored = AuditEvent.objects.get(pk=event.pk)
    return (stored.action, stored.object_id, stored.after) == (event.action, event.object_id, event.after)


# --- the ORM ------------------------------------------------------------------------------------------------


def test_an_event_cannot_be_saved_again_or_deleted(event):
    event.action = "number.unassigned"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    event.refresh_from_db()
    assert event.action == "number.assigned"


def test_a_queryset_cannot_update_bulk_update_or_delete_events(event):
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()
    event.action = "forged"
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():  # its own, as a caller's
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.filter(action="number.assigned").count() == 1


def test_deleting_the_actor_keeps_the_event_and_who_it_was(event, alice):
    get_user_model().objects.filter(pk=alice.pk).delete()
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_label, stored.action) == (None, "alice", "number.assigned")


# --- the Django admin ---------------------------------------------------------------------------------------


def test_a_superuser_reads_the_log_in_the_admin_without_a_way_to_add_or_delete(root, event):
    page = signed_in(root).get(CHANGELIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "num_1" in html
    assert f'href="{CHANGELIST}add/"' not in html
    assert 'name="action"' not in html  # no bulk action at all, so no "Delete selected"
    detail = signed_in(root).get(f"{CHANGELIST}{event.pk}/change/")
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()  # read-only: nothing to save


def test_no_one_adds_changes_or_deletes_an_event_in_the_admin_a_superuser_included(root, event):
    client = signed_in(root)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}add/", {"action": "forged", "object_id": "x"}).status_code == 403
    assert client.post(f"{CHANGELIST}{event.pk}/change/", {"action": "forged"}).status_code == 403
    assert client.get(f"{CHANGELIST}{event.pk}/delete/").status_code == 403
    assert client.post(f"{CHANGELIST}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert bulk.status_code in (200, 302)  # no such action: the list again, nothing deleted
    assert unchanged(event)
    assert AuditEvent.objects.count() == 1


def test_the_admin_grants_no_write_permission_to_anyone(root):
    model_admin = admin.site._registry[AuditEvent]
    request = RequestFactory().get(CHANGELIST)
    request.user = root
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


@pytest.mark.parametrize(
    ("role", "status"), [(Role.COMPLIANCE, 200), (Role.OPERATOR, 403), (Role.VIEWER, 403)]
)
def test_staff_read_the_log_in_the_admin_only_with_a_role_that_reads_the_audit_log(role, status, event):
    staff = UserFactory(username=f"staff-{role.value}", role=role, is_staff=True)
    assert signed_in(staff).get(CHANGELIST).status_code == status
