"""Start and control the SMTP submission test server (smtp_daemon.py, a separate process).

    server = SmtpServer(ca, dovecot).start()
    server.ports["submission"]   # STARTTLS, AUTH after TLS
    server.ports["smtps"]        # implicit TLS
    server.ports["plain"]        # no TLS, no STARTTLS, no AUTH
    server.configure(reject_recipients=["nobody@example.test"], tempfail=2)
    server.messages()            # what it accepted, oldest first
    server.stop()

Logins are Dovecot's users (same passwords). Mail for a Dovecot user is
delivered to that user's INBOX over LMTP, so a test can send and read back over
IMAP; every accepted message is also kept in the spool, for any recipient.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certs import TestCA
from .dovecot import Dovecot
from .process import HOST, ManagedServer, ServerProcess, private_dir

DAEMON = Path(__file__).with_name("smtp_daemon.py")
TIMEOUT = 10.0
OPTION_NAMES = ("reject_recipients", "reject_senders", "tempfail", "tempfail_stage", "drop_after_data",
                "size_limit")


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the SMTP server accepted (a 250 was due, even if the connection was dropped)."""

    sequence: int
    listener: str            # "submission", "smtps" or "plain"
    tls: bool
    auth_user: str | None
    mail_from: str
    mail_options: list[str]
    rcpt_tos: list[str]
    delivered: list[str]     # recipients handed to Dovecot over LMTP
    data: bytes              # the message exactly as received after DATA


class SmtpServer(ManagedServer):
    host = HOST
    hostname = "localhost"

    def __init__(self, ca: TestCA, dovecot: Dovecot | None, *, cert: str = "server",
                 name: str = "smtp", oauth2_introspection_url: str | None = None):
        self.ca = ca
        # With an RFC 7662 introspection URL, AUTH XOAUTH2 and OAUTHBEARER are offered
        # too, each token checked against it (tests/servers/oauth_server.py).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.cafile: Path = ca.cafile
        self.dovecot = dovecot
        self.cert = ca.pair(cert)
        self.name = name
        self.root = private_dir(name)
        self.spool = self.root / "spool"
        self.control_path = self.root / "control.sock"
        self.ready_path = self.root / "ready.json"
        self.log_path = self.root / "smtp.log"
        self.ports: dict[str, int] = {}
        self._process: ServerProcess | None = None

    @property
    def users(self):
        """The logins it accepts: Dovecot's users (address -> MailUser)."""
        return self.dovecot.users if self.dovecot else {}

    def start(self) -> SmtpServer:
        if self.dovecot is not None:
            passwd_dir = self.dovecot.passwd_dir
            lmtp = [self.dovecot.host, self.dovecot.ports["lmtp"]]
        else:
            passwd_dir, lmtp = self.root / "passwd.d", None
            passwd_dir.mkdir(exist_ok=True)
        config = {
            "host": HOST,
            "ports": {"submission": 0, "smtps": 0, "plain": 0},
            "cert": str(self.cert.cert),
            "key": str(self.cert.key),
            "passwd_dir": str(passwd_dir),
            "lmtp": lmtp,
            "spool": str(self.spool),
            "control": str(self.control_path),
            "ready": str(self.ready_path),
            "oauth2_introspection_url": self.oauth2_introspection_url,
        }
        config_path = self.root / "smtp.json"
        config_path.write_text(json.dumps(config, indent=2))
        self._process = ServerProcess(self.name, [sys.executable, str(DAEMON), str(config_path)],
                                      self.log_path)
        self._process.spawn()
        self._process.wait_until(self.ready_path.exists, what="its ready file")
        ready = json.loads(self.ready_path.read_text())
        if ready["pid"] != self._process.pid:
            raise AssertionError(f"{self.name}: ready file from pid {ready['pid']}, "
                                 f"expected {self._process.pid}")
        self.ports = ready["ports"]
        return self

    def log_tail(self, lines: int = 40) -> str:
        return self._process.tail(lines) if self._process else ""

    # ----- control ------------------------------------------------------------------
    def _control(self, request: dict[str, Any]) -> dict[str, Any]:
        self.check_alive()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(str(self.control_path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            answer = b""
            while not answer.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        reply = json.loads(answer)
        if not reply.get("ok"):
            raise ValueError(f"{self.name} refused {request}: {reply.get('error')}")
        return reply["options"]

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change behaviour from the next transaction on. Returns all current options.

        reject_recipients: list of addresses answered "550 5.1.1" at RCPT;
        reject_senders: list of addresses answered "553 5.7.1 ... not owned by user" at MAIL
            (the login may not send as them, like Postfix's reject_sender_login_mismatch);
        tempfail: answer "451 4.3.0" for the next N transactions;
        tempfail_stage: where that 451 comes: "mail", "rcpt" or "data" (default);
        drop_after_data: for the next N transactions, deliver and spool the message,
            then close the connection instead of sending the final 250;
        size_limit: bytes advertised in EHLO SIZE and enforced (0 = no limit; default 32 MiB).
        """
        unknown = set(options) - set(OPTION_NAMES)
        if unknown:
            raise TypeError(f"unknown SMTP server options: {sorted(unknown)}")
        return self._control({"op": "configure", **options})

    def reset(self) -> None:
        """Default options again and an empty spool."""
        self._control({"op": "reset"})

    def options(self) -> dict[str, Any]:
        return self._control({"op": "state"})

    # ----- what it received ------------------------------------------------------------
    def messages(self) -> list[ReceivedMessage]:
        received = []
        for record_path in sorted(self.spool.glob("*.json")):
            record = json.loads(record_path.read_text())
            data = record_path.with_suffix(".eml").read_bytes()
            received.append(ReceivedMessage(data=data, **record))
        return received

    def wait_for_messages(self, count: int = 1, timeout: float = TIMEOUT) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        while True:
            received = self.messages()
            if len(received) >= count:
                return received
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} received {len(received)} messages, "
                                     f"expected {count}")
            time.sleep(0.05)
