"""Plumbing shared by the test servers: free ports, child processes, log tails.

Every server runs as a child process whose output goes to a log file (Dovecot
keeps its caller's stdout open, so a pipe would hang whoever reads it). A server
that dies raises ServerDied with the tail of its log, so the failing test shows
why.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HOST = "127.0.0.1"

_PR_SET_PDEATHSIG = 1


class ServerDied(AssertionError):
    """A test server exited while a test still needed it."""


class ServerStartError(RuntimeError):
    """A test server did not come up."""


def private_dir(prefix: str) -> Path:
    """A fresh directory the unprivileged Dovecot and mail users can traverse.

    pytest's tmp_path lives under a 0700 directory that Dovecot's auth and mail
    processes (uid dovecot, uid mail) cannot enter, so servers get their own
    directory under the system temp dir, mode 0755.
    """
    path = Path(tempfile.mkdtemp(prefix=f"tamago-{prefix}-"))
    path.chmod(0o755)
    return path


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def free_ports(count: int, *, udp: bool = False) -> list[int]:
    """`count` distinct loopback ports that are free right now (TCP, and UDP if asked).

    The sockets stay open until all ports are chosen so the list has no duplicates.
    Another process may still take a port before the server binds it; callers
    retry start-up on a bind failure.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < count:
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(tcp)
            tcp.bind((HOST, 0))
            port = tcp.getsockname()[1]
            if udp:
                probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(probe)
                try:
                    probe.bind((HOST, port))
                except OSError:
                    continue
            ports.append(port)
        return ports
    finally:
        for sock in held:
            sock.close()


def port_accepts(port: int, host: str = HOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log file at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # If pytest is killed, the kernel sends SIGTERM to the server instead of orphaning it.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class ServerProcess:
    """One child process: started with its output in `log_path`, stopped by PID."""

    def __init__(self, name: str, argv: list[str], log_path: Path, *,
                 pid_file: Path | None = None, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.pid_file = pid_file
        self.env = env
        self._proc: subprocess.Popen | None = None
        self._stopped = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def spawn(self) -> None:
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                close_fds=True, preexec_fn=_die_with_parent, env=self.env,
                start_new_session=True,  # its own process group, so stop() can reap helpers too
            )

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def exit_code(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    def describe_death(self) -> str:
        return (f"{self.name} is not running (exit code {self.exit_code()}); "
                f"last lines of {self.log_path}:\n{self.tail()}")

    def check_alive(self) -> None:
        if not self.alive():
            raise ServerDied(self.describe_death())

    def wait_until(self, ready: Callable[[], bool], *, what: str, timeout: float = 10.0) -> None:
        """Poll `ready` until it holds; fail early with the log if the process exits."""
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            if not self.alive():
                raise ServerStartError(f"{self.name} exited while waiting for {what}: "
                                       + self.describe_death())
            if ready():
                return
            if time.monotonic() > deadline:
                raise ServerStartError(f"{self.name}: timed out after {timeout:.0f} s waiting "
                                       f"for {what}; last lines of {self.log_path}:\n{self.tail()}")
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def _pid_from_file(self) -> int | None:
        if self.pid_file is None:
            return None
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def stop(self, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """Stop the server by PID and wait for it.

        graceful: SIGTERM the PID (from the pid file when there is one) and wait;
        if it lingers past `timeout`, SIGKILL its whole process group.
        not graceful: SIGKILL the process group at once (Dovecot's graceful stop
        takes about a second; a throw-away instance does not need it).
        """
        if self._proc is None or self._stopped:
            return
        self._stopped = True
        if self._proc.poll() is not None:
            # The leader is gone (it died, or a test killed it); its helpers may linger.
            _signal(lambda: os.killpg(self._proc.pid, signal.SIGKILL))
        else:
            # The pid file names the same process (servers run in the foreground);
            # should it ever disagree, only the process we started is signalled.
            pid = self._pid_from_file()
            if pid != self._proc.pid:
                pid = self._proc.pid
            if graceful:
                _signal(lambda: os.kill(pid, signal.SIGTERM))
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            # The group id is the server's PID (start_new_session): this reaps its helpers.
            _signal(lambda: os.killpg(self._proc.pid, signal.SIGKILL))
            self._proc.wait(timeout)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


def _signal(send: Callable[[], None]) -> None:
    try:
        send()
    except ProcessLookupError:
        pass


class ManagedServer:
    """What the test servers share: a started `ServerProcess` in `_process`, a `name`,
    and a private `root` directory removed on stop."""

    name: str
    root: Path
    _process: ServerProcess | None = None

    def stop(self, *, remove: bool = True) -> None:
        if self._process is not None:
            self._process.stop()
        if remove:
            remove_dir(self.root)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.alive()

    def check_alive(self) -> None:
        """Raise ServerDied (with the log tail) if the process exited."""
        if self._process is None:
            raise ServerDied(f"{self.name} was never started")
        self._process.check_alive()
