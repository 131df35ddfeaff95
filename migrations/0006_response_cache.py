from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# Everything a signed-out reader can see lives in these tables. A write to any of them
# moves cache_version on, in the writer's own transaction, so a cached anonymous page
# can never outlive a change that commits (whoever makes it: any worker, the CLI, SQL).
PUBLIC_TABLES = (
    "profiles",
    "privacy_settings",
    "follows",
    "forums",
    "threads",
    "messages",
    "policy_versions",
)
# Every column of users but last_seen_at: sign-ins touch that one every few minutes,
# and a page showing it (to the quarter hour) may lag by the cache's time to live.
USER_COLUMNS = (
    "ip_cipher", "ip_hash", "user_agent", "id", "username", "username_key", "email",
    "email_key", "password_hash", "date_of_birth", "role", "joined_at",
    "email_confirmed_at", "suspended_until", "suspension_reason", "newsletter",
    "password_changed_at", "analytics_opt_out", "deleted_at",
)
BUMP = "UPDATE cache_version SET version = version + 1 WHERE id = 1"


def _events(table: str) -> list[str]:
    update = f"UPDATE OF {', '.join(USER_COLUMNS)}" if table == "users" else "UPDATE"
    return ["INSERT", "DELETE", update]


def _sqlite() -> list[str]:
    statements = []
    for table in ("users", *PUBLIC_TABLES):
        for number, event in enumerate(_events(table)):
            statements.append(
                f"CREATE TRIGGER cache_{table}_{number} AFTER {event} ON {table} "
                f"BEGIN {BUMP}; END"
            )
    return statements


def _postgres() -> list[str]:
    statements = [
        "CREATE FUNCTION bump_cache_version() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
    ]
    for table in ("users", *PUBLIC_TABLES):
        statements.append(
            f"CREATE TRIGGER cache_{table} AFTER {' OR '.join(_events(table))} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_version()"
        )
    return statements


async def add_triggers(apps, schema_editor) -> None:
    client = schema_editor.client
    await client.execute_query("INSERT INTO cache_version (id, version) VALUES (1, 0)")
    sqlite = client.capabilities.dialect == "sqlite"
    for statement in _sqlite() if sqlite else _postgres():
        await client.execute_query(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0005_activity')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CacheVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'cache_version', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The version of everything a signed-out reader can see, in one row (id 1).'},
            bases=['Model'],
        ),
        ops.RunPython(add_triggers),
    ]
