# The Campaign model moves here from calls. State only: the table (calls_campaign) and its rows stay
# where they are; calls/migrations/0003 points Call.campaign here and drops calls' copy of the state.

import django.db.models.deletion
import functools
import wordcab_admin.kernel.ids
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('agents', '0001_initial'),
        ('calls', '0002_recording_upload_tracking'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Campaign',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.CharField(default=functools.partial(wordcab_admin.kernel.ids.new_public_id, *('camp',), **{}), max_length=64, unique=True)),
                        ('name', models.CharField(max_length=200)),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('running', 'Running'), ('paused', 'Paused'), ('completed', 'Completed'), ('cancelled', 'Cancelled')], default='draft', max_length=16)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('agent', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='agents.agent')),
                    ],
                    options={
                        'db_table': 'calls_campaign',
                        'ordering': ['-id'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
