"""tls.py: verified contexts, pinning (blocking and asyncio), certificate facts."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import pytest
import trustme

from tamago_tui.backend import tls


class TlsServer:
    """Loopback TLS server: completes handshakes, sends one line, closes."""

    def __init__(self, cert: trustme.LeafCert):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.context)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                with self.context.wrap_socket(client, server_side=True) as tls_client:
                    tls_client.sendall(b"hello\r\n")
            except (OSError, ssl.SSLError):
                client.close()

    def close(self):
        self.sock.close()


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def server(ca):
    srv = TlsServer(ca.issue_cert("mail.test", "127.0.0.1"))
    yield srv
    srv.close()


@pytest.fixture
def cafile(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _handshake(context: ssl.SSLContext, port: int, host: str = "mail.test") -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return context.wrap_socket(raw, server_hostname=host)


def test_fingerprint_forms_normalise_to_plain_hex():
    value = "AB:" * 31 + "CD"
    assert tls.normalize_fingerprint(value) == "ab" * 31 + "cd"
    assert tls.normalize_fingerprint("sha256:" + "ab" * 32) == "ab" * 32
    assert tls.is_valid_fingerprint("AB " * 32)
    assert not tls.is_valid_fingerprint("ab" * 31)
    assert not tls.is_valid_fingerprint("zz" * 32)


def test_account_cafile_adds_trust_and_checks_the_name(server, cafile):
    with _handshake(tls.client_context(cafile=cafile), server.port) as sock:
        info = tls.session_info(sock)
    assert info.verified is True
    assert info.protocol in ("TLSv1.2", "TLSv1.3")
    assert info.certificate.sha256 == tls.fingerprint(server.der)
    assert info.certificate.matches_host("mail.test")
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls.client_context(cafile=cafile), server.port, host="other.test")


def test_untrusted_certificate_fails_without_a_pin(server):
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls.client_context(), server.port)


def test_pinned_certificate_is_accepted_even_for_another_name(server):
    context = tls.client_context(pinned_sha256=tls.fingerprint(server.der).upper())
    with _handshake(context, server.port, host="other.test") as sock:
        info = tls.session_info(sock)
        assert sock.recv(10) == b"hello\r\n"
    assert info.verified is False
    assert "pinned" in info.summary("other.test")


def test_a_different_certificate_than_the_pinned_one_is_refused(server):
    with pytest.raises(tls.PinMismatchError) as caught:
        _handshake(tls.client_context(pinned_sha256="00" * 32), server.port)
    assert caught.value.actual == tls.fingerprint(server.der)
    assert isinstance(caught.value, ssl.SSLCertVerificationError)


def test_pinning_also_guards_asyncio_connections(server):
    async def connect(pin: str) -> bytes:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", server.port, ssl=tls.client_context(pinned_sha256=pin),
                                    server_hostname="mail.test"),
            timeout=5,
        )
        try:
            return await reader.readline()
        finally:
            writer.close()

    assert asyncio.run(connect(tls.fingerprint(server.der))) == b"hello\r\n"
    with pytest.raises(ssl.SSLError):
        asyncio.run(connect("11" * 32))


def test_reading_context_reads_an_untrusted_certificate(server):
    with _handshake(tls.reading_context(), server.port, host="whatever.test") as sock:
        der = sock.getpeercert(binary_form=True)
    info = tls.describe_certificate(der)
    assert info.sha256 == tls.fingerprint(server.der)
    assert info.san_dns == ("mail.test",)
    assert info.san_ip == ("127.0.0.1",)
    assert info.matches_host("127.0.0.1") and not info.matches_host("127.0.0.2")
    assert not info.self_signed
    assert info.days_left() > 0
    summary = info.summary("whatever.test")
    assert "matches: NO" in summary and info.sha256 in summary


def test_bad_pin_text_is_rejected():
    with pytest.raises(ValueError):
        tls.client_context(pinned_sha256="not-a-fingerprint")


def test_minimum_version_is_tls_1_2(cafile):
    assert tls.client_context(cafile=cafile).minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls.client_context(pinned_sha256="ab" * 32).minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls.client_context().check_hostname is True


@pytest.mark.parametrize(
    "pattern,host,expected",
    [
        ("mail.example.com", "MAIL.example.com", True),
        ("*.example.com", "mail.example.com", True),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", "example.com", False),
        ("mail.example.com", "imap.example.com", False),
    ],
)
def test_wildcards_cover_exactly_one_label(pattern, host, expected):
    assert tls._dns_matches(pattern, host) is expected
