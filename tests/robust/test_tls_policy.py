"""TLS is verified everywhere, and a missing or refused STARTTLS never becomes plain text.

The source scan keeps it that way: certificate checks may only be switched off in
the two documented places of tls.py (a pinned context, which checks the pin
itself, and the reading context that only displays an untrusted certificate).
"""

from __future__ import annotations

import ast
import asyncio
import base64
import ssl
from pathlib import Path

import pytest

import tamago_tui
from tamago_tui.backend import imap, smtp, tls
from tamago_tui.backend.errors import NetworkError
from tamago_tui.backend.models import Security, ServerSettings

PACKAGE = Path(tamago_tui.__file__).parent
PASSWORD = "Starttls-Pw-never-in-clear-777"
# Where switching verification off is allowed: (file, function) -> why.
ALLOWED = {
    ("backend/tls.py", "client_context"): "PinnedContext: the pin is checked in the handshake",
    ("backend/tls.py", "reading_context"): "only reads a certificate to show or pin it",
}
READING_CONTEXT_CALLERS = {"backend/diagnostics/common.py"}


def _functions(tree: ast.AST):
    """(function name, node) for every node, by the innermost enclosing function."""
    def walk(node, owner):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
            yield name, child
            yield from walk(child, name)

    yield from walk(tree, "<module>")


def _weakening(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute) and node.attr in ("CERT_NONE", "CERT_OPTIONAL", "_create_unverified_context"):
        return node.attr
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value is False:
        if any(isinstance(t, ast.Attribute) and t.attr == "check_hostname" for t in node.targets):
            return "check_hostname = False"
    if isinstance(node, ast.keyword) and node.arg in ("verify", "check_hostname", "validate_certs"):
        if isinstance(node.value, ast.Constant) and node.value.value is False:
            return f"{node.arg}=False"
    return None


def test_no_global_ignore_tls_anywhere():
    found = []
    callers = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function, node in _functions(tree):
            what = _weakening(node)
            if what and (relative, function) not in ALLOWED:
                found.append(f"{relative}:{node.lineno} in {function}(): {what}")
            if isinstance(node, ast.Attribute) and node.attr == "reading_context" and relative != "backend/tls.py":
                callers.add(relative)
            if isinstance(node, ast.Name) and node.id == "reading_context" and relative != "backend/tls.py":
                callers.add(relative)
    assert found == [], "certificate checks switched off outside tls.py's documented contexts"
    assert callers <= READING_CONTEXT_CALLERS, callers


def test_the_scan_would_catch_a_weakened_context():
    sample = ast.parse("import ssl\ndef connect():\n    c = ssl.create_default_context()\n"
                       "    c.check_hostname = False\n    c.verify_mode = ssl.CERT_NONE\n")
    assert sorted(w for _, n in _functions(sample) if (w := _weakening(n))) == ["CERT_NONE", "check_hostname = False"]


def test_client_contexts_verify():
    plain = tls.client_context()
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert plain.minimum_version >= ssl.TLSVersion.TLSv1_2
    pinned = tls.client_context(pinned_sha256="ab" * 32)
    assert isinstance(pinned, tls.PinnedContext) and pinned.pinned_sha256 == "ab" * 32
    with pytest.raises(ValueError):
        tls.client_context(pinned_sha256="not-a-fingerprint")


# -- STARTTLS: missing or refused means stop, before any credential -----------------------


def _secrets_in(data: bytes, user: str = "user") -> list[str]:
    forms = {
        "password": PASSWORD.encode(),
        "base64(password)": base64.b64encode(PASSWORD.encode()),
        "SASL PLAIN": base64.b64encode(f"\0{user}\0{PASSWORD}".encode()),
        "SASL PLAIN with authzid": base64.b64encode(f"{user}\0{user}\0{PASSWORD}".encode()),
    }
    return [name for name, form in forms.items() if form in data]


def imap_without_starttls(refuse: bool):
    def handler(client, listener):
        caps = b"IMAP4rev1 AUTH=PLAIN AUTH=LOGIN" + (b" STARTTLS" if refuse else b"")
        client.sendall(b"* OK [CAPABILITY " + caps + b"] plain-text server\r\n")
        while True:
            line = listener.read_line(client)
            if not line:
                return
            tag, _, rest = line.partition(b" ")
            command = rest.split(b" ", 1)[0].strip().upper()
            if command == b"CAPABILITY":
                client.sendall(b"* CAPABILITY " + caps + b"\r\n" + tag + b" OK done\r\n")
            elif command == b"STARTTLS":
                client.sendall(tag + b" BAD [UNAVAILABLE] TLS is broken today\r\n")
            elif command == b"LOGOUT":
                client.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                client.sendall(tag + b" OK whatever you say\r\n")  # it would accept a plain-text login
    return handler


