from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outbound webhooks. Stands above campaigns and below telephony: it hears what calls, recordings and
    campaigns announce (their signals, connected here) and none of them knows it exists."""

    name = "webhooks"

    def ready(self) -> None:
        from calls.announce import calls_changed
        from campaigns.services import campaigns_completed
        from transcripts.announce import call_analysed
        from webhooks import emit

        calls_changed.connect(emit.events_from_calls_changed, dispatch_uid="webhooks.calls_changed")
        call_analysed.connect(emit.events_from_call_analysed, dispatch_uid="webhooks.call_analysed")
        campaigns_completed.connect(
            emit.events_from_campaigns_completed, dispatch_uid="webhooks.campaigns_completed"
        )
