from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_account_lifecycle')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Visit',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('visitor_key', fields.CharField(db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='visits', on_delete=OnDelete.SET_NULL)),
                ('started_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ended_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('page_views', fields.IntField(default=0)),
                ('country', fields.CharField(null=True, max_length=2)),
                ('browser', fields.CharField(null=True, max_length=60)),
                ('browser_version', fields.CharField(null=True, max_length=20)),
                ('operating_system', fields.CharField(null=True, max_length=60)),
                ('referrer_domain', fields.CharField(null=True, max_length=255)),
                ('referrer_internal', fields.BooleanField(default=False)),
                ('landing_path', fields.CharField(max_length=500)),
            ],
            options={'table': 'visits', 'app': 'models', 'indexes': [Index(fields=['visitor_key', 'ended_at'])], 'pk_attr': 'id', 'table_description': "A visitor's run of page views with no gap longer than half an hour."},
            bases=['IpRecord'],
        ),
        ops.CreateModel(
            name='PageView',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('visit', fields.ForeignKeyField('models.Visit', source_field='visit_id', db_constraint=True, to_field='id', related_name='views', on_delete=OnDelete.CASCADE)),
                ('path', fields.CharField(max_length=500)),
                ('previous_path', fields.CharField(null=True, max_length=500)),
                ('title', fields.CharField(null=True, max_length=200)),
                ('referrer_domain', fields.CharField(null=True, max_length=255)),
                ('referrer_internal', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'page_views', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One page shown, in order within its visit.'},
            bases=['Model'],
        ),
    ]
