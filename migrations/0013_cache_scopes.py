from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# The one cache_version row of 0006 made every write in the site queue behind one row
# lock and invalidated every cached answer. Here each write moves only the keys of what
# it can change (services/cachekeys.py names them): `u<id>` a member, `t<id>` a thread,
# `f<id>` a forum's own row, `f<id>.<n>` one of FORUM_SHARDS shares of a forum's threads,
# `g` what is site-wide and rare. Row triggers move them in the writer's own transaction,
# whoever writes (any worker, the command line, an operator's SQL).
#
# Lock order, so that concurrent writers cannot deadlock on these rows: a transaction
# moves a thread key first, then member keys (two of them in ascending order), then a
# forum share; posting (message, then the thread's activity) keeps to it.
OLD_TABLES = (
    "users", "profiles", "privacy_settings", "follows", "forums", "threads", "messages",
    "policy_versions",
)  # fmt: skip
FORUM_SHARDS = 8
# Every column of users but last_seen_at: sign-ins touch that one every few minutes,
# and a page showing it (to the quarter hour) may lag by the cache's time to live.
USER_COLUMNS = (
    "ip_cipher", "ip_hash", "user_agent", "id", "username", "username_key", "email",
    "email_key", "password_hash", "date_of_birth", "role", "joined_at",
    "email_confirmed_at", "suspended_until", "suspension_reason", "newsletter",
    "password_changed_at", "analytics_opt_out", "deleted_at",
)  # fmt: skip
# Columns that decide who is listed, found or shown with a role: lists read `g`.
SITE_USER_COLUMNS = (
    "username", "username_key", "role", "email_confirmed_at", "suspended_until", "deleted_at",
)  # fmt: skip
ROW = ("INSERT", "DELETE", "UPDATE")
THREAD = "'t' || {r}.thread_id"
SHARD = f"'f' || {{r}}.forum_id || '.' || ({{r}}.id % {FORUM_SHARDS})"
# (trigger name, table, events, key expressions over the row {r}, in lock order)
TRIGGERS = (
    ("users_row", "users", ("INSERT", "DELETE", f"UPDATE OF {', '.join(USER_COLUMNS)}"),
     ("'u' || {r}.id",)),
    ("users_site", "users", ("INSERT", "DELETE", f"UPDATE OF {', '.join(SITE_USER_COLUMNS)}"),
     ("'g'",)),
    ("profiles", "profiles", ROW, ("'u' || {r}.user_id",)),
    # A setting can take a member out of (or into) a list: lists read `g`.
    ("privacy_settings", "privacy_settings", ROW, ("'u' || {r}.user_id", "'g'")),
    ("follows", "follows", ROW, (
        "'u' || CASE WHEN {r}.follower_id < {r}.followee_id THEN {r}.follower_id "
        "ELSE {r}.followee_id END",
        "'u' || CASE WHEN {r}.follower_id < {r}.followee_id THEN {r}.followee_id "
        "ELSE {r}.follower_id END",
    )),
    ("forums", "forums", ROW, ("'f' || {r}.id", "'g'")),
    ("threads_rows", "threads", ("INSERT", "DELETE"),
     ("'t' || {r}.id", "'u' || {r}.author_id", SHARD)),
    # A move changes the shares of both forums (the old row's and the new row's).
    ("threads_changes", "threads", ("UPDATE",), ("'t' || {r}.id", SHARD)),
    # Messages of conversations (no thread) are never shown to a signed-out reader.
    ("messages", "messages", ROW, (
        THREAD, "'u' || CASE WHEN {r}.thread_id IS NOT NULL THEN {r}.author_id END",
    )),
    ("message_edits", "message_edits", ROW,
     ("'t' || (SELECT thread_id FROM messages WHERE id = {r}.message_id)",)),
    ("policy_versions", "policy_versions", ROW, ("'g'",)),
)  # fmt: skip


def _sqlite_bump(key: str, unless: str | None = None) -> str:
    guard = f" AND ({key}) IS NOT ({unless})" if unless else ""
    return (
        f"INSERT INTO cache_versions (name, version) SELECT {key}, 1 "
        f"WHERE ({key}) IS NOT NULL{guard} "
        "ON CONFLICT (name) DO UPDATE SET version = version + 1;"
    )


def _sqlite() -> list[str]:
    statements = []
    for name, table, events, keys in TRIGGERS:
        for number, event in enumerate(events):
            bumps = []
            if not event.startswith("DELETE"):
                bumps += [_sqlite_bump(key.format(r="NEW")) for key in keys]
            if event.startswith("DELETE"):
                bumps += [_sqlite_bump(key.format(r="OLD")) for key in keys]
            if event.startswith("UPDATE"):
                bumps += [
                    _sqlite_bump(key.format(r="OLD"), unless=key.format(r="NEW")) for key in keys
                ]
            statements.append(
                f"CREATE TRIGGER cache_{name}_{number} AFTER {event} ON {table} "
                f"BEGIN {' '.join(bumps)} END"
            )
    return statements


def _postgres() -> list[str]:
    statements = [
        "CREATE FUNCTION cache_bump(key text) RETURNS void LANGUAGE sql AS $$ "
        "INSERT INTO cache_versions (name, version) SELECT $1, 1 WHERE $1 IS NOT NULL "
        "ON CONFLICT (name) DO UPDATE SET version = cache_versions.version + 1 $$"
    ]
    for name, table, events, keys in TRIGGERS:
        new = " ".join(f"PERFORM cache_bump({key.format(r='NEW')});" for key in keys)
        old = " ".join(f"PERFORM cache_bump({key.format(r='OLD')});" for key in keys)
        changed = " ".join(
            f"IF ({key.format(r='OLD')}) IS DISTINCT FROM ({key.format(r='NEW')}) THEN "
            f"PERFORM cache_bump({key.format(r='OLD')}); END IF;"
            for key in keys
        )
        statements.append(
            f"CREATE FUNCTION cache_bump_{name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {new} "
            f"ELSIF TG_OP = 'DELETE' THEN {old} "
            f"ELSE {new} {changed} END IF; RETURN NULL; END $$"
        )
        statements.append(
            f"CREATE TRIGGER cache_{name} AFTER {' OR '.join(events)} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION cache_bump_{name}()"
        )
    return statements


async def drop_version_triggers(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        for table in OLD_TABLES:
            for number in range(3):
                await client.execute_query(f"DROP TRIGGER IF EXISTS cache_{table}_{number}")
    else:
        for table in OLD_TABLES:
            await client.execute_query(f"DROP TRIGGER IF EXISTS cache_{table} ON {table}")
        await client.execute_query("DROP FUNCTION IF EXISTS bump_cache_version()")


async def add_key_triggers(apps, schema_editor) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    for statement in _sqlite() if sqlite else _postgres():
        await client.execute_query(statement)


class Migration(migrations.Migration):
    dependencies = [('models', '0012_operations')]

    initial = False

    operations = [
        ops.RunPython(drop_version_triggers),
        ops.DeleteModel(name='CacheVersion'),
        ops.CreateModel(
            name='CacheKeyVersion',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'cache_versions', 'app': 'models', 'pk_attr': 'name', 'table_description': 'The version of one part of what signed-out readers see (services/cachekeys.py).'},
            bases=['Model'],
        ),
        ops.RunPython(add_key_triggers),
    ]
