"""Staff tools: warnings, reports' frozen snapshot of the reported text, and threads
that can be locked and pinned (the forum page's index leads with pinned).

Reports made before this step get the reported message's current body as snapshot:
the best evidence left of what was reported.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


FILL_SNAPSHOTS = (
    "UPDATE reports SET snapshot = "
    "(SELECT messages.body FROM messages WHERE messages.id = reports.message_id)"
)


async def fill_snapshots(apps, schema_editor) -> None:
    await schema_editor.client.execute_query(FILL_SNAPSHOTS)


async def keep_snapshots(apps, schema_editor) -> None:
    pass  # the column goes with the step; nothing to undo by hand


class Migration(migrations.Migration):
    dependencies = [('models', '0008_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Warning',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='warnings', on_delete=OnDelete.CASCADE)),
                ('issued_by', fields.ForeignKeyField('models.User', source_field='issued_by_id', null=True, db_constraint=True, to_field='id', related_name='warnings_issued', on_delete=OnDelete.SET_NULL)),
                ('reason', fields.CharField(max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'warnings', 'app': 'models', 'indexes': [Index(fields=['user_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A formal warning a staff member gave a member, with its reason.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Report',
            name='snapshot',
            field=fields.TextField(default='', unique=False),
        ),
        ops.RunPython(fill_snapshots, keep_snapshots),
        ops.RemoveIndex(
            model_name='Thread',
            name=None,
            fields=['forum_id', 'last_message_id'],
        ),
        ops.AddField(
            model_name='Thread',
            name='locked',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Thread',
            name='pinned',
            field=fields.BooleanField(default=False),
        ),
        ops.AddIndex(
            model_name='Thread',
            index=Index(fields=['forum_id', 'pinned', 'last_message_id']),
        ),
    ]
