# The Recording model moves here from calls. State only: the table (calls_recording) and its rows stay
# where they are; calls/migrations/0003 drops calls' copy of the state.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('calls', '0002_recording_upload_tracking'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Recording',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('recording', 'Recording'), ('pending_upload', 'Pending Upload'), ('stored', 'Stored'), ('deleted', 'Deleted')], default='recording', max_length=16)),
                        ('local_path', models.CharField(blank=True, default='', help_text='Spool file until uploaded.', max_length=500)),
                        ('storage_key', models.CharField(blank=True, default='', max_length=500)),
                        ('size_bytes', models.BigIntegerField(blank=True, null=True)),
                        ('duration_seconds', models.FloatField(blank=True, null=True)),
                        ('sha256', models.CharField(blank=True, default='', max_length=64)),
                        ('peaks', models.JSONField(blank=True, default=list, help_text='Waveform peaks for the player.')),
                        ('upload_attempts', models.PositiveIntegerField(default=0)),
                        ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, default='', help_text='Why the last upload failed.', max_length=300)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('stored_at', models.DateTimeField(blank=True, null=True)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('deleted_at', models.DateTimeField(blank=True, null=True)),
                        ('call', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='recording', to='calls.call')),
                    ],
                    options={
                        'db_table': 'calls_recording',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
