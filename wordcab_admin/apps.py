from django.apps import AppConfig


class WordcabAdminConfig(AppConfig):
    name = "wordcab_admin"
    verbose_name = "Wordcab Admin"

    def ready(self) -> None:
        from wordcab_admin.kernel.fastpath.async_middleware import deploy_checks_see_subclasses

        deploy_checks_see_subclasses()
