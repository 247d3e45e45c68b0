"""Parsing Thunderbird-format autoconfig documents (canned XML), and nameserver strings."""

from __future__ import annotations

import pytest

from tamago_tui.backend.autoconfig import AutoconfigError, candidate_urls, parse
from tamago_tui.backend.errors import UsageError
from tamago_tui.backend.models import Security
from tamago_tui.backend.resolver import Nameserver, parse_nameserver

FULL = """<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.example.test</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.example.test</hostname>
      <port>143</port>
      <socketType>STARTTLS</socketType>
      <username>%EMAILLOCALPART%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>SMTP.Example.Test.</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
    <documentation url="https://help.example.test/mail">
      <descr lang="en">Setup instructions</descr>
    </documentation>
  </emailProvider>
</clientConfig>
"""


def test_parses_imap_and_smtp_with_placeholders():
    doc = parse(FULL, "ann@example.test")
    assert (doc.imap.host, doc.imap.port, doc.imap.security, doc.imap.username) == (
        "imap.example.test", 993, Security.SSL, "ann",
    )
    assert (doc.smtp.host, doc.smtp.port, doc.smtp.security, doc.smtp.username) == (
        "smtp.example.test", 587, Security.STARTTLS, "ann@example.test",
    )
    assert doc.display_name == "Example Mail"
    assert "Provider instructions: https://help.example.test/mail" in doc.notes


def test_domain_only_leaves_usernames_empty():
    doc = parse(FULL, "", "example.test")
    assert doc.imap.host == "imap.example.test" and doc.imap.username == ""
    assert doc.smtp.username == ""


def test_prefers_an_encrypted_entry_over_an_earlier_plain_one():
    xml = FULL.replace("<port>993</port>\n      <socketType>SSL</socketType>", "<port>143</port>\n      <socketType>plain</socketType>")
    doc = parse(xml, "ann@example.test")
    assert doc.imap.security is Security.STARTTLS and doc.imap.port == 143


def test_plain_only_is_returned_with_a_warning():
    xml = """<clientConfig><emailProvider id="p">
      <incomingServer type="imap"><hostname>mail.p.test</hostname><port>143</port>
        <socketType>plain</socketType><username>%EMAILADDRESS%</username></incomingServer>
    </emailProvider></clientConfig>"""
    doc = parse(xml, "a@p.test")
    assert doc.imap.security is Security.NONE and doc.smtp is None
    assert any("without encryption" in note for note in doc.notes)


def test_oauth_only_servers_are_noted():
    xml = """<clientConfig><emailProvider id="p">
      <incomingServer type="imap"><hostname>imap.p.test</hostname><port>993</port>
        <socketType>SSL</socketType><authentication>OAuth2</authentication></incomingServer>
    </emailProvider></clientConfig>"""
    assert any("OAuth2" in note for note in parse(xml, "a@p.test").notes)


@pytest.mark.parametrize(
    "xml, message",
    [
        ("<html><body>Not here</body></html>", "root element"),
        ("<clientConfig></clientConfig>", "emailProvider"),
        ("<clientConfig><emailProvider>", "well-formed"),
        (
            "<clientConfig><emailProvider><incomingServer type='pop3'><hostname>p.test</hostname>"
            "<port>995</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>",
            "POP3 only",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><clientConfig>&lol;</clientConfig>',
            "document type",
        ),
    ],
)
def test_rejects_unusable_documents(xml, message):
    with pytest.raises(AutoconfigError, match=message):
        parse(xml, "a@p.test")


def test_skips_broken_entries_and_keeps_good_ones():
    xml = """<clientConfig><emailProvider id="p">
      <incomingServer type="imap"><hostname>bad host name</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
      <incomingServer type="imap"><hostname>imap.p.test</hostname><port>99999</port><socketType>SSL</socketType></incomingServer>
      <incomingServer type="imap"><hostname>imap.p.test</hostname><port>993</port><socketType>TLS-1.3</socketType></incomingServer>
      <incomingServer type="imap"><hostname>imap2.p.test</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
    </emailProvider></clientConfig>"""
    doc = parse(xml, "a@p.test")
    assert doc.imap.host == "imap2.p.test"
    assert sum("Skipped" in note for note in doc.notes) == 3


def test_candidate_urls_prefer_https_and_send_the_address():
    urls = candidate_urls("example.test", "ann+x@example.test")
    assert urls == [
        "https://autoconfig.example.test/mail/config-v1.1.xml?emailaddress=ann%2Bx@example.test",
        "https://example.test/.well-known/autoconfig/mail/config-v1.1.xml",
        "http://autoconfig.example.test/mail/config-v1.1.xml?emailaddress=ann%2Bx@example.test",
        "http://example.test/.well-known/autoconfig/mail/config-v1.1.xml",
    ]
    assert "emailaddress" not in candidate_urls("example.test")[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("127.0.0.1", Nameserver("127.0.0.1", 53)),
        ("127.0.0.1:5353", Nameserver("127.0.0.1", 5353)),
        ("::1", Nameserver("::1", 53)),
        ("[::1]:5353", Nameserver("::1", 5353)),
        ("ns.example.test:54", Nameserver("ns.example.test", 54)),
    ],
)
def test_parse_nameserver(text, expected):
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["", "127.0.0.1:0", "127.0.0.1:dns", "[::1]x", ":53"])
def test_parse_nameserver_rejects_nonsense(text):
    with pytest.raises(UsageError):
        parse_nameserver(text)
