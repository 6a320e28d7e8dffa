"""The only module that announces call changes. The lifecycle calls it inside its transaction;
the message leaves only after commit, so a rolled-back change never reaches a browser."""

from django.db import transaction

from calls.models import Call


def publish_call_update_on_commit(call: Call) -> None:
    """Announce `call` to live viewers once the current transaction commits.

    The live-monitoring issue makes this broadcast through the channel layer (group "calls")."""
    transaction.on_commit(lambda: None)
