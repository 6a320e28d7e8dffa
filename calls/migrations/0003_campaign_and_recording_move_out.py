# Campaign moved to campaigns, Recording to recordings (their 0001 migrations). State only: the tables
# and their rows stay; Call.campaign's foreign key already points at calls_campaign. Content types (and
# so permissions and admin log entries) follow the models to their new apps.

import django.db.models.deletion
from django.db import migrations, models

MOVED = {"campaign": "campaigns", "recording": "recordings"}


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        if not ContentType.objects.filter(app_label=app_label, model=model).exists():
            ContentType.objects.filter(app_label="calls", model=model).update(app_label=app_label)


def content_types_return(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model, app_label in MOVED.items():
        if not ContentType.objects.filter(app_label="calls", model=model).exists():
            ContentType.objects.filter(app_label=app_label, model=model).update(app_label="calls")


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0002_recording_upload_tracking'),
        ('campaigns', '0001_initial'),
        ('recordings', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='call',
                    name='campaign',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='calls', to='campaigns.campaign'),
                ),
                migrations.DeleteModel(name='Recording'),
                migrations.DeleteModel(name='Campaign'),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_follow, content_types_return),
    ]
