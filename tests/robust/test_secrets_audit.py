"""Secrets are secrets, end to end, against the real servers.

A realistic session (add an account with the encrypted store, list, test, a
doctor run with a wrong password, a lookup, an explain of text that contains
the password) with debug logging on; then every byte under TAMAGO_HOME (config,
SQLite with its WAL, the log, the cache, lock files) and every captured output
is searched for the password, the wrong password and the master passphrase, raw
and in the base64 forms a login puts on the wire.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets as pysecrets

import pytest

from tamago_tui.backend import imap, smtp
from tamago_tui.backend.log import LIBRARY_LOGGERS
from tamago_tui.backend.models import Security, ServerSettings
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services

from .conftest import run_tamago

pytestmark = pytest.mark.servers


def forms(secret: str, login: str) -> dict[str, bytes]:
    """The secret as it may appear: raw, base64, and inside SASL PLAIN blobs (with and without authzid)."""
    return {
        "raw": secret.encode(),
        "base64": base64.b64encode(secret.encode()),
        "sasl-plain": base64.b64encode(f"\0{login}\0{secret}".encode()),
        "sasl-plain-authzid": base64.b64encode(f"{login}\0{login}\0{secret}".encode()),
    }


def leaks(needles: dict[str, bytes], haystacks: dict[str, bytes]) -> list[str]:
    return [f"{needle} in {where}" for where, data in haystacks.items()
            for needle, form in needles.items() if form in data]


def every_file(home) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def test_a_whole_session_leaves_no_secret_behind(imap_user, dovecot, smtp_server, dns_server, test_ca, tamago_home):
    user = imap_user
    master = "Master-" + pysecrets.token_urlsafe(12)
    wrong = "Wrong-" + pysecrets.token_urlsafe(12)
    env = {"TAMAGO_MASTER_PASSWORD": master, "TAMAGO_LOG_LEVEL": "debug"}
    servers = ["--imap-host", "localhost", "--imap-port", str(dovecot.ports["imaps"]), "--imap-security", "ssl",
               "--smtp-host", "localhost", "--smtp-port", str(smtp_server.ports["submission"]),
               "--smtp-security", "starttls", "--cafile", str(test_ca.cafile)]
    outputs: dict[str, str] = {}

    def run(name: str, *args: str, stdin: str = "", expect: int = 0) -> str:
        done = run_tamago(*args, stdin=stdin, env=env, home=tamago_home)
        outputs[f"{name} stdout"], outputs[f"{name} stderr"] = done.stdout, done.stderr
        assert done.returncode == expect, (name, done.returncode, done.stdout, done.stderr)
        return done.stdout

    run("add", "accounts", "add", user.address, *servers, "--password-stdin", "--json", stdin=user.password + "\n")
    assert json.loads(run("list", "accounts", "list", "--json"))[0]["status"] == "connected"
    assert json.loads(run("test", "accounts", "test", user.address, "--json"))["ok"] is True
    doctor = json.loads(run("doctor", "doctor", user.address, *servers, "--password-stdin", "--json",
                            stdin=wrong + "\n", expect=1))
    assert doctor["category"] == "invalid_credentials"
    lookup = json.loads(run("lookup", "lookup", user.address, "--nameserver", dns_server.nameserver, "--json"))
    assert lookup["imap"]["host"] == "mail.example.test"
    blob = base64.b64encode(f"\0{user.address}\0{user.password}".encode()).decode()
    pasted = (f"a001 LOGIN {user.address} {user.password}\r\na001 NO [AUTHENTICATIONFAILED] failed\r\n"
              f"C: AUTH PLAIN {blob}\r\nS: 535 5.7.8 Error: authentication failed\r\n"
              f"password={user.password} master: {master}")
    explained = json.loads(run("explain", "explain", "-", "--json", stdin=pasted))
    assert explained["category"] == "invalid_credentials"
    run("explain text", "explain", pasted)

    files = every_file(tamago_home)
    assert {"config.toml", "tamago.db", "tamago.log", "secrets.enc"} <= set(files)
    assert b"DEBUG" in files["tamago.log"]  # debug logging really was on
    needles = {f"password {k}": v for k, v in forms(user.password, user.address).items()}
    needles |= {f"wrong password {k}": v for k, v in forms(wrong, user.address).items()}
    needles |= {f"master {k}": v for k, v in forms(master, user.address).items()}
    captured = {name: text.encode() for name, text in outputs.items()}
    assert leaks(needles, files | captured) == []


def test_debug_logging_never_records_login_arguments(imap_user, dovecot, smtp_server, test_ca, tamago_home,
                                                     monkeypatch):
    """imapclient logs every command at debug level: tamago keeps it at INFO, and even when someone
    turns it up, the records pass through the redacting handler."""
    monkeypatch.setenv("TAMAGO_LOG_LEVEL", "debug")
    services = Services(Paths.resolve(tamago_home))
    assert logging.getLogger("tamago").level == logging.DEBUG
    for name in LIBRARY_LOGGERS:
        assert logging.getLogger(name).getEffectiveLevel() >= logging.INFO, name
    user = imap_user
    imap_settings = ServerSettings("localhost", dovecot.ports["imaps"], Security.SSL, user.login)
    smtp_settings = ServerSettings("localhost", smtp_server.ports["smtps"], Security.SSL, user.login)

    def session() -> None:
        client = imap.connect(imap_settings, user.password, cafile=str(test_ca.cafile), timeout=10)  # LOGIN
        client.logout()
        client = imap.connect(imap_settings, user.password, cafile=str(test_ca.cafile), timeout=10, login=False)
        client.plain_login(user.login, user.password)  # AUTHENTICATE PLAIN
        client.logout()

        async def send() -> None:
            client = await smtp.connect(smtp_settings, user.password, cafile=str(test_ca.cafile), timeout=10)
            await client.quit()

        asyncio.run(send())

    session()
    logging.getLogger("imapclient").setLevel(logging.DEBUG)  # someone turns the wire log on anyway
    try:
        session()
    finally:
        logging.getLogger("imapclient").setLevel(logging.INFO)
    for handler in logging.getLogger("tamago").handlers:
        handler.flush()
    log = (tamago_home / "tamago.log").read_bytes()
    assert b"imapclient" in log  # the forced wire log did reach the file...
    assert leaks(forms(user.password, user.login), {"tamago.log": log}) == []  # ...without the secret
    assert services.paths.log_file == tamago_home / "tamago.log"
