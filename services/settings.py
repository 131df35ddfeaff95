"""Typed settings, read once from the environment and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split(value: object) -> object:
    """Accept comma-separated strings for list settings, as env variables are."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Everything the server reads from its environment; see the README's table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    data_dir: Path = Field(default=Path("data"), description="Where the embedded data lives.")
    database_url: str = Field(default="", description="sqlite:///path or postgres://...")
    secret_key: str = Field(
        default="", description="Signing key (current first, then old ones); generated when unset."
    )
    ip_key: str = Field(
        default="", description="Key for stored IP addresses (current first, then old); generated."
    )
    public_url: str = Field(default="http://localhost:8000", description="Base of mail links.")
    mail_url: str = Field(default="", description="file://DIR or smtp://user:pass@host:port")
    mail_from: str = Field(default="MiniMins Forum <no-reply@localhost>")
    mail_retry_max_seconds: int = Field(
        default=600, ge=1, le=86400, description="Longest wait between delivery attempts."
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(default_factory=list)
    cookie_secure: bool | None = Field(
        default=None, description="Secure session cookies; default: on when PUBLIC_URL is https."
    )
    environment: Literal["development", "production"] = "development"
    rate_limits: Literal["on", "off"] = "on"
    plan_executor: Literal["on", "off"] = Field(
        default="on", description="Run known queries as compiled plans (schema/plans/)."
    )
    graphiql: bool | None = Field(default=None, description="Default: on in development.")
    min_age: int = Field(default=13, ge=0, le=120)
    session_days: int = Field(default=30, ge=1, le=365)
    confirm_token_hours: int = Field(default=48, ge=1)
    reset_token_minutes: int = Field(default=60, ge=1)
    argon2_time_cost: int = Field(default=3, ge=1, le=20, description="Argon2id passes.")
    argon2_memory_kib: int = Field(default=65536, ge=1024, description="Argon2id memory.")
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    ip_retention_days: int = Field(default=365, ge=1, description="Keep raw addresses this long.")
    notification_mail_delay_seconds: int = Field(
        default=300, ge=0, le=86400, description="Longest wait of a notification for its mail."
    )
    notification_keep_days: int = Field(
        default=90, ge=1, description="Delete read notifications after this many days."
    )
    ip_hash_retention_days: int = Field(
        default=90, ge=1, description="Keep the keyed hashes (for matching) this long."
    )
    mail_keep_days: int = Field(default=30, ge=1, description="Keep sent mail this long.")
    activity_keep_days: int = Field(
        default=395, ge=1, description="Keep visits and page views this long."
    )
    purge_every_minutes: float = Field(
        default=60, ge=0, description="How often `serve` purges expired records; 0: never."
    )
    log_client_ips: bool = Field(default=False, description="Operators only: print IPs in logs.")
    response_cache: bool = Field(default=True, description="Cache signed-out readers' answers.")
    response_cache_entries: int = Field(default=5000, ge=1)
    response_cache_mib: int = Field(default=64, ge=1)
    response_cache_seconds: float = Field(default=60, gt=0, le=3600)
    response_cache_debug: bool = Field(
        default=False, description="Tell clients in X-Cache whether the cache answered."
    )
    response_cache_early_hits: bool = Field(
        default=True, description="Answer cookie-less cache hits ahead of the middleware."
    )
    persisted_queries: Literal["off", "on", "only"] = "on"
    persisted_queries_file: Path | None = Field(
        default=None, description="An Apollo persisted-query manifest (JSON)."
    )
    outbox_stuck_minutes: int = Field(
        default=30, ge=1, description="/readyz fails while a mail has waited longer than this."
    )
    metrics: Literal["on", "off"] = Field(
        default="off", description="Serve /metrics (Prometheus) to private networks."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The least severe log records written."
    )
    ws_max_per_client: int = Field(
        default=20, ge=1, description="Open WebSockets per client address, per worker."
    )
    ws_max_per_member: int = Field(
        default=10, ge=1, description="Open WebSockets per signed-in member, per worker."
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        return [origin.rstrip("/") for origin in _split(value)]  # type: ignore[union-attr]

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        return _split(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: object) -> object:
        return [ipaddress.ip_network(item, strict=False) for item in _split(value)]  # type: ignore[union-attr]

    @cached_property
    def db_url(self) -> str:
        """The database URL, defaulting to a SQLite file under DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'forum.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded database."""
        return self.db_url.startswith("sqlite")

    @cached_property
    def mail_target(self) -> str:
        """Where mail goes: the configured URL or the mail folder under DATA_DIR."""
        return self.mail_url or f"file://{(self.data_dir / 'mail').resolve()}"

    @cached_property
    def secret_keys(self) -> tuple[bytes, ...]:
        """SECRET_KEY's keys, current first: a comma-separated list while a rotation runs
        (README, Operating it); generated into DATA_DIR (mode 0600) when unset."""
        return _key_list(self.secret_key or _stored_key(self.data_dir / "secret_key"))

    @cached_property
    def ip_keys(self) -> tuple[bytes, ...]:
        """IP_KEY's keys, current first (DATA_DIR/ip_key by default)."""
        return _key_list(self.ip_key or _stored_key(self.data_dir / "ip_key"))

    @property
    def key(self) -> bytes:
        """The current secret key: what signs from now on."""
        return self.secret_keys[0]

    @property
    def address_key(self) -> bytes:
        """The current key that encrypts and hashes stored IP addresses."""
        return self.ip_keys[0]

    @property
    def shared_keys(self) -> dict[str, tuple[bytes, ...]]:
        """The keys every host on one database must share, by setting name, current first."""
        return {"SECRET_KEY": self.secret_keys, "IP_KEY": self.ip_keys}

    @property
    def graphiql_enabled(self) -> bool:
        """GraphiQL and introspection: on in development unless GRAPHIQL says otherwise."""
        if self.graphiql is None:
            return self.environment == "development"
        return self.graphiql

    @property
    def secure_cookies(self) -> bool:
        """Cookies marked `Secure`: COOKIE_SECURE, or else whether PUBLIC_URL is https."""
        if self.cookie_secure is None:
            return urlsplit(self.public_url).scheme == "https"
        return self.cookie_secure

    @cached_property
    def hosts(self) -> list[str]:
        """Host names this server answers to (DNS-rebinding guard)."""
        hosts = [*self.allowed_hosts, urlsplit(self.public_url).hostname or "localhost"]
        if self.environment == "development":
            hosts += ["localhost", "127.0.0.1", "[::1]", "::1"]
        return sorted(set(hosts))

    @cached_property
    def origins(self) -> frozenset[str]:
        """Origins allowed to send credentialed requests: ALLOWED_ORIGINS and PUBLIC_URL."""
        public = urlsplit(self.public_url)
        return frozenset([*self.allowed_origins, f"{public.scheme}://{public.netloc}"])


def production_warnings(settings: Settings) -> list[str]:
    """One line for each setting that looks left over from development (production only)."""
    if settings.environment != "production":
        return []
    warnings = []
    if urlsplit(settings.public_url).hostname in ("localhost", "127.0.0.1", "::1"):
        warnings.append("PUBLIC_URL points at localhost: links in mails will not work")
    if settings.mail_target.startswith("file://"):
        warnings.append("MAIL_URL is unset or file://: mail is written to files, not sent")
    if not settings.secure_cookies:
        warnings.append("COOKIE_SECURE is off: session cookies travel over plain HTTP")
    if not settings.trusted_proxies:
        warnings.append("TRUSTED_PROXIES is empty: behind a proxy, every client has its address")
    return warnings


def _key_list(value: str) -> tuple[bytes, ...]:
    """A key setting's comma-separated entries, in order, without blanks or repeats."""
    keys = [entry.strip() for entry in value.split(",") if entry.strip()]
    return tuple(dict.fromkeys(key.encode() for key in keys)) or (value.encode(),)


def _stored_key(path: Path) -> str:
    """Read the generated key, creating it with owner-only permissions the first time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
