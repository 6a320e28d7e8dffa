"""`client.numbers`: the phone number inventory, `/v1/numbers`."""

from __future__ import annotations

from typing import Any

from wordcab_admin.client._http import Transport
from wordcab_admin.client._pagination import Paginated
from wordcab_admin.client.models import PhoneNumber
from wordcab_admin.client.resources._common import given, segment

UNCHANGED: Any = object()  # update(): a field left as it is (None means "none": an unassigned number)


class Numbers:
    def __init__(self, transport: Transport):
        self._transport = transport

    def list(
        self,
        *,
        search: str | None = None,
        agent_id: str | None = None,
        provider: str | None = None,
        assigned: bool | None = None,
        limit: int | None = None,
    ) -> Paginated[PhoneNumber]:
        params = {"search": search, "agent_id": agent_id, "provider": provider, "assigned": assigned}
        return Paginated(self._transport, "/numbers", {**params, "limit": limit}, PhoneNumber)

    def create(
        self,
        number: str,
        *,
        provider: str | None = None,
        agent_id: str | None = None,
        friendly_name: str | None = None,
        sip_uri: str | None = None,
        sip_trunk: str | None = None,
    ) -> PhoneNumber:
        """Add a number (provider `simulator` unless given), optionally to an agent."""
        body = given(
            number=number, provider=provider, agent_id=agent_id, friendly_name=friendly_name,
            sip_uri=sip_uri, sip_trunk=sip_trunk,
        )  # fmt: skip
        return PhoneNumber(self._transport.request("POST", "/numbers", json=body).json())

    def get(self, number_id: str) -> PhoneNumber:
        """By id (`num_…`) or by the number itself (`+14155550111`)."""
        return PhoneNumber(self._transport.request("GET", f"/numbers/{segment(number_id)}").json())

    def update(
        self,
        number_id: str,
        *,
        agent_id: str | None = UNCHANGED,
        friendly_name: str = UNCHANGED,
        sip_uri: str = UNCHANGED,
        sip_trunk: str = UNCHANGED,
    ) -> PhoneNumber:
        """Change what is given; `agent_id=None` unassigns the number."""
        changes = {
            "agent_id": agent_id,
            "friendly_name": friendly_name,
            "sip_uri": sip_uri,
            "sip_trunk": sip_trunk,
        }
        body = {field: value for field, value in changes.items() if value is not UNCHANGED}
        path = f"/numbers/{segment(number_id)}"
        return PhoneNumber(self._transport.request("PATCH", path, json=body).json())

    def release(self, number_id: str) -> None:
        """Take the number out of the inventory (and off its agent)."""
        self._transport.request("DELETE", f"/numbers/{segment(number_id)}")
