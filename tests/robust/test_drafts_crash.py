"""A real crash while composing: tamago in tmux at 80x24, text typed, `kill -9`, start again.

The draft must be offered on the next F6, with the text that was typed. This is
the whole point of drafts, so it runs the real program in a real terminal
rather than Textual's pilot. Each test gets its own tmux server (-L), so
nothing touches a tmux session of the person running the tests.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tamago_tui.backend.config import Config
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services

ROOT = Path(__file__).resolve().parents[2]
BODY = "Half a thought about the engines, typed before the crash"


class Terminal:
    """tamago in a detached tmux session of its own tmux server."""

    def __init__(self, socket: str, home: Path):
        self.socket, self.home = socket, home
        self.session = "tamago"

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def start(self) -> None:
        command = (f"cd {shlex.quote(str(ROOT))} && exec {shlex.quote(sys.executable)} -m tamago_tui "
                   f"--home {shlex.quote(str(self.home))}")
        self.tmux("new-session", "-d", "-s", self.session, "-x", "80", "-y", "24",
                  "-e", "TERM=xterm-256color", command)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, *texts: str, timeout: float = 60) -> str:
        """The screen once every one of `texts` is on it (a dialog's title can paint a frame before its rows)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{texts!r} never all appeared on the screen:\n{self.screen()}")

    def keys(self, *keys: str, literal: bool = False) -> None:
        for key in keys:  # one at a time: a burst of keys can arrive as one paste
            self.tmux("send-keys", "-t", self.session, *(["-l"] if literal else []), key)
            time.sleep(0.15)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}").strip())

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=30)


def wait_for_saved_draft(home: Path, body: str, timeout: float = 60):
    """The one draft on disk, once its body is `body` (read through the same services the app uses)."""
    drafts = Services(Paths.resolve(home)).drafts
    deadline = time.monotonic() + timeout
    while True:
        saved = drafts.list()
        if len(saved) == 1 and saved[0].draft.body.rstrip("\n") == body:
            return saved[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"the draft on disk never got the whole body: {[d.draft for d in saved]}")
        time.sleep(0.2)


@pytest.fixture
def terminal(tmp_path):
    if shutil.which("tmux") is None:
        pytest.fail("this test drives tamago in tmux: install it (./scripts/test does)", pytrace=False)
    home = tmp_path / "home"
    account = Account(name="work", email="jane@example.org",
                      imap=ServerSettings("imap.example.org", 993, Security.SSL, "jane@example.org"),
                      smtp=ServerSettings("smtp.example.org", 587, Security.STARTTLS, "jane@example.org"))
    Services(Paths.resolve(home)).save_config(Config().with_account(account))
    term = Terminal(f"tamago-test-{os.getpid()}-{tmp_path.name}", home)
    yield term
    term.kill()


def test_kill_9_while_composing_then_the_draft_is_offered(terminal):
    terminal.start()
    terminal.wait_for("F2 Contacts")
    terminal.keys("F6")
    terminal.wait_for("Subject")
    terminal.type("ada@example.org")
    terminal.keys("Tab", "Tab", "Tab")
    terminal.type("Engines")
    terminal.keys("Tab", "Tab")
    terminal.type(BODY)
    terminal.wait_for("Draft saved")  # the autosave, a moment after the typing stopped
    # On a loaded machine an autosave can also fire mid-typing (a pause over the autosave delay), and
    # its "Draft saved" shows before the last words are saved: kill only once they are on disk.
    saved = wait_for_saved_draft(terminal.home, BODY)
    assert saved.draft.to == ("ada@example.org",) and saved.draft.subject == "Engines"

    pid = terminal.pid()
    os.kill(pid, signal.SIGKILL)  # no handler runs: only what is already on disk survives
    for _ in range(300):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"tamago (pid {pid}) survived kill -9")
    terminal.kill()

    terminal.start()
    terminal.wait_for("F2 Contacts")
    terminal.keys("F6")
    # The offer, with the draft's row: wait for both, as the rows may paint a frame after the title.
    offer = terminal.wait_for("unsent draft", "Engines")
    assert "You have 1 unsent draft" in offer and "ada@example.org" in offer
    terminal.keys("Enter")
    screen = terminal.wait_for("Draft resumed", "Engines")
    assert BODY in screen
