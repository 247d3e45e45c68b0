"""Tiny scripted servers on loopback, to make real client libraries raise real exceptions.

A `ScriptedServer` sends a greeting and answers each command line from a script:
{"LOGIN": "{tag} NO [AUTHENTICATIONFAILED] Authentication failed."}. It speaks
just enough of a protocol for imapclient, imaplib or aiosmtplib to reach the
failure under test; the texts it sends are real servers' wordings.
"""

from __future__ import annotations

import socket
import ssl
import threading

from tests.loopback import unused_port as closed_port  # noqa: F401 (these tests' name for it)




class ScriptedServer:
    """Accept connections on 127.0.0.1, greet, and answer commands from `script`."""

    def __init__(self, greeting: str = "", script: dict[str, str] | None = None, tls: ssl.SSLContext | None = None):
        self.greeting = greeting
        self.script = script or {}
        self.tls = tls
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "ScriptedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            if self.greeting:
                conn.sendall(self.greeting.encode() + b"\r\n")
            reader = conn.makefile("rb")
            while not self._stop.is_set():
                line = reader.readline()
                if not line:
                    break
                parts = line.decode("utf-8", "replace").strip().split()
                if not parts:
                    continue
                tag, command = parts[0], (parts[1].upper() if len(parts) > 1 else "")
                reply = self.script.get(command) or self.script.get(parts[0].upper())
                if reply is None:
                    reply = "{tag} BAD unknown command"
                conn.sendall(reply.format(tag=tag).encode() + b"\r\n")
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


def imap_script(**replies: str) -> dict[str, str]:
    """A script with a CAPABILITY answer; keyword arguments add or replace commands."""
    script = {
        "CAPABILITY": "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK CAPABILITY completed.",
        "LOGOUT": "* BYE Logging out\r\n{tag} OK Logout completed.",
    }
    script.update(replies)
    return script
