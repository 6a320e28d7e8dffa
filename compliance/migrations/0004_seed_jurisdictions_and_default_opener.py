from django.db import migrations

from compliance.seed import default_opener_seed, jurisdictions_seed


class Migration(migrations.Migration):
    dependencies = [("compliance", "0003_jurisdictions_do_not_call_retention_holds")]

    operations = [
        migrations.RunPython(jurisdictions_seed, migrations.RunPython.noop),
        migrations.RunPython(default_opener_seed, migrations.RunPython.noop),
    ]
