from tortoise import migrations
from tortoise.migrations import operations as ops
from models.rights import CorrectionStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_messages')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CorrectionRequest',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='corrections', on_delete=OnDelete.CASCADE)),
                ('field', fields.CharField(max_length=40)),
                ('proposed_value', fields.CharField(max_length=500)),
                ('reason', fields.CharField(max_length=1000)),
                ('status', fields.CharEnumField(default=CorrectionStatus.OPEN, description='OPEN: open\nAPPLIED: applied\nREJECTED: rejected', enum_type=CorrectionStatus, max_length=16)),
                ('response', fields.CharField(null=True, max_length=1000)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.ForeignKeyField('models.User', source_field='resolved_by_id', null=True, db_constraint=True, to_field='id', related_name='corrections_resolved', on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'correction_requests', 'app': 'models', 'indexes': [Index(fields=['status', 'id']), Index(fields=['user_id', 'id'])], 'pk_attr': 'id', 'table_description': 'A member asking for a change to data they cannot change themselves.'},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='Newsletter',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('subject', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('sent_by', fields.ForeignKeyField('models.User', source_field='sent_by_id', null=True, db_constraint=True, to_field='id', related_name='newsletters', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('recipients', fields.IntField(default=0)),
            ],
            options={'table': 'newsletters', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A newsletter an admin sent, and to how many members.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Session',
            name='browser',
            field=fields.CharField(null=True, max_length=60),
        ),
        ops.AddField(
            model_name='Session',
            name='country',
            field=fields.CharField(null=True, max_length=2),
        ),
        ops.AddField(
            model_name='Session',
            name='operating_system',
            field=fields.CharField(null=True, max_length=60),
        ),
        ops.AddField(
            model_name='User',
            name='analytics_opt_out',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='User',
            name='deleted_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
