"""A scripted IMAP peer on a socket pair, for protocol paths the real Dovecot cannot show
(Gmail's X-GM-EXT-1, a trickling or silent server, an oversized literal).

`replies` maps a regular expression on the command (without its tag) to the
untagged lines to send before `TAG OK`; a callable gets the match and returns
them. Every command line is recorded in `commands`.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from types import SimpleNamespace

from tamago_tui.backend.imapwire import Wire


class FakeServer:
    def __init__(self, replies: dict[str, object], *, trickle: float = 0.0, silent: bool = False):
        self.client_sock, self.server_sock = socket.socketpair()
        self.replies = [(re.compile(pattern, re.I | re.S), reply) for pattern, reply in replies.items()]
        self.trickle = trickle
        self.silent = silent
        self.commands: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def wire(self, capabilities=("IMAP4rev1",), **options) -> Wire:
        return Wire(SimpleNamespace(sock=self.client_sock), capabilities=capabilities, **options)

    def close(self) -> None:
        for sock in (self.client_sock, self.server_sock):
            try:
                sock.close()
            except OSError:
                pass

    def _send(self, data: bytes) -> None:
        if self.trickle:
            for i in range(len(data)):
                self.server_sock.sendall(data[i : i + 1])
                time.sleep(self.trickle)
        else:
            self.server_sock.sendall(data)

    def _serve(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = self.server_sock.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\r\n" in buffer:
                    line, buffer = buffer.split(b"\r\n", 1)
                    self.commands.append(line)
                    if self.silent:
                        continue
                    tag, _, command = line.partition(b" ")
                    self._send(self._answer(command) + tag + b" OK done\r\n")
        except OSError:
            return

    def _answer(self, command: bytes) -> bytes:
        text = command.decode("utf-8", "replace")
        for pattern, reply in self.replies:
            match = pattern.search(text)
            if match:
                lines = reply(match) if callable(reply) else reply
                return b"".join(lines) if isinstance(lines, (list, tuple)) else lines
        return b""