@pytest.mark.parametrize("refuse", [False, True], ids=["not-offered", "refused"])
def test_imap_connect_never_falls_back_to_plain_text(listen, refuse):
    listener = listen(imap_without_starttls(refuse))
    settings = ServerSettings("127.0.0.1", listener.port, Security.STARTTLS, "user")
    with pytest.raises(NetworkError) as caught:
        imap.connect(settings, PASSWORD, timeout=5)
    assert caught.value.category == "starttls_unavailable"
    assert "the password was not sent" in str(caught.value)
    assert _secrets_in(bytes(listener.received)) == []
    assert b"LOGIN" not in bytes(listener.received) and b"AUTHENTICATE" not in bytes(listener.received)


def smtp_without_starttls(refuse: bool):
    def handler(client, listener):
        client.sendall(b"220 plain.example.test ESMTP\r\n")
        while True:
            line = listener.read_line(client)
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                client.sendall(b"250-plain.example.test\r\n" + (b"250-STARTTLS\r\n" if refuse else b"")
                               + b"250 AUTH PLAIN LOGIN\r\n")
            elif verb == b"STARTTLS":
                client.sendall(b"454 4.7.0 TLS not available due to temporary reason\r\n")
            elif verb == b"QUIT":
                client.sendall(b"221 bye\r\n")
                return
            else:
                client.sendall(b"235 2.7.0 accepted\r\n")  # it would take a plain-text AUTH
    return handler


@pytest.mark.parametrize("refuse", [False, True], ids=["not-offered", "refused"])
def test_smtp_connect_never_falls_back_to_plain_text(listen, refuse):
    listener = listen(smtp_without_starttls(refuse))
    settings = ServerSettings("127.0.0.1", listener.port, Security.STARTTLS, "user")
    with pytest.raises(NetworkError) as caught:
        asyncio.run(smtp.connect(settings, PASSWORD, timeout=5))
    assert caught.value.category == "starttls_unavailable"
    assert "the password was not sent" in str(caught.value)
    assert _secrets_in(bytes(listener.received)) == []
    assert b"AUTH" not in bytes(listener.received)


def test_real_servers_without_starttls(dovecot_factory, smtp_server, dovecot, test_ca):
    """Debian's Dovecot with ssl = no and the SMTP server's plain listener: both refused, no login tried."""
    from tests.diagnostics.serverhelp import assert_no_login_attempt, imap_login_log_since, log_size

    plain = dovecot_factory(starttls=False)
    start = log_size(plain)
    with pytest.raises(NetworkError) as imap_error:
        imap.connect(ServerSettings("localhost", plain.ports["imap"], Security.STARTTLS, plain.alice.login),
                     plain.alice.password, cafile=str(test_ca.cafile), timeout=10)
    assert imap_error.value.category == "starttls_unavailable"
    assert_no_login_attempt(imap_login_log_since(plain, start))  # Dovecot logged the visit, with no login
    offset = smtp_server.log_path.stat().st_size  # the shared server's log holds earlier tests' AUTHs
    with pytest.raises(NetworkError) as smtp_error:
        asyncio.run(smtp.connect(ServerSettings("localhost", smtp_server.ports["plain"], Security.STARTTLS,
                                                dovecot.alice.login), dovecot.alice.password,
                                 cafile=str(test_ca.cafile), timeout=10))
    assert smtp_error.value.category == "starttls_unavailable"
    with open(smtp_server.log_path, encoding="utf-8", errors="replace") as handle:
        handle.seek(offset)
        since = handle.read()
    assert ">> b'EHLO" in since  # the server logs every command it reads...
    assert ">> b'AUTH" not in since  # ...and no AUTH came


def test_an_unusable_ca_file_is_explained(tmp_path, tamago_home):
    from .conftest import run_tamago

    junk = tmp_path / "ca.pem"
    junk.write_text("this is not a certificate\n")
    settings = ServerSettings("127.0.0.1", 1, Security.SSL, "user")
    with pytest.raises(tls.TlsSetupError) as imap_error:
        imap.connect(settings, PASSWORD, cafile=str(junk), timeout=5)
    with pytest.raises(tls.TlsSetupError) as smtp_error:
        asyncio.run(smtp.connect(settings, PASSWORD, cafile=str(junk), timeout=5))
    for error in (imap_error.value, smtp_error.value):
        assert error.category == "certificate_invalid"
        assert "holds no usable CA certificate" in str(error) and str(junk) in str(error)
    with pytest.raises(tls.TlsSetupError, match="does not exist"):
        tls.checked_context(cafile=str(tmp_path / "missing.pem"))
    done = run_tamago("doctor", "a@example.test", "--imap-host", "127.0.0.1", "--smtp-host", "127.0.0.1",
                      "--cafile", str(junk), home=tamago_home)
    assert done.returncode == 2 and "holds no usable CA certificate" in done.stderr
    assert "Traceback" not in done.stderr
