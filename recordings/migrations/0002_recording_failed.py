# A recording can fail for good (its spool could not be written, or vanished): status `failed`, with why and when.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('recordings', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='recording',
            name='failed_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='recording',
            name='failure_reason',
            field=models.CharField(blank=True, default='', help_text='Why the recording was lost (status failed).', max_length=300),
        ),
        migrations.AlterField(
            model_name='recording',
            name='status',
            field=models.CharField(choices=[('recording', 'Recording'), ('pending_upload', 'Pending Upload'), ('stored', 'Stored'), ('deleted', 'Deleted'), ('failed', 'Failed')], default='recording', max_length=16),
        ),
    ]
