"""Servers with several workers, and their output read line by line as it comes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent


def serve_two_workers(settings: Settings, port: int, **extra: str) -> subprocess.Popen[str]:
    """`serve --workers 2` on the test's database (`extra` settings added), stdout and
    stderr to one pipe."""
    env = {
        **os.environ,
        **extra,
        "DATABASE_URL": settings.db_url,
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.secret_key,
        "IP_KEY": settings.ip_key,
        "RATE_LIMITS": "off",
        "PUBLIC_URL": f"http://localhost:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "server.py", "serve", "--port", str(port), "--workers", "2"]
    return subprocess.Popen(command, cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


class Lines:
    """A server's output, read line by line as it comes (on a thread of its own)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self.reader.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.lines.extend(iter(process.stdout.readline, ""))

    def request_pids(self) -> set[int]:
        """The pids of the forum.requests lines so far."""
        parsed = [json.loads(text) for text in list(self.lines)]
        return {found["pid"] for found in parsed if found["logger"] == "forum.requests"}


async def command(settings: Settings, *args: str, **env: str) -> tuple[int, str, str]:
    """A server.py command on the test's database and keys (`env` overrides): its exit
    code, stdout and stderr."""
    base = {**os.environ, "DATABASE_URL": settings.db_url, "DATA_DIR": str(settings.data_dir),
            "SECRET_KEY": settings.secret_key, "IP_KEY": settings.ip_key,
            "MAIL_URL": settings.mail_target, "PUBLIC_URL": settings.public_url}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "server.py", *args, cwd=ROOT, env={**base, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()
