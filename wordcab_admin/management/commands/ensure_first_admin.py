from django.core.management.base import BaseCommand

from wordcab_admin.kernel.accounts import first_admin_ensure


class Command(BaseCommand):
    help = "On a fresh install, create the `admin` user and print its one-time password (prints nothing otherwise)."

    def handle(self, *args, **options):
        created = first_admin_ensure()
        if created:
            self.stdout.write(created[1])
