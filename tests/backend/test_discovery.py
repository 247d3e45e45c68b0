"""Server lookup against real servers on loopback: dnsmasq for DNS (tests/servers), Dovecot
and the SMTP submission server for the probes, and an http.server for autoconfig.

The lookup zone below is served by a private dnsmasq started for this module;
unknown names under .test are NXDOMAIN, so nothing ever leaves the machine.
"""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import threading

import pytest
import trustme

from tamago_tui.backend import discovery
from tamago_tui.backend.discovery import NOT_FOUND, LookupOptions, lookup
from tamago_tui.backend.errors import UsageError
from tamago_tui.backend.models import Security
from tamago_tui.backend.probe import probe_imap, probe_smtp
from tamago_tui.backend.resolver import DnsError
from tamago_tui.cli import main
from tests.loopback import unused_port as closed_port
from tests.servers.dns import DnsServer

pytestmark = pytest.mark.servers


def build_zone(dns: DnsServer) -> DnsServer:
    # srv.test: all four RFC 6186/8314 services; implicit TLS must win, then priority, then weight.
    dns.add_srv("_imaps._tcp.srv.test", "imap-backup.srv.test", 993, priority=20, weight=100)
    dns.add_srv("_imaps._tcp.srv.test", "imap.srv.test", 993, priority=10, weight=10)
    dns.add_srv("_imap._tcp.srv.test", "imap.srv.test", 143, priority=0, weight=10)
    dns.add_srv("_submissions._tcp.srv.test", "smtp-light.srv.test", 465, priority=10, weight=5)
    dns.add_srv("_submissions._tcp.srv.test", "smtp-heavy.srv.test", 465, priority=10, weight=50)
    dns.add_srv("_submission._tcp.srv.test", "smtp.srv.test", 587, priority=0, weight=10)
    # dot.test: "no IMAP over TLS here" (target "."), STARTTLS services instead.
    dns.add_srv("_imaps._tcp.dot.test", None)
    dns.add_srv("_imap._tcp.dot.test", "mail.dot.test", 143)
    dns.add_srv("_submission._tcp.dot.test", "mail.dot.test", 587)
    # MX-only domains.
    dns.add_mx("hosted-google.test", "alt1.aspmx.l.google.com", 5)
    dns.add_mx("hosted-google.test", "aspmx.l.google.com", 1)
    dns.add_mx("hosted-365.test", "hosted-365-test.mail.protection.outlook.com", 0)
    dns.add_mx("nothing.test", "mx.unknown-isp.example", 10)
    # Autoconfig over HTTP (autoconfig.<domain>) and over the .well-known path (<domain>).
    dns.add_a("autoconfig.auto.test")
    dns.add_a("wk.test")
    dns.add_a("autoconfig.tls.test")
    # half.test: autoconfig knows IMAP only, SRV knows submission.
    dns.add_a("autoconfig.half.test")
    dns.add_srv("_submission._tcp.half.test", "smtp.half.test", 587)
    # example.test here publishes nothing but the usual names, which the test
    # certificate covers (*.example.test): the guess step finds Dovecot and SMTP.
    dns.add_a("imap.example.test")
    dns.add_a("smtp.example.test")
    return dns


@pytest.fixture(scope="module")
def lookup_dns():
    dns = build_zone(DnsServer("lookup-dns")).start()
    yield dns.nameserver
    alive = dns.alive()
    tail = dns.log_tail()
    dns.stop()
    assert alive, f"dnsmasq died during the lookup tests:\n{tail}"


# -- loopback HTTP(S) servers for autoconfig ---------------------------------

AUTOCONFIG = """<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="{domain}">
  <incomingServer type="imap"><hostname>{imap}</hostname><port>993</port>
    <socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
  {smtp}
</emailProvider></clientConfig>"""
SMTP_ENTRY = """<outgoingServer type="smtp"><hostname>{smtp}</hostname><port>465</port>
    <socketType>SSL</socketType><username>%EMAILLOCALPART%</username></outgoingServer>"""


