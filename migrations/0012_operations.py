from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_safety_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Lease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('holder', fields.CharField(default='', max_length=80)),
                ('until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leases', 'app': 'models', 'pk_attr': 'name', 'table_description': "A periodic job's turn: whichever worker moves `until` forward runs it, the rest wait"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='KeyFingerprints',
            fields=[
                ('setting', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=20)),
                ('fingerprints', fields.JSONField(default=list)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'key_fingerprints', 'app': 'models', 'pk_attr': 'setting', 'table_description': 'Fingerprints of the keys every host must share (never the keys themselves)'},
            bases=['Model'],
        ),
    ]
