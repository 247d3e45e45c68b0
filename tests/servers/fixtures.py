"""pytest plugin: the real test servers as fixtures (loaded from tests/conftest.py).

Shared, session-wide instances (checked alive before and after every test that uses them):
  test_ca       TestCA: CA file and certificate variants
  dovecot       Dovecot with users alice, bob (standard folders) and gmail ([Gmail]/...)
  smtp_server   SmtpServer delivering to that Dovecot; options reset before each test
  dns_server    DnsServer with the example.test zone pointing at those servers
Per test:
  imap_user / gmail_user                 a fresh user with an empty mailbox on `dovecot`
  dovecot_factory / smtp_factory / dns_factory   private instances, stopped after the test

Tests that use any of these are marked `servers` automatically. When such a test
fails, the report carries the last lines of each server's log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

from .certs import TestCA
from .dns import DNSMASQ, DnsServer
from .dovecot import DOVEADM, DOVECOT, Dovecot
from .process import private_dir, remove_dir
from .smtp import SmtpServer
from .users import DEFAULT_USERS, DOMAIN, MailUser

SERVER_FIXTURES = {"test_ca", "dovecot", "smtp_server", "dns_server", "imap_user", "gmail_user",
                   "dovecot_factory", "smtp_factory", "dns_factory"}
_servers_in_use = pytest.StashKey[list]()


def _require(*programs: str) -> None:
    missing = [program for program in programs if not shutil.which(program)]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run ./scripts/test, which installs "
                    "dovecot-imapd, dovecot-lmtpd and dnsmasq-base", pytrace=False)
    if os.geteuid() != 0:
        pytest.fail("the Dovecot test server must be started as root", pytrace=False)


def _watch(request: pytest.FixtureRequest, server) -> None:
    """Remember the server so a failing test's report shows its log."""
    request.node.stash.setdefault(_servers_in_use, []).append(server)


def _checked(request: pytest.FixtureRequest, server) -> Iterator:
    server.check_alive()
    _watch(request, server)
    yield server
    server.check_alive()  # a server that died during the test fails it, with its log


