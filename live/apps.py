from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_out
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from calls.announce import calls_changed
        from live import principals
        from live.publisher import calls_changed_send, transcript_segments_send
        from transcripts.announce import transcript_segments_added
        from wordcab_admin.kernel.accounts import ApiKey

        calls_changed.connect(calls_changed_send, dispatch_uid="live.calls_changed")
        transcript_segments_added.connect(transcript_segments_send, dispatch_uid="live.transcript_segments")

        # A socket lives no longer than its credentials (live/principals.py says how).
        user_model = get_user_model()
        post_save.connect(principals.api_key_saved, sender=ApiKey, dispatch_uid="live.api_key_saved")
        post_delete.connect(principals.api_key_deleted, sender=ApiKey, dispatch_uid="live.api_key_deleted")
        post_save.connect(principals.user_saved, sender=user_model, dispatch_uid="live.user_saved")
        post_delete.connect(principals.user_deleted, sender=user_model, dispatch_uid="live.user_deleted")
        m2m_changed.connect(
            principals.user_groups_changed, sender=user_model.groups.through, dispatch_uid="live.user_groups"
        )
        user_logged_out.connect(principals.user_signed_out, dispatch_uid="live.user_signed_out")