def autoconfig_xml(domain: str, imap: str, smtp: str | None) -> bytes:
    smtp_xml = SMTP_ENTRY.format(smtp=smtp) if smtp else ""
    return AUTOCONFIG.format(domain=domain, imap=imap, smtp=smtp_xml).encode()


class WebServer:
    """Serves canned documents by (host, path) and records every request."""

    def __init__(self, documents: dict[tuple[str, str], bytes], context: ssl.SSLContext | None = None):
        self.documents = documents
        self.requests: list[tuple[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = self.headers.get("Host", "").rsplit(":", 1)[0]
                outer.requests.append((host, self.path))
                body = outer.documents.get((host, self.path.split("?")[0]))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if context is not None:
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


MAIN = "/mail/config-v1.1.xml"
WELL_KNOWN = "/.well-known/autoconfig/mail/config-v1.1.xml"


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def client_tls(ca):
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def web(ca):
    docs = {
        ("autoconfig.auto.test", MAIN): autoconfig_xml("auto.test", "imap.auto.test", "smtp.auto.test"),
        ("wk.test", WELL_KNOWN): autoconfig_xml("wk.test", "mail.wk.test", "mail.wk.test"),
        ("autoconfig.tls.test", MAIN): autoconfig_xml("tls.test", "plain-http.tls.test", "plain-http.tls.test"),
        ("autoconfig.half.test", MAIN): autoconfig_xml("half.test", "imap.half.test", None),
    }
    plain = WebServer(docs)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("autoconfig.tls.test").configure_cert(server_context)
    secure = WebServer(
        {("autoconfig.tls.test", MAIN): autoconfig_xml("tls.test", "imap.tls.test", "smtp.tls.test")},
        server_context,
    )
    yield plain, secure
    plain.close()
    secure.close()


def options(lookup_dns, **changes) -> LookupOptions:
    base = dict(
        nameserver=lookup_dns,
        step_timeout=3.0,
        deadline=10.0,
        http_port=closed_port(),
        https_port=closed_port(),
        probe_ports={"imaps": closed_port(), "imap": closed_port(), "submissions": closed_port(), "submission": closed_port()},
    )
    base.update(changes)
    return LookupOptions(**base)


# -- the sources -------------------------------------------------------------


def test_preset_needs_no_network_at_all(dead_nameserver):
    result = lookup("someone@googlemail.com", nameserver=dead_nameserver)
    assert (result.source, result.confidence, result.provider) == ("preset", "high", "gmail")
    assert (result.imap.host, result.imap.port, result.imap.security) == ("imap.gmail.com", 993, Security.SSL)
    assert result.imap.username == "someone@googlemail.com"
    assert any("app password" in note for note in result.notes)


def test_srv_prefers_implicit_tls_then_priority_then_weight(lookup_dns):
    result = lookup("ann@srv.test", options(lookup_dns))
    assert (result.source, result.confidence) == ("srv", "high")
    assert (result.imap.host, result.imap.port, result.imap.security) == ("imap.srv.test", 993, Security.SSL)
    assert (result.smtp.host, result.smtp.port, result.smtp.security) == ("smtp-heavy.srv.test", 465, Security.SSL)
    assert result.imap.username == "ann@srv.test"
    found = {a.target for a in result.attempts if a.source == "srv" and a.outcome == "found"}
    assert "_imap._tcp.srv.test" in found and "_submission._tcp.srv.test" in found


def test_srv_dot_target_means_not_offered(lookup_dns):
    result = lookup("dot.test", options(lookup_dns))
    assert result.source == "srv"
    assert (result.imap.host, result.imap.port, result.imap.security) == ("mail.dot.test", 143, Security.STARTTLS)
    assert (result.smtp.port, result.smtp.security) == (587, Security.STARTTLS)
    assert result.imap.username == ""  # only a domain was given
    assert any("imaps is not offered" in note for note in result.notes)


def test_mx_maps_a_hosted_domain_to_its_provider(lookup_dns):
    result = lookup("bob@hosted-google.test", options(lookup_dns))
    assert (result.source, result.confidence, result.provider) == ("mx", "medium", "google_workspace")
    assert (result.imap.host, result.smtp.host) == ("imap.gmail.com", "smtp.gmail.com")
    assert result.imap.username == "bob@hosted-google.test"
    assert any("aspmx.l.google.com" in note for note in result.notes)

    office = lookup("carol@hosted-365.test", options(lookup_dns))
    assert (office.source, office.provider) == ("mx", "office365")
    assert (office.smtp.host, office.smtp.port, office.smtp.security) == ("smtp.office365.com", 587, Security.STARTTLS)


def test_autoconfig_over_http_is_medium_confidence(lookup_dns, web):
    plain, _secure = web
    result = lookup("dora@auto.test", options(lookup_dns, http_port=plain.port))
    assert (result.source, result.confidence) == ("autoconfig", "medium")
    assert (result.imap.host, result.imap.port, result.imap.security, result.imap.username) == (
        "imap.auto.test", 993, Security.SSL, "dora@auto.test",
    )
    assert (result.smtp.host, result.smtp.username) == ("smtp.auto.test", "dora")
    assert ("autoconfig.auto.test", f"{MAIN}?emailaddress=dora@auto.test") in plain.requests
    assert any("unencrypted HTTP" in note for note in result.notes)


def test_autoconfig_well_known_location(lookup_dns, web):
    plain, _secure = web
    result = lookup("eve@wk.test", options(lookup_dns, http_port=plain.port))
    assert result.source == "autoconfig" and result.imap.host == "mail.wk.test"
    assert ("wk.test", WELL_KNOWN) in plain.requests


def test_autoconfig_https_wins_over_http(lookup_dns, web, client_tls):
    plain, secure = web
    opts = options(lookup_dns, http_port=plain.port, https_port=secure.port, ssl_context=client_tls)
    result = lookup("fay@tls.test", opts)
    assert (result.source, result.confidence) == ("autoconfig", "high")
    assert result.imap.host == "imap.tls.test"  # the HTTP copy says plain-http.tls.test
    assert not any("unencrypted" in note for note in result.notes)


def test_autoconfig_https_with_an_untrusted_certificate_is_not_used(lookup_dns, web):
    plain, secure = web
    # The system store does not trust the test CA: the HTTPS answer must be refused.
    result = lookup("fay@tls.test", options(lookup_dns, http_port=plain.port, https_port=secure.port))
    assert (result.confidence, result.imap.host) == ("medium", "plain-http.tls.test")
    https_attempt = next(a for a in result.attempts if a.target.startswith("https://autoconfig.tls.test"))
    assert https_attempt.outcome == "nothing" and "CERTIFICATE_VERIFY_FAILED" in https_attempt.detail


def test_a_half_answer_is_completed_by_the_next_source(lookup_dns, web):
    plain, _secure = web
    result = lookup("gil@half.test", options(lookup_dns, http_port=plain.port))
    assert result.source == "autoconfig" and result.imap.host == "imap.half.test"
    assert (result.smtp.host, result.smtp.port) == ("smtp.half.test", 587)
    assert dict(result.sources) == {"imap": "autoconfig", "smtp": "srv"}
    assert result.confidence == "medium"  # the weaker of HTTP autoconfig and SRV


def test_nothing_found_says_ask_your_administrator(lookup_dns):
    result = lookup("hal@nothing.test", options(lookup_dns))
    assert not result.found and result.source is None and result.confidence is None
    assert result.message == NOT_FOUND.format(domain="nothing.test")
    assert "Contact your email administrator" in result.message
    assert any(a.source == "mx" and "mx.unknown-isp.example" in a.detail for a in result.attempts)
    assert {a.source for a in result.attempts} >= {"preset", "autoconfig", "srv", "mx", "guess"}


# -- guessing and probing ------------------------------------------------------


def test_guess_probes_the_usual_names_tls_first(lookup_dns, dovecot, smtp_server, test_ca):
    ports = {
        "imaps": dovecot.ports["imaps"],
        "imap": dovecot.ports["imap"],
        "submissions": smtp_server.ports["smtps"],
        "submission": smtp_server.ports["plain"],  # no STARTTLS: must be refused
    }
    opts = options(lookup_dns, probe_ports=ports, ssl_context=test_ca.client_context())
    result = lookup("ivy@example.test", opts)
    assert (result.source, result.confidence) == ("guess", "low")
    imap, smtp = result.imap, result.smtp
    assert (imap.host, imap.port, imap.security) == ("imap.example.test", dovecot.ports["imaps"], Security.SSL)
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.example.test", smtp_server.ports["smtps"], Security.SSL)
    assert imap.username == "ivy@example.test"
    plain = next(a for a in result.attempts if a.target.startswith(f"smtp.example.test:{ports['submission']}"))
    assert plain.outcome == "nothing" and "does not offer STARTTLS" in plain.detail
    assert any(a.target == "mail.example.test" and a.outcome == "nothing" for a in result.attempts)


def test_guess_falls_back_to_starttls(lookup_dns, dovecot, smtp_server, test_ca):
    ports = {
        "imaps": closed_port(),
        "imap": dovecot.ports["imap"],
        "submissions": closed_port(),
        "submission": smtp_server.ports["submission"],
    }
    result = lookup("ivy@example.test", options(lookup_dns, probe_ports=ports, ssl_context=test_ca.client_context()))
    assert (result.imap.port, result.imap.security) == (dovecot.ports["imap"], Security.STARTTLS)
    assert (result.smtp.port, result.smtp.security) == (smtp_server.ports["submission"], Security.STARTTLS)


def test_probe_upgrades_imap_starttls_on_dovecot(dovecot, test_ca):
    result = probe_imap("imap.example.test", "127.0.0.1", dovecot.ports["imap"], Security.STARTTLS,
                        timeout=5, context=test_ca.client_context())
    assert result.ok and "IMAP4REV1" in result.capabilities
    assert "STARTTLS" not in result.capabilities  # asked again after the upgrade
    assert result.greeting.startswith("* OK")


def test_probe_refuses_a_cleartext_only_port(smtp_server, dovecot_factory, test_ca):
    context = test_ca.client_context()
    smtp = probe_smtp("smtp.example.test", "127.0.0.1", smtp_server.ports["plain"], Security.STARTTLS,
                      timeout=5, context=context)
    assert not smtp.ok and "does not offer STARTTLS" in smtp.detail
    cleartext = dovecot_factory(starttls=False)
    imap = probe_imap("imap.example.test", "127.0.0.1", cleartext.ports["imap"], Security.STARTTLS,
                      timeout=5, context=context)
    assert not imap.ok and "does not offer STARTTLS" in imap.detail


def test_probe_reports_an_untrusted_certificate(dovecot, test_ca):
    # The certificate is valid, but not for this name: found, with the problem noted.
    result = probe_imap("imap.other.test", "127.0.0.1", dovecot.ports["imaps"], Security.SSL,
                        timeout=5, context=test_ca.client_context())
    assert result.ok and "mismatch" in result.certificate_problem.lower()
    assert result.capabilities == ()  # nothing was exchanged over the unverified channel
    untrusted = probe_imap("imap.example.test", "127.0.0.1", dovecot.ports["imaps"], Security.SSL,
                           timeout=5, context=ssl.create_default_context())
    assert untrusted.ok and "certificate" in untrusted.certificate_problem


def test_probe_recognises_the_wrong_service(smtp_server, dovecot, test_ca):
    context = test_ca.client_context()
    result = probe_imap("smtp.example.test", "127.0.0.1", smtp_server.ports["smtps"], Security.SSL,
                        timeout=5, context=context)
    assert not result.ok and "SMTP server answers instead" in result.detail
    result = probe_smtp("imap.example.test", "127.0.0.1", dovecot.ports["imaps"], Security.SSL,
                        timeout=5, context=context)
    assert not result.ok and "IMAP server answers instead" in result.detail


def test_probe_times_out_on_a_silent_server():
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        result = probe_imap("imap.example.test", "127.0.0.1", silent.getsockname()[1], Security.STARTTLS,
                            timeout=0.5, context=ssl.create_default_context())
    finally:
        silent.close()
    assert not result.ok and "timed out" in result.detail


def test_lookup_of_the_shared_test_domain_finds_the_real_servers(dns_server, dovecot, smtp_server):
    result = lookup("alice@example.test", nameserver=dns_server.nameserver)
    assert result.source == "srv"
    assert (result.imap.host, result.imap.port, result.imap.security) == (
        "mail.example.test", dovecot.ports["imaps"], Security.SSL,
    )
    assert (result.smtp.port, result.smtp.security) == (smtp_server.ports["smtps"], Security.SSL)


# -- failures ------------------------------------------------------------------


@pytest.fixture
def dead_nameserver():
    """A UDP socket that receives queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_a_dead_nameserver_fails_fast_with_a_clear_error(dead_nameserver):
    with pytest.raises(DnsError) as info:
        lookup("jo@example.test", LookupOptions(nameserver=dead_nameserver, step_timeout=1.0, deadline=5.0))
    message = str(info.value)
    assert dead_nameserver in message and "did not answer within 1 s" in message
    assert info.value.category == "dns_failure"


def test_invalid_input_is_a_usage_error():
    for bad in ("", "@example.test", "no-dot", "bad_domain!.test", "a@-x.test"):
        with pytest.raises(UsageError):
            lookup(bad, LookupOptions(sources=("preset",)))


def test_cancel_stops_the_lookup(lookup_dns):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(discovery.LookupCancelled):
        lookup("kim@srv.test", options(lookup_dns), cancel=cancel)


# -- the CLI -------------------------------------------------------------------


def test_cli_json_shape(lookup_dns, capsys):
    code = main(["lookup", "lee@srv.test", "--nameserver", lookup_dns, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["imap"] == {"host": "imap.srv.test", "port": 993, "security": "ssl"}
    assert data["smtp"] == {"host": "smtp-heavy.srv.test", "port": 465, "security": "ssl"}
    assert (data["source"], data["confidence"]) == ("srv", "high")


def test_cli_nothing_found_exits_1_with_the_administrator_advice(lookup_dns, capsys):
    code = main(["lookup", "nothing.test", "--nameserver", lookup_dns])
    out = capsys.readouterr().out
    assert code == 1
    assert "Could not determine the server settings for nothing.test" in out
    assert "Contact your email administrator" in out
    code = main(["lookup", "nothing.test", "--nameserver", lookup_dns, "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["imap"] is None and data["smtp"] is None
    assert "email administrator" in data["message"]


def test_cli_human_output_for_a_preset(capsys):
    assert main(["lookup", "someone@icloud.com"]) == 0
    out = capsys.readouterr().out
    assert "imap.mail.me.com:993  SSL/TLS  username someone" in out
    assert "smtp.mail.me.com:587  STARTTLS  username someone@icloud.com" in out
    assert "confidence: high" in out


def test_cli_dead_nameserver_and_bad_input(dead_nameserver, capsys):
    assert main(["lookup", "x.test", "--nameserver", dead_nameserver]) == 1
    assert "did not answer" in capsys.readouterr().err
    assert main(["lookup", "not an address"]) == 2
    assert main(["lookup", "x.test", "--nameserver", "127.0.0.1:notaport"]) == 2
