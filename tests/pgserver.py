"""A real PostgreSQL for the tests and benchmarks: Debian's server, started in a temporary
folder on a free loopback port, stopped at the end. A missing server raises Missing: the tests
fail in CI (the project's set-up installs it: `make db-deps`) and skip with the reason
elsewhere (`postgres_fixture`)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from serving import free_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MISSING = (
    "Debian's PostgreSQL server is missing (initdb, pg_ctl): install it with "
    "`apt-get install postgresql` (make db-deps)."
)


def _bin_dir() -> Path | None:
    for found in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (found / "initdb").is_file() and (found / "pg_ctl").is_file():
            return found
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Missing(Exception):
    """No PostgreSQL server to start here."""


def _as_server_user() -> tuple[list[str], int | None, int | None]:
    """PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        raise Missing("running as root, and there is no `postgres` user to run PostgreSQL as")
    return ["runuser", "-u", "postgres", "--"], user.pw_uid, user.pw_gid


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A fresh server with a database `drafter`; yields its postgresql:// URL."""
    bins = _bin_dir()
    if bins is None:
        raise Missing(MISSING)
    prefix, uid, gid = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="drafter-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if uid is not None:
        os.chown(root, uid, gid)
        os.chown(sockets, uid, gid)
    port = free_port()

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, *args], capture_output=True, text=True, check=check, timeout=120
        )

    try:
        run(
            str(bins / "initdb"),
            "-D",
            str(data),
            "-U",
            "drafter",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        run(
            str(bins / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        )
        url = f"postgresql://drafter@127.0.0.1:{port}/drafter"
        deadline = time.monotonic() + 30
        while True:
            made = run(
                str(bins / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "drafter",
                "drafter",
                check=False,
            )
            if made.returncode == 0 or "already exists" in made.stderr:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"createdb failed: {made.stderr}")
            time.sleep(0.2)
        yield url
    finally:
        run(str(bins / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_fixture() -> Iterator[str]:
    """postgres_server() for pytest: a missing server fails in CI and skips elsewhere."""
    import pytest

    try:
        server = postgres_server()
        url = server.__enter__()
    except Missing as why:
        if IN_CI:
            pytest.fail(str(why), pytrace=False)
        pytest.skip(str(why))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
