from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"

    def ready(self) -> None:
        from calls.announce import calls_changed
        from live.publisher import calls_changed_send

        calls_changed.connect(calls_changed_send, dispatch_uid="live.calls_changed")
