from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    name = "transcripts"

    def ready(self) -> None:
        from calls.announce import calls_changed
        from transcripts.receivers import analysis_on_calls_ended

        calls_changed.connect(analysis_on_calls_ended, dispatch_uid="transcripts.analysis_on_calls_ended")
