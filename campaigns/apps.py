from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from calls.announce import calls_ended
        from campaigns.services import campaigns_finish_if_done

        calls_ended.connect(campaigns_finish_if_done, dispatch_uid="campaigns.finish_if_done")
