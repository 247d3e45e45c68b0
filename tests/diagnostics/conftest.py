"""Small loopback listeners for the connection-test tests.

They stand in for broken servers the real fixtures cannot be: one that never
greets, one that trickles bytes, a plain-text IMAP server that does not offer
STARTTLS and records every byte it receives, and a closed port.
"""

from __future__ import annotations

import socket
import threading

import pytest

from tests.loopback import Handler, Listener, closed_port, listen  # noqa: F401 (fixtures)


def silent(client: socket.socket, listener: Listener) -> None:
    """Accept and say nothing, ever."""
    listener.drain(client)


def trickle(greeting: bytes) -> Handler:
    """Send the greeting one byte at a time, slowly, and never the end of the line."""

    def handler(client: socket.socket, listener: Listener) -> None:
        for byte in greeting.rstrip(b"\r\n") * 1000:
            if listener.stop.wait(0.05):
                return
            client.sendall(bytes([byte]))

    return handler


def imap_without_starttls(client: socket.socket, listener: Listener) -> None:
    """A plain-text IMAP server that offers no STARTTLS, answers CAPABILITY and records the rest."""
    client.sendall(b"* OK fake IMAP ready\r\n")
    while not listener.stop.is_set():
        line = listener.recv_line(client)
        if not line:
            return
        tag = line.split(b" ", 1)[0]
        if b"CAPABILITY" in line.upper():
            client.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        elif b"LOGOUT" in line.upper():
            client.sendall(b"* BYE bye\r\n" + tag + b" OK bye\r\n")
            return
        else:
            client.sendall(tag + b" BAD not here\r\n")


def smtp_without_starttls(client: socket.socket, listener: Listener) -> None:
    """A plain-text SMTP server that offers AUTH but no STARTTLS and records everything."""
    client.sendall(b"220 fake.test ESMTP ready\r\n")
    while not listener.stop.is_set():
        line = listener.recv_line(client)
        if not line:
            return
        verb = line.split(b" ", 1)[0].strip().upper()
        if verb == b"EHLO":
            client.sendall(b"250-fake.test\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 1000\r\n")
        elif verb == b"QUIT":
            client.sendall(b"221 bye\r\n")
            return
        else:
            client.sendall(b"502 not here\r\n")


@pytest.fixture
def fakes():
    """The handlers above, for tests (conftest modules are not meant to be imported)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        silent=silent, trickle=trickle, imap_without_starttls=imap_without_starttls,
        smtp_without_starttls=smtp_without_starttls,
    )


class _Udp:
    """A UDP 'nameserver' on loopback; `answer(query_bytes) -> reply bytes | None`."""

    def __init__(self, answer):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.answer = answer
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self.answer(data)
            if reply:
                self.sock.sendto(reply, peer)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def _nxdomain(query: bytes) -> bytes:
    import dns.message
    import dns.rcode

    response = dns.message.make_response(dns.message.from_wire(query))
    response.set_rcode(dns.rcode.NXDOMAIN)
    return response.to_wire()


@pytest.fixture
def nxdomain_server():
    """A loopback nameserver that says NXDOMAIN to everything: 'HOST:PORT'."""
    server = _Udp(_nxdomain)
    yield f"127.0.0.1:{server.port}"
    server.close()


@pytest.fixture
def silent_udp():
    """A loopback 'nameserver' that never answers: 'HOST:PORT'."""
    server = _Udp(lambda query: None)
    yield f"127.0.0.1:{server.port}"
    server.close()
