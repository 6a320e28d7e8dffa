from django.apps import AppConfig


class WordcabAdminConfig(AppConfig):
    name = "wordcab_admin"
    verbose_name = "Wordcab Admin"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from wordcab_admin.kernel import auth
        from wordcab_admin.kernel.fastpath.async_middleware import deploy_checks_see_subclasses

        deploy_checks_see_subclasses()
        # The sign-in lockout is audited; a one-time password is noted in the session at sign-in.
        user_login_failed.connect(auth.sign_in_failure_audit, dispatch_uid="wordcab_sign_in_failure_audit")
        user_locked_out.connect(auth.sign_in_lockout_audit, dispatch_uid="wordcab_sign_in_lockout_audit")
        user_logged_in.connect(auth.password_change_pending_note, dispatch_uid="wordcab_password_change")
