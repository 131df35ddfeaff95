from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.accounts import TokenPurpose
from models.base import Role
from models.policy import ConsentKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='OutboxMail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('to_address', fields.CharField(max_length=254)),
                ('subject', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('headers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'outbox', 'app': 'models', 'indexes': [Index(fields=['sent_at', 'next_attempt_at'])], 'pk_attr': 'id', 'table_description': 'An email waiting for delivery, or the record that it was delivered.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PolicyVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.CharField(unique=True, max_length=32)),
                ('body', fields.TextField(unique=False)),
                ('summary_of_changes', fields.TextField(null=True, unique=False)),
                ('published_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'policy_versions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One published version of the privacy policy.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RateCounter',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=200)),
                ('count', fields.IntField(default=0)),
                ('expires_at', fields.FloatField(db_index=True)),
            ],
            options={'table': 'rate_counters', 'app': 'models', 'pk_attr': 'key', 'table_description': 'A fixed-window counter. Keys hold keyed hashes, never raw addresses.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(unique=True, max_length=30)),
                ('username_key', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(max_length=254)),
                ('email_key', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('date_of_birth', fields.DateField()),
                ('role', fields.CharEnumField(default=Role.MEMBER, description='MEMBER: member\nMODERATOR: moderator\nADMIN: admin', enum_type=Role, max_length=16)),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('email_confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('suspended_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('suspension_reason', fields.CharField(null=True, max_length=500)),
                ('newsletter', fields.BooleanField(default=False)),
                ('password_changed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'models', 'indexes': [Index(fields=['joined_at', 'id'])], 'pk_attr': 'id', 'table_description': 'A member account. The address columns hold where it registered from.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='Consent',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='PRIVACY_POLICY: privacy_policy\nNEWSLETTER: newsletter\nTHIRD_PARTY_SHARING: third_party_sharing\nANALYTICS: analytics', enum_type=ConsentKind, max_length=32)),
                ('granted', fields.BooleanField()),
                ('policy_version', fields.CharField(null=True, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consents', 'app': 'models', 'indexes': [Index(fields=['user_id', 'kind', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A grant or withdrawal, never updated: the newest row per kind is in force.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='EmailToken',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='email_tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='CONFIRM_EMAIL: confirm_email\nRESET_PASSWORD: reset_password\nCHANGE_EMAIL: change_email', enum_type=TokenPurpose, max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'email_tokens', 'app': 'models', 'indexes': [Index(fields=['user_id', 'purpose', 'used_at'])], 'pk_attr': 'id', 'table_description': 'A one-time token mailed to an address, of which only the hash is kept.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sessions', 'app': 'models', 'indexes': [Index(fields=['user_id', 'revoked_at'])], 'pk_attr': 'id', 'table_description': 'A signed-in browser, whose cookie token is stored only as a hash.'},
            bases=['IpRecord'],
        ),
    ]
