from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.privacy import Audience
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='audit_actions', on_delete=OnDelete.SET_NULL)),
                ('action', fields.CharField(max_length=64)),
                ('subject', fields.ForeignKeyField('models.User', source_field='subject_id', null=True, db_constraint=True, to_field='id', related_name='audit_subject_of', on_delete=OnDelete.SET_NULL)),
                ('fields_read', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reason', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'indexes': [Index(fields=['subject_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Who did what to whose data, and why. Append-only.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('follower', fields.ForeignKeyField('models.User', source_field='follower_id', db_constraint=True, to_field='id', related_name='following_rows', on_delete=OnDelete.CASCADE)),
                ('followee', fields.ForeignKeyField('models.User', source_field='followee_id', db_constraint=True, to_field='id', related_name='follower_rows', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'follows', 'app': 'models', 'unique_together': (('follower_id', 'followee_id'),), 'indexes': [Index(fields=['followee_id', 'id']), Index(fields=['follower_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Follower follows followee.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PrivacySettings',
            fields=[
                ('user', fields.OneToOneField('models.User', source_field='user_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='privacy', on_delete=OnDelete.CASCADE)),
                ('email', fields.CharEnumField(default=Audience.ONLY_ME, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('date_of_birth', fields.CharEnumField(default=Audience.ONLY_ME, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('age', fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('last_seen', fields.CharEnumField(default=Audience.EVERYONE, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('bio', fields.CharEnumField(default=Audience.EVERYONE, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('location', fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('website', fields.CharEnumField(default=Audience.EVERYONE, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('diet_plan', fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('weight_journey', fields.CharEnumField(default=Audience.ONLY_ME, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('followers', fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('following', fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('who_can_message', fields.CharEnumField(default=Audience.MEMBERS, description='EVERYONE: everyone\nMEMBERS: members\nFOLLOWING: following\nONLY_ME: only_me', enum_type=Audience, max_length=16)),
                ('listed_in_members', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'privacy_settings', 'app': 'models', 'pk_attr': 'user_id', 'table_description': 'One row per member who changed a setting, with every default spelt out.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Profile',
            fields=[
                ('user', fields.OneToOneField('models.User', source_field='user_id', primary_key=True, db_index=True, db_constraint=True, to_field='id', related_name='profile', on_delete=OnDelete.CASCADE)),
                ('bio', fields.TextField(null=True, unique=False)),
                ('location', fields.CharField(null=True, max_length=100)),
                ('website', fields.CharField(null=True, max_length=200)),
                ('diet_plan', fields.CharField(null=True, max_length=100)),
                ('start_weight_kg', fields.DecimalField(null=True, max_digits=5, decimal_places=1)),
                ('current_weight_kg', fields.DecimalField(null=True, max_digits=5, decimal_places=1)),
                ('goal_weight_kg', fields.DecimalField(null=True, max_digits=5, decimal_places=1)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'profiles', 'app': 'models', 'pk_attr': 'user_id', 'table_description': 'What a member tells others about themselves, each field with its own audience.'},
            bases=['Model'],
        ),
    ]
