"""Running `python -m tamago_tui` in a subprocess, and checks shared by the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tamago(*args: str, stdin: str | None = None, timeout: float = 60, env: dict | None = None
           ) -> subprocess.CompletedProcess:
    """`python -m tamago_tui ARGS` with the test's environment (its TAMAGO_HOME) plus `env`."""
    return subprocess.run(
        [sys.executable, "-m", "tamago_tui", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def home_files_contain(home: Path, needle: str) -> list[Path]:
    hits = []
    for path in home.rglob("*"):
        if path.is_file() and needle.encode() in path.read_bytes():
            hits.append(path)
    return hits


def assert_doctor_shape(data: dict) -> None:
    assert set(data) == {"ok", "category", "steps"}
    assert isinstance(data["ok"], bool)
    for step in data["steps"]:
        keys = set(step)
        assert keys in ({"protocol", "name", "status", "detail"}, {"protocol", "name", "status", "detail", "category"})
        assert step["protocol"] in ("imap", "smtp")
        assert step["status"] in ("ok", "warn", "fail", "skipped")
        assert ("category" in step) == (step["status"] == "fail")
