"""Staff tools: warnings, reports' frozen snapshot of the reported text, and threads
that can be locked and pinned (the forum page's index leads with pinned).

Reports made before this step get the reported message's current body as snapshot:
the best evidence left of what was reported. The new NOT NULL columns are added by
hand: Tortoise writes no SQL default for them, and both databases refuse a NOT NULL
column without one on a table that has rows.
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
# (table, column) -> the column's SQL on SQLite and on PostgreSQL, with a default.
COLUMNS = {
    ("reports", "snapshot"): ("TEXT NOT NULL DEFAULT ''", "TEXT NOT NULL DEFAULT ''"),
    ("threads", "locked"): ("INT NOT NULL DEFAULT 0", "BOOL NOT NULL DEFAULT FALSE"),
    ("threads", "pinned"): ("INT NOT NULL DEFAULT 0", "BOOL NOT NULL DEFAULT FALSE"),
}


class AddColumn(ops.AddField):
    """AddField for the model state; hand-written SQL with a default for the database."""

    def __init__(self, model_name, name, field, table) -> None:
        super().__init__(model_name, name, field)
        self.table = table

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if not state_editor:
            return
        client = state_editor.client
        sqlite, postgres = COLUMNS[(self.table, self.name)]
        kind = sqlite if client.capabilities.dialect == "sqlite" else postgres
        await client.execute_script(f'ALTER TABLE {self.table} ADD COLUMN "{self.name}" {kind}')
        if self.name == "snapshot":
            await client.execute_script(FILL_SNAPSHOTS)


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
        AddColumn(
            model_name='Report',
            name='snapshot',
            field=fields.TextField(default='', unique=False),
            table='reports',
        ),
        ops.RemoveIndex(
            model_name='Thread',
            name=None,
            fields=['forum_id', 'last_message_id'],
        ),
        AddColumn(
            model_name='Thread',
            name='locked',
            field=fields.BooleanField(default=False),
            table='threads',
        ),
        AddColumn(
            model_name='Thread',
            name='pinned',
            field=fields.BooleanField(default=False),
            table='threads',
        ),
        ops.AddIndex(
            model_name='Thread',
            index=Index(fields=['forum_id', 'pinned', 'last_message_id']),
        ),
    ]
