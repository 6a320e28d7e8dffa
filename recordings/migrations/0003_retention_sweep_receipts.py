# Retention (#15.6): the sweep's claim on a recording, its index of stored recordings by expiry, a deletion
# receipt per recording deleted, and the expiry recomputes that policy changes ask for.

import django.db.models.deletion
import functools
import wordcab_admin.kernel.ids
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0005_call_outbox_and_lost_end'),
        ('recordings', '0002_recording_failed'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExpiryRecompute',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('agent_id', models.BigIntegerField(blank=True, help_text="The agent's pk; empty = any agent.", null=True)),
                ('jurisdiction', models.CharField(blank=True, default='', help_text='Empty = any.', max_length=8)),
                ('requested_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
        migrations.CreateModel(
            name='RecordingDeletionReceipt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('public_id', models.CharField(default=functools.partial(wordcab_admin.kernel.ids.new_public_id, *('rcpt',), **{}), max_length=64, unique=True)),
                ('call_public_id', models.CharField(help_text='Kept as text: the receipt outlives anything.', max_length=64)),
                ('store', models.CharField(help_text='s3://bucket or the local folder it was deleted from.', max_length=300)),
                ('storage_key', models.CharField(max_length=500)),
                ('sha256', models.CharField(blank=True, default='', max_length=64)),
                ('size_bytes', models.BigIntegerField(blank=True, null=True)),
                ('stored_at', models.DateTimeField(blank=True, null=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('deleted_at', models.DateTimeField()),
                ('retention_days', models.PositiveIntegerField()),
                ('retention_scope', models.CharField(help_text='agent+jurisdiction, agent, jurisdiction or default', max_length=20)),
                ('retention_policy_id', models.CharField(blank=True, default='', help_text='ret_…; empty = the deployment default', max_length=64)),
                ('requested_by', models.CharField(help_text="Who ran the sweep: a username, or 'system'.", max_length=150)),
            ],
            options={
                'ordering': ['-id'],
            },
        ),
        migrations.AddField(
            model_name='recording',
            name='sweep_claimed_until',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='recording',
            name='sweep_token',
            field=models.CharField(blank=True, default='', editable=False, max_length=32),
        ),
        migrations.AddIndex(
            model_name='recording',
            index=models.Index(condition=models.Q(('status', 'stored')), fields=['expires_at'], name='recording_stored_expiry'),
        ),
        migrations.AddField(
            model_name='recordingdeletionreceipt',
            name='call',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='calls.call'),
        ),
        migrations.AddField(
            model_name='recordingdeletionreceipt',
            name='recording',
            field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='deletion_receipt', to='recordings.recording'),
        ),
    ]
