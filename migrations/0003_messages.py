from tortoise import migrations
from tortoise.migrations import operations as ops
from models.reports import ReportStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_profiles_privacy_audit')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=150)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='started_conversations', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_message_id', fields.BigIntField(default=0)),
            ],
            options={'table': 'conversations', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A private exchange between a few members.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='Forum',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('slug', fields.CharField(unique=True, max_length=60)),
                ('title', fields.CharField(max_length=120)),
                ('description', fields.TextField(null=True, unique=False)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'forums', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A board of public threads on one topic.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Participant',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='participations', on_delete=OnDelete.CASCADE)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('left_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_read_message_id', fields.BigIntField(default=0)),
                ('last_message_id', fields.BigIntField(default=0)),
            ],
            options={'table': 'participants', 'app': 'models', 'unique_together': (('conversation_id', 'user_id'),), 'indexes': [Index(fields=['user_id', 'left_at', 'last_message_id'])], 'pk_attr': 'id', 'table_description': "A member's place in a conversation, with how far they have read."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Thread',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('forum', fields.ForeignKeyField('models.Forum', source_field='forum_id', db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='threads', on_delete=OnDelete.SET_NULL)),
                ('title', fields.CharField(max_length=150)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_message_id', fields.BigIntField(default=0)),
            ],
            options={'table': 'threads', 'app': 'models', 'indexes': [Index(fields=['forum_id', 'last_message_id'])], 'pk_attr': 'id', 'table_description': 'A public discussion in a forum. The address columns record who opened it.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('thread', fields.ForeignKeyField('models.Thread', source_field='thread_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL)),
                ('body', fields.TextField(unique=False)),
                ('body_html', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('edited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('hidden_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messages', 'app': 'models', 'indexes': [Index(fields=['thread_id', 'id']), Index(fields=['conversation_id', 'id']), Index(fields=['author_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A post in a public thread or a private conversation.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='MessageEdit',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('models.Message', source_field='message_id', db_constraint=True, to_field='id', related_name='edits', on_delete=OnDelete.CASCADE)),
                ('previous_body', fields.TextField(unique=False)),
                ('edited_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'message_edits', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An earlier version of an edited message, and where the edit came from.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('models.Message', source_field='message_id', db_constraint=True, to_field='id', related_name='reports', on_delete=OnDelete.CASCADE)),
                ('reporter', fields.ForeignKeyField('models.User', source_field='reporter_id', null=True, db_constraint=True, to_field='id', related_name='reports_made', on_delete=OnDelete.SET_NULL)),
                ('reason', fields.CharField(max_length=1000)),
                ('status', fields.CharEnumField(default=ReportStatus.OPEN, description='OPEN: open\nRESOLVED: resolved\nDISMISSED: dismissed', enum_type=ReportStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('models.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='reports_resolved', on_delete=OnDelete.SET_NULL)),
                ('note', fields.CharField(null=True, max_length=1000)),
            ],
            options={'table': 'reports', 'app': 'models', 'indexes': [Index(fields=['status', 'id'])], 'pk_attr': 'id', 'table_description': 'A member asking moderators to look at a message.'},
            bases=['IpRecord'],
        ),
        ops.AlterModelOptions(
            name='PrivacySettings',
            options={'table': 'privacy_settings', 'app': 'models', 'pk_attr': 'user_id', 'table_description': 'One row per member who changed a setting, with every default spelt out.'},
        ),
        ops.AlterModelOptions(
            name='Profile',
            options={'table': 'profiles', 'app': 'models', 'pk_attr': 'user_id', 'table_description': 'What a member tells others about themselves, each field with its own audience.'},
        ),
    ]
