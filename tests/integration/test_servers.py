"""The real test servers work as the rest of the suite expects: TLS verified against the
test CA, logins, SPECIAL-USE folders, SMTP submission delivered into Dovecot, DNS answers."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import smtplib
import ssl

import aiosmtplib
import dns.resolver
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.servers import seed
from tests.servers.dovecot import Dovecot
from tests.servers.process import ServerDied
from tests.servers.users import GMAIL_FOLDERS, STANDARD_FOLDERS

pytestmark = pytest.mark.servers

# OpenSSL X509_V_ERR_* codes, as ssl.SSLCertVerificationError.verify_code reports them
X509_V_ERR_CERT_HAS_EXPIRED = 10
X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
X509_V_ERR_HOSTNAME_MISMATCH = 62


def fetch_all(client: IMAPClient, folder: str, items: list[str]) -> dict:
    client.select_folder(folder, readonly=True)
    return client.fetch(client.search("ALL"), items)


# ----- IMAP -----------------------------------------------------------------------------------
def test_imaps_login_verifies_the_certificate_against_the_test_ca(dovecot, test_ca):
    context = ssl.create_default_context(cafile=str(test_ca.cafile))
    with IMAPClient("localhost", port=dovecot.ports["imaps"], ssl=True, ssl_context=context,
                    timeout=10) as client:
        peer = client.socket().getpeercert()
        assert ("DNS", "localhost") in peer["subjectAltName"]
        client.login(dovecot.alice.login, dovecot.alice.password)
        capabilities = client.capabilities()
    assert b"CONDSTORE" in capabilities
    assert b"SPECIAL-USE" in capabilities


def test_starttls_login_verifies_the_certificate(dovecot, test_ca):
    context = ssl.create_default_context(cafile=str(test_ca.cafile))
    assert context.check_hostname
    with IMAPClient("localhost", port=dovecot.ports["imap"], ssl=False, timeout=10) as client:
        assert b"STARTTLS" in client.capabilities()
        assert not isinstance(client.socket(), ssl.SSLSocket)
        client.starttls(context)
        assert isinstance(client.socket(), ssl.SSLSocket)
        client.login(dovecot.bob.login, dovecot.bob.password)
        assert client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"] > 0


def test_wrong_password_is_refused(dovecot):
    with dovecot.connect() as client:
        with pytest.raises(LoginError):
            client.login(dovecot.alice.login, dovecot.alice.password + "-wrong")


def test_the_certificate_is_not_trusted_without_the_test_ca(dovecot):
    context = ssl.create_default_context()  # system CAs only
    with pytest.raises(ssl.SSLCertVerificationError) as failure:
        IMAPClient("localhost", port=dovecot.ports["imaps"], ssl=True, ssl_context=context,
                   timeout=10)
    assert failure.value.verify_code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY


@pytest.mark.parametrize("variant, verify_code", [
    ("self_signed", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
    ("wrong_host", X509_V_ERR_HOSTNAME_MISMATCH),
    ("expired", X509_V_ERR_CERT_HAS_EXPIRED),
    ("untrusted", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
])
def test_certificate_variants_fail_verification_as_named(dovecot_factory, test_ca, variant,
                                                          verify_code):
    server = dovecot_factory(cert=variant)
    with pytest.raises(ssl.SSLCertVerificationError) as failure:
        server.connect(mode="imaps")
    assert failure.value.verify_code == verify_code
    with pytest.raises(ssl.SSLCertVerificationError):
        server.connect(mode="starttls")


def test_plain_instance_does_not_offer_starttls(dovecot_factory):
    server = dovecot_factory(starttls=False)
    assert set(server.ports) == {"imap", "lmtp"}
    with IMAPClient("localhost", port=server.ports["imap"], ssl=False, timeout=10) as client:
        capabilities = client.capabilities()
    assert b"STARTTLS" not in capabilities
    assert b"IMAP4REV1" in capabilities


def test_standard_users_have_special_use_folders(dovecot):
    with dovecot.connect(dovecot.alice) as client:
        listed = {name: set(flags) for flags, _, name in client.list_folders()}
    assert set(listed) == {"INBOX", *STANDARD_FOLDERS}
    for name, flag in STANDARD_FOLDERS.items():
        assert flag.encode() in listed[name], name


def test_gmail_user_has_gmail_folders(dovecot):
    with dovecot.connect(dovecot.gmail) as client:
        listed = {name: set(flags) for flags, _, name in client.list_folders()}
        assert client.find_special_folder(b"\\All") == "[Gmail]/All Mail"
        assert client.find_special_folder(b"\\Sent") == "[Gmail]/Sent Mail"
    assert set(listed) == {"INBOX", "[Gmail]", *GMAIL_FOLDERS}
    assert b"\\Noselect" in listed["[Gmail]"]
    for name, flag in GMAIL_FOLDERS.items():
        assert flag.encode() in listed[name], name
    assert b"\\Important" in listed["[Gmail]/Important"]


def test_fresh_users_do_not_see_each_others_mail(dovecot, imap_user, gmail_user):
    dovecot.append(imap_user, "INBOX", seed.generate_messages(1, seed=7)[0].data)
    assert dovecot.status(imap_user, "INBOX")["messages"] == 1
    assert dovecot.status(gmail_user, "INBOX")["messages"] == 0
    assert imap_user.address != gmail_user.address


def test_condstore_reports_highestmodseq(dovecot, imap_user):
    dovecot.append(imap_user, "INBOX", seed.generate_messages(1)[0].data, flags=["\\Seen"])
    with dovecot.connect(imap_user) as client:
        client.enable("CONDSTORE")
        selected = client.select_folder("INBOX")
        assert selected[b"HIGHESTMODSEQ"] >= 1
        before = selected[b"HIGHESTMODSEQ"]
        client.add_flags(client.search("ALL"), [b"\\Flagged"])
        assert client.folder_status("INBOX", ["HIGHESTMODSEQ"])[b"HIGHESTMODSEQ"] > before


# ----- seeding ---------------------------------------------------------------------------------
@pytest.mark.parametrize("relative", [
    "flanker/multipart.eml",
    "mikel-mail/attachment_emails/attachment_nonascii_filename.eml",
    "cpython/msg_44.txt",
    "mimekit/messages/japanese.txt",
])
def test_corpus_message_comes_back_byte_identical(dovecot, imap_user, relative):
    data = seed.corpus_message(relative)
    uid = dovecot.append(imap_user, "Archive", data, flags=["\\Seen"])
    with dovecot.connect(imap_user) as client:
        client.select_folder("Archive", readonly=True)
        fetched = client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])[uid]
    assert fetched[b"BODY[]"] == data
    assert b"\\Seen" in fetched[b"FLAGS"]


def test_corpus_lists_every_message_file():
    files = seed.corpus_files()
    assert len(files) == 400  # SOURCES.md counts 400 message files
    assert not [path for path in files if path.name in ("SOURCES.md", "COPYING")]


def test_generated_messages_keep_their_headers_flags_and_dates(dovecot, imap_user):
    messages = seed.generate_messages(12, seed=3)
    assert seed.generate_messages(12, seed=3)[5].data == messages[5].data  # deterministic
    uids = dovecot.append_many(imap_user, "INBOX",
                               [(m.data, m.flags, m.date) for m in messages])
    with dovecot.connect(imap_user) as client:
        client.select_folder("INBOX", readonly=True)
        fetched = client.fetch(uids, ["ENVELOPE", "FLAGS", "INTERNALDATE", "BODY.PEEK[]"])
    for uid, message in zip(uids, messages):
        envelope = fetched[uid][b"ENVELOPE"]
        assert envelope.message_id.decode() == message.message_id
        assert fetched[uid][b"BODY[]"] == message.data
        assert (b"\\Seen" in fetched[uid][b"FLAGS"]) == ("\\Seen" in message.flags)
        assert fetched[uid][b"INTERNALDATE"].timestamp() == message.date.timestamp()
        parsed = email.message_from_bytes(fetched[uid][b"BODY[]"], policy=email.policy.default)
        assert tuple(part.get_filename() for part in parsed.iter_attachments()) == \
            message.attachments
    assert any(message.attachments for message in messages)


def test_lmtp_delivery_and_bulk_load(dovecot, imap_user):
    dovecot.deliver(imap_user, seed.generate_messages(1, seed=11)[0].data)
    assert dovecot.status(imap_user, "INBOX")["messages"] == 1
    loaded = dovecot.bulk_load(imap_user, "Archive",
                               [m.data for m in seed.generate_messages(15, seed=12)])
    loaded += dovecot.bulk_load(imap_user, "Archive",
                                [m.data for m in seed.generate_messages(5, seed=13)])
    with dovecot.connect(imap_user) as client:
        flags = fetch_all(client, "Archive", ["FLAGS"])
    assert loaded == len(flags) == 20
    assert all(b"\\Seen" in item[b"FLAGS"] for item in flags.values())


def test_uidvalidity_can_be_changed_and_folders_recreated(dovecot, imap_user):
    dovecot.append(imap_user, "Archive", seed.generate_messages(1)[0].data)
    with dovecot.connect(imap_user) as client:
        before = client.folder_status("Archive", ["UIDVALIDITY"])[b"UIDVALIDITY"]
    changed = dovecot.set_uidvalidity(imap_user, "Archive")
    recreated = dovecot.recreate_folder(imap_user, "Archive")
    with dovecot.connect(imap_user) as client:
        after = client.folder_status("Archive", ["UIDVALIDITY", "MESSAGES"])
    assert changed != before
    assert after[b"UIDVALIDITY"] == recreated != changed
    assert after[b"MESSAGES"] == 0


def test_a_dead_server_is_reported_with_its_log(test_ca):
    server = Dovecot(test_ca, name="dovecot-doomed").start()
    try:
        server.check_alive()
        server.stop(graceful=False, remove=False)
        with pytest.raises(ServerDied) as died:
            server.check_alive()
        assert "starting up" in str(died.value)  # the log's first line made it into the report
    finally:
        server.stop()


# ----- SMTP -----------------------------------------------------------------------------------------
def send(server, port_name: str, user, message: bytes, recipients: list[str],
         password: str | None = None, context: ssl.SSLContext | None = None):
    options = {"start_tls": True} if port_name == "submission" else {"use_tls": True}
    return asyncio.run(aiosmtplib.send(
        message, sender=user.address, recipients=recipients, hostname="localhost",
        port=server.ports[port_name], tls_context=context or server.ca.client_context(),
        username=user.login, password=password or user.password, timeout=10, **options))


@pytest.mark.parametrize("port_name", ["submission", "smtps"])
def test_sent_mail_is_delivered_into_dovecot(smtp_server, dovecot, imap_user, port_name):
    message = seed.make_message(
        sender=seed.Person("Alice Example", dovecot.alice.address),
        to=(seed.Person("", imap_user.address),), subject=f"via {port_name}", body="Hello\n")
    send(smtp_server, port_name, dovecot.alice, message,
         [imap_user.address, "carol@partner.test"])
    dovecot.wait_for_message(imap_user, "INBOX")
    with dovecot.connect(imap_user) as client:
        bodies = fetch_all(client, "INBOX", ["BODY.PEEK[]"])
    [delivered] = [item[b"BODY[]"] for item in bodies.values()]
    # Dovecot's LMTP prepends Return-Path, Delivered-To and Received; the rest is untouched.
    assert delivered.startswith(f"Return-Path: <{dovecot.alice.address}>\r\n".encode())
    assert delivered.endswith(message)
    [received] = smtp_server.messages()
    assert received.listener == port_name and received.tls
    assert received.auth_user == dovecot.alice.address
    assert received.rcpt_tos == [imap_user.address, "carol@partner.test"]
    assert received.delivered == [imap_user.address]  # carol is not a local user
    assert received.data == message


@pytest.mark.parametrize("port_name", ["submission", "smtps"])
def test_bad_smtp_credentials_are_rejected(smtp_server, dovecot, port_name):
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as failure:
        send(smtp_server, port_name, dovecot.bob, b"Subject: x\r\n\r\nx\r\n",
             [dovecot.alice.address], password="not-bob's-password")
    assert failure.value.code == 535
    assert smtp_server.messages() == []


def test_smtp_refuses_auth_before_tls(smtp_server, dovecot):
    token = base64.b64encode(f"\0{dovecot.alice.login}\0{dovecot.alice.password}".encode())
    with smtplib.SMTP("127.0.0.1", smtp_server.ports["submission"], timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        code, _ = client.docmd("AUTH", "PLAIN " + token.decode())
        assert code == 538
        code, _ = client.docmd("MAIL", f"FROM:<{dovecot.alice.address}>")
        assert code == 530
    with smtplib.SMTP("127.0.0.1", smtp_server.ports["plain"], timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("starttls") and not client.has_extn("auth")
        assert client.docmd("AUTH", "PLAIN " + token.decode())[0] == 538


def test_smtp_failure_options(smtp_server, dovecot, imap_user):
    message = b"Subject: options\r\n\r\nbody\r\n"
    smtp_server.configure(reject_recipients=["gone@example.test"])
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        send(smtp_server, "smtps", dovecot.alice, message, ["gone@example.test"])
    assert refused.value.recipients[0].code == 550
    assert refused.value.recipients[0].message.startswith("5.1.1")

    smtp_server.configure(tempfail=1)
    with pytest.raises(aiosmtplib.SMTPDataError) as deferred:
        send(smtp_server, "smtps", dovecot.alice, message, [imap_user.address])
    assert deferred.value.code == 451
    send(smtp_server, "smtps", dovecot.alice, message, [imap_user.address])  # counter used up

    smtp_server.configure(drop_after_data=1)
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        send(smtp_server, "submission", dovecot.alice, message, [imap_user.address])
    assert len(smtp_server.messages()) == 2  # the dropped one was accepted all the same
    assert dovecot.wait_for_message(imap_user, count=2)["messages"] == 2

    smtp_server.configure(size_limit=100)
    with smtplib.SMTP_SSL("localhost", smtp_server.ports["smtps"], timeout=10,
                          context=smtp_server.ca.client_context()) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "100"
        client.login(dovecot.alice.login, dovecot.alice.password)
        with pytest.raises(smtplib.SMTPSenderRefused) as too_big:
            client.sendmail(dovecot.alice.address, [imap_user.address], message + b"x" * 200)
        assert too_big.value.smtp_code == 552


def test_smtp_options_are_reset_between_tests(smtp_server):
    options = smtp_server.options()
    assert options["reject_recipients"] == [] and options["tempfail"] == 0
    assert options["size_limit"] == 33554432
    with pytest.raises(ValueError):
        smtp_server.configure(tempfail_stage="never")


# ----- DNS ---------------------------------------------------------------------------------------
def test_dns_serves_the_example_test_zone(dns_server, dovecot, smtp_server):
    host, port = dns_server.nameserver.split(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    resolver.lifetime = 5
    [mx] = resolver.resolve("example.test", "MX")
    assert (mx.preference, mx.exchange.to_text()) == (10, "mail.example.test.")
    assert [a.address for a in resolver.resolve("mail.example.test", "A")] == ["127.0.0.1"]
    srv = {name: resolver.resolve(f"{name}._tcp.example.test", "SRV")[0]
           for name in ("_imap", "_imaps", "_submission", "_submissions")}
    assert srv["_imaps"].port == dovecot.ports["imaps"]
    assert srv["_imap"].port == dovecot.ports["imap"]
    assert srv["_submission"].port == smtp_server.ports["submission"]
    assert srv["_submissions"].port == smtp_server.ports["smtps"]
    assert srv["_imaps"].target.to_text() == "mail.example.test."
    assert resolver.resolve("_pop3s._tcp.example.test", "SRV")[0].target.to_text() == "."
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nothing-here.example.test", "A")
    assert resolver.resolve("example.test", "MX", tcp=True)[0].preference == 10


def test_dns_factory_serves_records_added_later(dns_factory):
    server = dns_factory().add_mx("other.test", "mx1.other.test", 5).start()
    resolver = server.resolver()
    assert resolver.resolve("other.test", "MX")[0].exchange.to_text() == "mx1.other.test."
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("mx1.other.test", "A")
    server.add_a("mx1.other.test", "127.0.0.1")
    server.reload()
    assert resolver.resolve("mx1.other.test", "A")[0].address == "127.0.0.1"


def test_a_server_dying_during_a_test_fails_it_and_shows_its_log(pytester):
    pytester.makeconftest('pytest_plugins = ["tests.servers.fixtures"]\n')
    pytester.makepyfile(test_inner='''
import os, signal, time

def test_kills_dovecot(dovecot):
    os.kill(dovecot.pid, signal.SIGKILL)
    while dovecot.alive():  # SIGKILL lands asynchronously
        time.sleep(0.01)

def test_after_it(dovecot):
    pass
''')
    # the snapshot plugin keeps session state that an in-process inner run would clobber
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:textual-snapshot",
                                         "-p", "no:asyncio")
    result.assert_outcomes(passed=1, errors=2)  # teardown of the first, setup of the second
    output = result.stdout.str()
    assert "dovecot is not running (exit code -9)" in output
    assert "dovecot log (last lines)" in output
    assert "starting up for imap, lmtp" in output  # a line from Dovecot's own log
