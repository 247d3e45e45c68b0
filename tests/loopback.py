"""A scripted TCP server on 127.0.0.1, for servers the real fixtures cannot be:
one that never greets, one that trickles bytes, one that records every byte.

`listen(handler)` (a fixture) starts one; `handler(client, listener)` runs for each
connection in its own thread. Everything is closed when the test ends.
"""

from __future__ import annotations

import socket
import threading
from typing import Callable

import pytest

Handler = Callable[[socket.socket, "Listener"], None]


class Listener:
    def __init__(self, handler: Handler):
        self.handler = handler
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self.stop = threading.Event()
        self._clients: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self._clients.append(client)
            threading.Thread(target=self._run, args=(client,), daemon=True).start()

    def _run(self, client: socket.socket) -> None:
        try:
            self.handler(client, self)
        except OSError:
            pass
        finally:
            client.close()

    def recv_line(self, client: socket.socket) -> bytes:
        """Read one line from the client, recording it."""
        data = bytearray()
        while not data.endswith(b"\n"):
            chunk = client.recv(1)
            if not chunk:
                break
            data += chunk
        self.received += data
        return bytes(data)

    read_line = recv_line

    def drain(self, client: socket.socket) -> None:
        """Record everything until the client goes away or the test ends."""
        client.settimeout(0.2)
        while not self.stop.is_set():
            try:
                chunk = client.recv(4096)
            except socket.timeout:
                continue
            if not chunk:
                return
            self.received += chunk

    def trickle(self, client: socket.socket, data: bytes, pause: float = 0.05) -> None:
        """Send `data` a byte at a time, each well inside any per-read timeout, until the
        client hangs up or the test ends."""
        for byte in data:
            if self.stop.wait(pause):
                return
            client.sendall(bytes([byte]))

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        for client in self._clients:
            try:
                client.close()
            except OSError:
                pass


@pytest.fixture
def listen():
    listeners: list[Listener] = []

    def start(handler: Handler) -> Listener:
        listener = Listener(handler)
        listeners.append(listener)
        return listener

    yield start
    for listener in listeners:
        listener.close()


def unused_port() -> int:
    """A loopback TCP port nothing listens on (bound, then released): connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """`unused_port()` as a fixture."""
    return unused_port()
