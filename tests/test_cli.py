"""The command line behaves like a Unix tool: help everywhere, clear errors, exit codes."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.harness import POSTGRES_ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["serve", "migrate", "seed", "createuser", "createforum", "purge-ip", "reveal-ip",
            "backup", "purge", "rotate-keys", "export-schema"]  # fmt: skip
CLOSED_DATABASE = "postgres://forum:pw-canary-77@127.0.0.1:1/forum"  # nobody listens on port 1

# Every command here runs on its own SQLite file (or on none): the PostgreSQL run would
# repeat the same work.
pytestmark = pytest.mark.skipif(bool(POSTGRES_ADMIN_URL), reason="runs once, in the SQLite run")


def run(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "server.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        input=stdin,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def sqlite_env(tmp_path: Path) -> dict[str, str]:
    # The cheapest Argon2id the settings take: seeding hashes every demo member's password.
    cheap = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_KIB": "1024"}
    return {"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": "", **cheap}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str) -> None:
    result = run(command, "--help")

    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: python server.py {command}")


def test_no_command_is_a_usage_error() -> None:
    result = run()

    assert result.returncode == 2
    assert "usage: python server.py" in result.stderr


def test_seed_prints_the_demo_accounts_with_random_staff_passwords(tmp_path: Path) -> None:
    first = run("seed", env=sqlite_env(tmp_path))
    other = run("seed", env=sqlite_env(tmp_path / "other"))

    assert first.returncode == 0, first.stderr
    assert "alice      member     password: forum-demo-2026" in first.stdout
    for username, role in [("ada", "admin"), ("grace", "moderator")]:
        staff = re.search(rf"{username} +{role} +password: (\S+)", first.stdout)
        again = re.search(rf"{username} +{role} +password: (\S+)", other.stdout)
        assert staff is not None and again is not None
        assert staff[1] != "forum-demo-2026"
        assert staff[1] != again[1]


def test_seed_gives_the_admin_the_demo_password_asked_for(tmp_path: Path) -> None:
    result = run("seed", "--demo-password", "a long admin passphrase", env=sqlite_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "ada        admin      password: a long admin passphrase" in result.stdout


def test_seed_refuses_a_weak_demo_password_in_one_line(tmp_path: Path) -> None:
    result = run("seed", "--demo-password", "short", env=sqlite_env(tmp_path))

    assert result.returncode == 1
    assert result.stderr == "error: Passwords need at least 10 characters.\n"


def test_seed_refuses_a_database_with_members_unless_if_empty(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    run("createuser", "--username", "mira", "--email", "mira@example.org", "--role", "admin",
        "--password", "a long passphrase", env=env)  # fmt: skip

    refused = run("seed", env=env)
    quiet = run("seed", "--if-empty", env=env)

    assert refused.returncode == 2
    assert refused.stderr == (
        "error: the database already has members; seed is for demo data (--force adds it)\n"
    )
    assert quiet.returncode == 0
    assert "nothing to do" in quiet.stdout


def test_seed_with_force_adds_the_demo_data_beside_members(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    run("createuser", "--username", "mira", "--email", "mira@example.org", "--role", "admin",
        "--password", "a long passphrase", env=env)  # fmt: skip

    result = run("seed", "--force", env=env)

    assert result.returncode == 0, result.stderr
    assert "alice      member     password: forum-demo-2026" in result.stdout


def test_createforum_creates_a_forum(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)

    result = run("createforum", "--slug", "recipes", "--title", "Recipes", "--position", "3",
                 "--description", "Cooking", env=env)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout == "created forum recipes (position 3)\n"


def test_createforum_refuses_a_taken_slug_in_one_line(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    run("createforum", "--slug", "recipes", "--title", "Recipes", env=env)

    again = run("createforum", "--slug", "recipes", "--title", "More recipes", env=env)

    assert again.returncode == 1
    assert again.stderr == "error: Another forum has that slug.\n"


def test_createforum_refuses_an_unsafe_slug_in_one_line(tmp_path: Path) -> None:
    result = run(
        "createforum", "--slug", "Recipes!", "--title", "Recipes", env=sqlite_env(tmp_path)
    )

    assert result.returncode == 1
    assert result.stderr == (
        "error: Slugs are 2 to 60 characters: lower-case letters, digits and single hyphens "
        "between them.\n"
    )


def test_createforum_needs_a_slug_and_a_title() -> None:
    result = run("createforum", "--slug", "recipes")

    assert result.returncode == 2
    assert "the following arguments are required: --title" in result.stderr


def test_createuser_makes_a_confirmed_account_of_the_role(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)

    result = run(
        "createuser",
        "--username",
        "mira",
        "--email",
        "mira@example.org",
        "--role",
        "moderator",
        "--password",
        "a long passphrase",
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == "created moderator mira\n"


def test_createuser_reports_a_bad_password_in_one_line(tmp_path: Path) -> None:
    result = run(
        "createuser",
        "--username",
        "mira",
        "--email",
        "mira@example.org",
        "--password",
        "short",
        env=sqlite_env(tmp_path),
    )

    assert result.returncode == 1
    assert result.stderr == "error: Passwords need at least 10 characters.\n"
    assert "Traceback" not in result.stderr


def test_createuser_refuses_a_taken_username(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    args = [
        "createuser",
        "--username",
        "mira",
        "--email",
        "mira@example.org",
        "--password",
        "a long passphrase",
    ]
    run(*args, env=env)

    again = run(
        "createuser",
        "--username",
        "MIRA",
        "--email",
        "m2@example.org",
        "--password",
        "a long passphrase",
        env=env,
    )

    assert again.returncode == 1
    assert again.stderr == "error: That username is taken.\n"


def test_createuser_refuses_an_unknown_role() -> None:
    result = run("createuser", "--username", "mira", "--email", "m@example.org", "--role", "king")

    assert result.returncode == 2
    assert "invalid choice: 'king'" in result.stderr


def test_export_schema_check_passes_on_the_checked_in_file() -> None:
    result = run("export-schema", "--check")

    assert result.returncode == 0
    assert result.stdout.endswith("schema.graphql is up to date\n")


def test_export_schema_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: Int }\n")

    result = run("export-schema", "--check", "--output", str(stale))

    assert result.returncode == 1
    assert "is out of date" in result.stderr


def test_migrate_creates_the_database(tmp_path: Path) -> None:
    result = run("migrate", env=sqlite_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "forum.sqlite3").exists()


def test_workers_need_postgresql(tmp_path: Path) -> None:
    result = run("serve", "--workers", "2", env=sqlite_env(tmp_path))

    assert result.returncode == 1
    assert result.stderr == "error: several workers need PostgreSQL (set DATABASE_URL)\n"


def test_migrate_names_the_migrations_it_applied_then_says_it_is_up_to_date(
    tmp_path: Path,
) -> None:
    env = sqlite_env(tmp_path)

    first = run("migrate", env=env)
    second = run("migrate", env=env)

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("applied ")
    assert "0001_initial, 0002_profiles_privacy_audit" in first.stdout
    assert second.stdout == "database is up to date: no migration to apply\n"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MIN_AGE", "old", "MIN_AGE: Input should be a valid integer"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("ENVIRONMENT", "staging", "ENVIRONMENT: Input should be 'development' or 'production'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it_with_exit_code_2(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = run("migrate", env={**sqlite_env(tmp_path), variable: value})

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {message}")
    assert result.stderr.count("\n") == 1
    assert value not in result.stderr.removeprefix(f"error: {message}")


@pytest.mark.parametrize(
    ("url", "reason"),
    [(CLOSED_DATABASE, "ConnectionRefusedError"), ("nosuchdb://x", "ConfigurationError")],
)
def test_an_unreachable_database_is_one_line_naming_database_url(
    tmp_path: Path, url: str, reason: str
) -> None:
    result = run("migrate", env={**sqlite_env(tmp_path), "DATABASE_URL": url})

    assert result.returncode == 2
    assert result.stderr == f"error: DATABASE_URL: cannot open the database ({reason})\n"


def test_serve_in_production_warns_once_for_each_development_leftover(tmp_path: Path) -> None:
    env = {**sqlite_env(tmp_path), "ENVIRONMENT": "production", "DATABASE_URL": CLOSED_DATABASE}

    result = run("serve", env=env)

    assert result.returncode == 2
    assert [json.loads(text)["message"] for text in result.stdout.splitlines()] == [
        "PUBLIC_URL points at localhost: links in mails will not work",
        "MAIL_URL is unset or file://: mail is written to files, not sent",
        "COOKIE_SECURE is off: session cookies travel over plain HTTP",
        "TRUSTED_PROXIES is empty: behind a proxy, every client has its address",
    ]
    assert (
        result.stderr == "error: DATABASE_URL: cannot open the database (ConnectionRefusedError)\n"
    )


def test_serve_in_production_with_finished_settings_warns_of_nothing(tmp_path: Path) -> None:
    env = {**sqlite_env(tmp_path), "ENVIRONMENT": "production", "DATABASE_URL": CLOSED_DATABASE,
           "PUBLIC_URL": "https://forum.example", "MAIL_URL": "smtp://mail.example:25",
           "TRUSTED_PROXIES": "10.0.0.0/8"}  # fmt: skip

    result = run("serve", env=env)

    assert result.returncode == 2
    assert result.stdout == ""


def test_the_console_script_runs_the_same_command_line(tmp_path: Path) -> None:
    forum = shutil.which("forum", path=str(Path(sys.executable).parent))
    assert forum is not None, "the console script is installed beside the interpreter"

    result = subprocess.run(
        [forum, "migrate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **sqlite_env(tmp_path)},
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("applied ")
    assert (tmp_path / "data" / "forum.sqlite3").exists()


def test_serve_no_migrate_refuses_a_database_that_lacks_migrations(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)

    result = run("serve", "--no-migrate", env=env)

    assert result.returncode == 2
    assert result.stderr.startswith("error: DATABASE_URL: the database lacks ")
    assert result.stderr.endswith(" migrations: run `migrate` first\n")
    assert run("migrate", env=env).stdout.startswith("applied ")  # nothing was migrated
