from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from calls.announce import calls_ended
        from campaigns.dispatch import contacts_settle_on_calls_ended

        # Settles the ended attempts' contacts (retry or outcome), then finishes the campaigns that are done.
        calls_ended.connect(contacts_settle_on_calls_ended, dispatch_uid="campaigns.settle")
