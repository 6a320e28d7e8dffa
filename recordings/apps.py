from django.apps import AppConfig


class RecordingsConfig(AppConfig):
    name = "recordings"

    def ready(self) -> None:
        # Registers the upload task in every process, so that services can queue it by name.
        from recordings import tasks  # noqa: F401
