from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_response_cache')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingRegistration',
            fields=[
                ('ip_cipher', fields.TextField(null=True, unique=False)),
                ('ip_hash', fields.CharField(null=True, db_index=True, max_length=64)),
                ('user_agent', fields.CharField(default='', max_length=512)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('username', fields.CharField(max_length=30)),
                ('username_key', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(max_length=254)),
                ('email_key', fields.CharField(db_index=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('date_of_birth', fields.DateField()),
                ('newsletter', fields.BooleanField(default=False)),
                ('policy_version', fields.CharField(max_length=32)),
                ('token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pending_registrations', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A registration whose email link has not been opened yet.'},
            bases=['IpRecord'],
        ),
    ]
