"""`client.agents` (`/v1/agents`) and `client.agents.calls` (`POST /v1/agents/{agent_id}/calls`)."""

from __future__ import annotations

import uuid
from typing import Any

from wordcab_admin.client._http import Transport
from wordcab_admin.client._pagination import Paginated
from wordcab_admin.client.models import Agent, Call
from wordcab_admin.client.resources._common import given, segment


class AgentCalls:
    def __init__(self, transport: Transport):
        self._transport = transport

    def create(
        self,
        *,
        agent_id: str,
        phone_number: str,
        context: dict[str, Any] | None = None,
        max_duration: int | None = None,
        record: bool | None = None,
        idempotency_key: str | None = None,
    ) -> Call:
        """Place an outbound call (E.164 `phone_number`). With the same `idempotency_key` and body the server
        answers the first call again; without one the client makes one up, so that its own retries after a
        dropped connection never place a second call. A compliance refusal raises ComplianceRefusal."""
        body = given(context=context, max_duration=max_duration, record=record)
        body["phone_number"] = phone_number
        body["idempotency_key"] = idempotency_key or str(uuid.uuid4())
        response = self._transport.request(
            "POST", f"/agents/{segment(agent_id)}/calls", json=body, idempotent=True
        )
        return Call(response.json())


class Agents:
    def __init__(self, transport: Transport):
        self._transport = transport
        self.calls = AgentCalls(transport)

    def create(
        self,
        *,
        name: str,
        agent_id: str | None = None,
        description: str | None = None,
        instructions: str | None = None,
        language: str | None = None,
        voice: str | None = None,
        max_duration: int | None = None,
        record: bool | None = None,
        active: bool | None = None,
        phone_numbers: list[str] | None = None,
    ) -> Agent:
        """A new agent; `agent_id` (e.g. `agent_abc`) names it, else the server does."""
        body = given(
            id=agent_id, name=name, description=description, instructions=instructions, language=language,
            voice=voice, max_duration=max_duration, record=record, active=active, phone_numbers=phone_numbers,
        )  # fmt: skip
        return Agent(self._transport.request("POST", "/agents", json=body).json())

    def get(self, agent_id: str) -> Agent:
        return Agent(self._transport.request("GET", f"/agents/{segment(agent_id)}").json())

    def list(self, *, search: str | None = None, active: bool | None = None, limit: int | None = None):
        """Every agent, newest first (`limit`: how many per page)."""
        params = {"search": search, "active": active, "limit": limit}
        return Paginated(self._transport, "/agents", params, Agent)

    def update(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        instructions: str | None = None,
        language: str | None = None,
        voice: str | None = None,
        max_duration: int | None = None,
        record: bool | None = None,
        active: bool | None = None,
        phone_numbers: list[str] | None = None,
    ) -> Agent:
        """Change the fields given. `phone_numbers` replaces the agent's set (a number another agent holds
        is a ConflictError, and nothing changes)."""
        body = given(
            name=name, description=description, instructions=instructions, language=language, voice=voice,
            max_duration=max_duration, record=record, active=active, phone_numbers=phone_numbers,
        )  # fmt: skip
        return Agent(self._transport.request("PATCH", f"/agents/{segment(agent_id)}", json=body).json())

    def disable(self, agent_id: str) -> Agent:
        """Disable the agent (it keeps its numbers); disabling it again changes nothing, so it is retried."""
        path = f"/agents/{segment(agent_id)}/disable"
        return Agent(self._transport.request("POST", path, idempotent=True).json())

    def enable(self, agent_id: str) -> Agent:
        path = f"/agents/{segment(agent_id)}/enable"
        return Agent(self._transport.request("POST", path, idempotent=True).json())