def _stop_all(servers: list, **stop_options) -> None:
    """Stop private instances; fail the test if one of them died during it."""
    deaths = []
    for server in servers:
        if server.pid is not None:
            try:
                server.check_alive()
            except AssertionError as error:
                deaths.append(str(error))
        server.stop(**stop_options)
    if deaths:
        pytest.fail("\n\n".join(deaths), pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "servers: needs the real Dovecot, SMTP and DNS test servers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.servers)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in item.stash.get(_servers_in_use, []):
            tail = server.log_tail()
            if tail:
                report.sections.append((f"{server.name} log (last lines)", tail))


# ----- certificates ---------------------------------------------------------------------
@pytest.fixture(scope="session")
def test_ca() -> Iterator[TestCA]:
    directory = private_dir("certs")
    yield TestCA(directory)
    remove_dir(directory)


# ----- Dovecot ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _dovecot_session(test_ca: TestCA) -> Iterator[Dovecot]:
    _require(DOVECOT, DOVEADM)
    server = Dovecot(test_ca).start()
    yield server
    server.stop()


@pytest.fixture
def dovecot(request, _dovecot_session: Dovecot) -> Iterator[Dovecot]:
    """The shared Dovecot. Its alice/bob/gmail mailboxes are shared by every test:
    seed and modify mail in a fresh `imap_user` / `gmail_user` instead."""
    yield from _checked(request, _dovecot_session)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> MailUser:
    """A new standard user (INBOX, Sent, Drafts, Trash, Archive, Junk) nobody else sees."""
    return dovecot.add_user("standard")


@pytest.fixture
def gmail_user(dovecot: Dovecot) -> MailUser:
    """A new Gmail-like user (INBOX and [Gmail]/...) nobody else sees."""
    return dovecot.add_user("gmail")


@pytest.fixture
def dovecot_factory(request, test_ca: TestCA) -> Iterator[Callable[..., Dovecot]]:
    """make(cert="server", starttls=True, users=DEFAULT_USERS, oauth2_introspection_url=None)
    -> a started private Dovecot.

    cert: a TestCA variant ("server", "wrong_host", "expired", "untrusted", "self_signed");
    starttls=False: `ssl = no`, so ports["imap"] does not offer STARTTLS (and no "imaps").
    oauth2_introspection_url: also offer XOAUTH2 and OAUTHBEARER, checked by Dovecot's
    oauth2 passdb against that RFC 7662 endpoint (see tests/servers/oauth_server.py).
    capabilities: Dovecot's `imap_capability`, the CAPABILITY list after login (NO_CONDSTORE
    is Dovecot's own list without CONDSTORE and QRESYNC).
    Stopped (SIGKILL to its process group, instant) and removed after the test.
    """
    _require(DOVECOT, DOVEADM)
    started: list[Dovecot] = []

    def make(*, cert: str = "server", starttls: bool = True,
             users: tuple[MailUser, ...] = DEFAULT_USERS,
             oauth2_introspection_url: str | None = None, capabilities: str | None = None) -> Dovecot:
        server = Dovecot(test_ca, cert=cert, starttls=starttls, users=users,
                         name=f"dovecot-{cert}{'' if starttls else '-plain'}",
                         oauth2_introspection_url=oauth2_introspection_url, capabilities=capabilities)
        started.append(server)
        server.start()
        _watch(request, server)
        return server

    yield make
    _stop_all(started)


# ----- SMTP --------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _smtp_session(test_ca: TestCA, _dovecot_session: Dovecot) -> Iterator[SmtpServer]:
    server = SmtpServer(test_ca, _dovecot_session).start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(request, _smtp_session: SmtpServer, dovecot: Dovecot) -> Iterator[SmtpServer]:
    """The shared SMTP server, with default options and an empty spool for each test."""
    _smtp_session.check_alive()
    _smtp_session.reset()
    yield from _checked(request, _smtp_session)


@pytest.fixture
def smtp_factory(request, test_ca: TestCA, dovecot: Dovecot) -> Iterator[Callable[..., SmtpServer]]:
    """make(cert="server", dovecot=<shared Dovecot>, oauth2_introspection_url=None)
    -> a started private SMTP server (with the URL: AUTH XOAUTH2 and OAUTHBEARER too)."""
    started: list[SmtpServer] = []

    def make(*, cert: str = "server", dovecot: Dovecot | None = dovecot,
             oauth2_introspection_url: str | None = None) -> SmtpServer:
        server = SmtpServer(test_ca, dovecot, cert=cert, name=f"smtp-{cert}",
                            oauth2_introspection_url=oauth2_introspection_url)
        started.append(server)
        server.start()
        _watch(request, server)
        return server

    yield make
    _stop_all(started)


# ----- DNS -------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _dns_session(_dovecot_session: Dovecot, _smtp_session: SmtpServer) -> Iterator[DnsServer]:
    _require(DNSMASQ)
    server = DnsServer()
    server.add_mail_domain(
        DOMAIN, imap=_dovecot_session.ports["imap"], imaps=_dovecot_session.ports["imaps"],
        submission=_smtp_session.ports["submission"], submissions=_smtp_session.ports["smtps"])
    server.add_txt(DOMAIN, "v=spf1 -all")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dns_server(request, _dns_session: DnsServer) -> Iterator[DnsServer]:
    """The shared DNS server: example.test's MX, SRV and A records point at the shared
    Dovecot and SMTP server. Do not add records to it; use dns_factory."""
    yield from _checked(request, _dns_session)


@pytest.fixture
def dns_factory(request) -> Iterator[Callable[[], DnsServer]]:
    """make() -> a new, NOT yet started DnsServer: add records, then .start() (returns it)."""
    _require(DNSMASQ)
    created: list[DnsServer] = []

    def make() -> DnsServer:
        server = DnsServer(name=f"dns-{len(created) + 1}")
        created.append(server)
        _watch(request, server)
        return server

    yield make
    _stop_all(created)
