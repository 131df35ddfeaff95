from tortoise import migrations
from tortoise.migrations import operations as ops
from models.notifications import NotificationKind
from models.privacy import Audience
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


class AddMentionAudience(ops.AddField):
    """AddField for the model state; hand-written SQL with a default for the database:
    Tortoise writes no SQL default, and both databases refuse a NOT NULL column without
    one on a table that has rows (every member who changed a setting has one)."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if not state_editor:
            return
        await state_editor.client.execute_script(
            "ALTER TABLE privacy_settings ADD COLUMN \"who_can_mention\" "
            "VARCHAR(16) NOT NULL DEFAULT 'members'"
        )


class Migration(migrations.Migration):
    dependencies = [('models', '0010_staff_tools')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Block',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blocker', fields.ForeignKeyField('models.User', source_field='blocker_id', db_constraint=True, to_field='id', related_name='block_rows', on_delete=OnDelete.CASCADE)),
                ('blocked', fields.ForeignKeyField('models.User', source_field='blocked_id', db_constraint=True, to_field='id', related_name='blocked_by_rows', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'blocks', 'app': 'models', 'unique_together': (('blocker_id', 'blocked_id'),), 'indexes': [Index(fields=['blocker_id', 'id']), Index(fields=['blocked_id'])], 'pk_attr': 'id', 'table_description': 'Blocker blocks blocked. Silent: nothing the blocked member reads tells them.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('models.User', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='REPLY: reply\nMENTION: mention\nCONVERSATION_MESSAGE: conversation_message\nNEW_FOLLOWER: new_follower\nMODERATION: moderation', enum_type=NotificationKind, max_length=24)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='caused_notifications', on_delete=OnDelete.SET_NULL)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('message', fields.ForeignKeyField('models.Message', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('text', fields.CharField(null=True, max_length=500)),
                ('in_app', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('mail_pending', fields.BooleanField(default=False, db_index=True)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['recipient_id', 'id']), Index(fields=['recipient_id', 'read_at'])], 'pk_attr': 'id', 'table_description': 'Something that happened for a member, shown through the usual read rules.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationSetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notification_settings', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='REPLY: reply\nMENTION: mention\nCONVERSATION_MESSAGE: conversation_message\nNEW_FOLLOWER: new_follower\nMODERATION: moderation', enum_type=NotificationKind, max_length=24)),
                ('in_app', fields.BooleanField(default=True)),
                ('email', fields.BooleanField(default=False)),
            ],
            options={'table': 'notification_settings', 'app': 'models', 'unique_together': (('user_id', 'kind'),), 'pk_attr': 'id', 'table_description': "A member's choice for one kind (members who never chose have no row: defaults)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ThreadWatch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'thread_watches', 'app': 'models', 'unique_together': (('user_id', 'thread_id'),), 'indexes': [Index(fields=['thread_id'])], 'pk_attr': 'id', 'table_description': 'A member watches a thread: its replies notify them.'},
            bases=['Model'],
        ),
        AddMentionAudience(
            model_name='PrivacySettings',
            name='who_can_mention',
            field=fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16),
        ),
    ]
