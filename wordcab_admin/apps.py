from django.apps import AppConfig


class WordcabAdminConfig(AppConfig):
    name = "wordcab_admin"
    verbose_name = "Wordcab Admin"
