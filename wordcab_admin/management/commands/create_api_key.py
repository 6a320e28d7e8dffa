from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from wordcab_admin.kernel.accounts import api_key_issue


class Command(BaseCommand):
    help = "Create an API key for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell keys apart.")

    def handle(self, *args, username: str, name: str, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(
                f"No user named {username!r}. Create one with `manage.py createsuperuser`."
            ) from None
        _, raw = api_key_issue(user=user, name=name or "command line", actor=None)  # audited as system
        self.stdout.write(raw)
        self.stderr.write("Store this key now: it will not be shown again.")
