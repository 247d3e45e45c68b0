"""Every network call ends: servers that trickle bytes, keyrings and resolvers that never answer.

Each stand-in server sends a byte well inside any per-read timeout, for far
longer than the overall deadline, so only the deadline can stop the call. No
assertion is made on a clock: the calls must simply end, with category "timeout".
"""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from tamago_tui.backend import imap, secrets, smtp, wire
from tamago_tui.backend.autoconfig import AutoconfigError, fetch
from tamago_tui.backend.errors import NetworkError, SecretError
from tamago_tui.backend.models import Security, ServerSettings
from tamago_tui.backend.resolver import DnsTimeout, Resolver

PASSWORD = "Trickle-Pw-never-sent-31337"
LONG = b"* OK " + b"a" * 2000 + b"\r\n"  # 2000 bytes at 20 per second: 100 s, unless the deadline stops it


def trickling_greeting(client: socket.socket, listener) -> None:
    listener.trickle(client, LONG)


def test_imap_connect_has_an_overall_deadline(listen):
    listener = listen(trickling_greeting)
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "user")
    with pytest.raises(NetworkError) as caught:
        imap.connect(settings, PASSWORD, timeout=1.0, deadline=1.5)
    assert caught.value.category == "timeout"
    assert "did not finish connecting and logging in within 1.5 s" in str(caught.value)
    assert PASSWORD.encode() not in bytes(listener.received)


def test_imap_deadline_covers_the_login_too(listen):
    """A quick greeting, then a server that trickles its answer to LOGIN."""

    def handler(client, listener):
        client.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n")
        while True:
            line = listener.read_line(client)
            if not line:
                return
            tag = line.split(b" ", 1)[0]
            if b"CAPABILITY" in line.upper():
                client.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
            else:
                listener.trickle(client, b"* " + b"x" * 2000 + b"\r\n")
                return

    listener = listen(handler)
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "user")
    with pytest.raises(NetworkError) as caught:
        imap.connect(settings, "pw", timeout=1.0, deadline=1.5)
    assert caught.value.category == "timeout"


def test_imap_connect_within_the_deadline_still_works(dovecot, test_ca):
    user = dovecot.alice
    settings = ServerSettings("localhost", dovecot.ports["imap"], Security.STARTTLS, user.login)
    client = imap.connect(settings, user.password, cafile=str(test_ca.cafile), timeout=10)
    try:
        assert client.capabilities()
        assert client.socket().gettimeout() == 10  # the per-read timeout stays after connect()
    finally:
        client.logout()


def test_smtp_connect_has_an_overall_deadline(listen):
    def handler(client, listener):
        listener.trickle(client, b"220 " + b"s" * 2000 + b"\r\n")

    listener = listen(handler)
    settings = ServerSettings("127.0.0.1", listener.port, Security.NONE, "user")
    with pytest.raises(NetworkError) as caught:
        # aiosmtplib bounds each whole reply by `timeout`; the deadline bounds all of them together.
        asyncio.run(smtp.connect(settings, PASSWORD, timeout=30.0, deadline=1.5))
    assert caught.value.category == "timeout"
    assert "within 1.5 s" in str(caught.value)
    assert PASSWORD.encode() not in bytes(listener.received)


def test_autoconfig_fetch_has_an_overall_deadline(listen):
    def handler(client, listener):
        listener.read_line(client)
        listener.trickle(client, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"z" * 2000 + b"\r\n\r\n")

    listener = listen(handler)
    with pytest.raises(AutoconfigError) as caught:
        fetch("http://autoconfig.example.test/mail/config-v1.1.xml", _StaticResolver(), timeout=1.5,
              http_port=listener.port)
    assert "timed out" in str(caught.value)


class _StaticResolver(Resolver):
    def __init__(self):
        super().__init__("")

    def addresses(self, host, *, timeout=None):
        return ["127.0.0.1"]


def test_watchdog_reaches_a_socket_after_it_is_wrapped(listen):
    """The duplicate descriptor still shuts the connection after the original object is detached."""
    listener = listen(lambda client, l: l.trickle(client, b"x" * 2000))
    watchdog = wire.Watchdog(0.5)
    sock = socket.create_connection(("127.0.0.1", listener.port), timeout=5)
    wrapped = socket.socket(fileno=sock.detach())  # as ssl.wrap_socket does
    with watchdog:
        watchdog.watch(wrapped)
        while True:
            chunk = wrapped.recv(10)  # each byte comes well inside the 5 s timeout
            if not chunk:
                break
    assert watchdog.expired
    wrapped.close()


def test_a_keyring_that_never_answers(monkeypatch):
    stuck = threading.Event()

    class SilentKeyring:
        def get_password(self, service, account):
            stuck.wait(30)

        def set_password(self, service, account, secret):
            stuck.wait(30)

    backend = secrets.KeyringBackend(SilentKeyring(), timeout=0.3)
    try:
        with pytest.raises(SecretError, match="did not answer within 0.3 seconds"):
            backend.get("work", "password")
        with pytest.raises(SecretError, match="secret_backend = \"encrypted\""):
            backend.set("work", "password", "x")
    finally:
        stuck.set()


def test_a_keyring_that_cannot_be_found_in_time_is_not_usable(monkeypatch):
    import keyring

    stuck = threading.Event()
    monkeypatch.setattr(keyring, "get_keyring", lambda: stuck.wait(30))
    try:
        assert secrets.keyring_usable(timeout=0.3) is False
    finally:
        stuck.set()


def test_system_name_lookups_are_bounded(monkeypatch):
    stuck = threading.Event()

    def getaddrinfo(*args, **kwargs):
        stuck.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "late")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    try:
        with pytest.raises(DnsTimeout):
            Resolver("", timeout=0.3).addresses("slow.example.test")
        with pytest.raises(NetworkError) as caught:
            Resolver("ns.example.test:53", timeout=0.3).records("example.test", "MX")
        assert "nameserver" in str(caught.value)
        with pytest.raises(NetworkError) as imap_error:
            imap.connect(ServerSettings("slow.example.test", 993, Security.SSL, "u"), "pw", timeout=0.3)
        assert imap_error.value.category == "dns_failure"
    finally:
        stuck.set()
