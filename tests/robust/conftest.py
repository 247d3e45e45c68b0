"""Fixtures for the robustness tests: a small real file system that can be filled up,
the CLI in a subprocess, and loopback servers that misbehave on purpose."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.loopback import listen  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]


class SmallDisk:
    """A 1 MiB tmpfs mounted for one test. `fill()` takes every free byte, `free()` gives them back."""

    def __init__(self, path: Path):
        self.path = path
        self._ballast = path / "ballast"

    def fill(self) -> None:
        fd = os.open(self._ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                block = b"\0" * size
                while True:
                    try:
                        os.write(fd, block)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC, exc
                        break
        finally:
            os.close(fd)

    def free(self) -> None:
        self._ballast.unlink(missing_ok=True)

    def leftovers(self) -> list[str]:
        """Temporary files a failed write must not leave behind."""
        return sorted(str(p.relative_to(self.path)) for p in self.path.rglob("*")
                      if p.name.endswith((".tmp", ".part")))


@pytest.fixture
def small_disk(tmp_path) -> SmallDisk:
    """A real file system that runs out of space (tmpfs, needs root like the server fixtures)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"the full-disk tests mount a 1 MiB tmpfs and need root: {done.stderr.strip()}", pytrace=False)
    try:
        yield SmallDisk(mount)
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def run_tamago(*args: str, home: Path | None = None, stdin: str = "", env: dict | None = None,
               cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m tamago_tui ARGS`, with TAMAGO_HOME=home (default: the test's) and strict UTF-8 output."""
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    if home is not None:
        full_env["TAMAGO_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "tamago_tui", *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, env=full_env,
        cwd=cwd or ROOT,
    )


def assert_clean_failure(result: subprocess.CompletedProcess, code: int = 1) -> None:
    """Exit `code` with a message, never a traceback or a crash report."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert "unexpected error" not in result.stderr, result.stderr
    assert result.stderr.strip(), "a failure must say what went wrong"
