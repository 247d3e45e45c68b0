"""Provider presets: the shipped data file, matching by domain and MX, filling, folders."""

from __future__ import annotations

import pytest

from tamago_tui.backend import providers
from tamago_tui.backend.errors import ConfigError, NotFound
from tamago_tui.backend.models import Security, ServerSettings

REQUIRED = {
    "gmail", "google_workspace", "outlook", "office365", "yahoo", "aol", "icloud",
    "zoho", "fastmail", "gmx", "yandex", "custom",
}


def test_every_required_provider_ships_with_servers():
    ids = {p.id for p in providers.all_providers()}
    assert REQUIRED <= ids
    for pid in REQUIRED:
        provider = providers.get(pid)
        assert provider.imap and provider.smtp, pid
        assert provider.imap.port in (993, 143) and provider.smtp.port in (465, 587), pid
        assert provider.imap.security is not Security.NONE and provider.smtp.security is not Security.NONE


def test_custom_is_listed_last_and_exchange_has_no_servers():
    listed = providers.all_providers()
    assert listed[-1].id == "custom"
    exchange = providers.get("exchange")
    assert not exchange.has_servers
    imap, smtp = providers.fill(exchange, "ann@corp.example")
    assert (imap.host, imap.port, smtp.host, smtp.port) == ("", 993, "", 587)


def test_unknown_provider_is_not_found():
    with pytest.raises(NotFound):
        providers.get("compuserve")


@pytest.mark.parametrize(
    "address, expected",
    [
        ("someone@gmail.com", "gmail"),
        ("Someone@GoogleMail.com", "gmail"),
        ("a@hotmail.com", "outlook"),
        ("a@live.com", "outlook"),
        ("a@msn.com", "outlook"),
        ("a@outlook.com", "outlook"),
        ("a@yahoo.co.uk", "yahoo"),
        ("a@ymail.com", "yahoo"),
        ("a@aol.com", "aol"),
        ("a@me.com", "icloud"),
        ("a@mac.com", "icloud"),
        ("a@icloud.com", "icloud"),
        ("a@zohomail.com", "zoho"),
        ("a@fastmail.fm", "fastmail"),
        ("a@gmx.de", "gmx"),
        ("a@ya.ru", "yandex"),
        ("a@yandex.ru", "yandex"),
    ],
)
def test_for_email_suggests_the_preset(address, expected):
    provider = providers.for_email(address)
    assert provider is not None and provider.id == expected


def test_for_email_waits_for_the_domain_and_ignores_unknown_domains():
    assert providers.for_email("gmail.com") is None  # no @ typed yet
    assert providers.for_email("someone@") is None
    assert providers.for_email("someone@example.org") is None
    assert providers.for_email("someone@yahoo.co.jp") is None  # Yahoo! JAPAN is another service


def test_regional_variants_switch_hosts_but_keep_the_id():
    zoho_eu = providers.for_domain("zoho.eu")
    assert zoho_eu.id == "zoho" and zoho_eu.variant == "eu"
    assert zoho_eu.imap.host == "imap.zoho.eu" and zoho_eu.smtp.host == "smtp.zoho.eu"
    gmx_de = providers.for_domain("gmx.net")
    assert gmx_de.id == "gmx" and gmx_de.imap.host == "imap.gmx.net" and gmx_de.smtp.host == "mail.gmx.net"
    assert providers.for_domain("gmx.com").imap.host == "imap.gmx.com"


@pytest.mark.parametrize(
    "mx_host, expected",
    [
        ("aspmx.l.google.com.", "google_workspace"),
        ("smtp.google.com", "google_workspace"),
        ("aspmx2.googlemail.com", "google_workspace"),
        ("contoso-com.mail.protection.outlook.com", "office365"),
        ("outlook-com.olc.protection.outlook.com", "outlook"),
        ("mta5.am0.yahoodns.net", "yahoo"),
        ("mx-aol.mail.gm0.yahoodns.net", "aol"),
        ("mx01.mail.icloud.com", "icloud"),
        ("mx.zoho.com", "zoho"),
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mx00.gmx.net", "gmx"),
        ("mx.yandex.net", "yandex"),
    ],
)
def test_for_mx_maps_known_mail_exchangers(mx_host, expected):
    provider = providers.for_mx(mx_host)
    assert provider is not None and provider.id == expected


def test_for_mx_picks_the_regional_variant_and_rejects_lookalikes():
    assert providers.for_mx("mx.zoho.eu").imap.host == "imap.zoho.eu"
    assert providers.for_mx("mx.example.org") is None
    # A suffix match must be on a label boundary.
    assert providers.for_mx("evilgoogle.com") is None
    assert providers.for_mx("google.com.attacker.example") is None


def test_fill_formats_usernames_per_protocol():
    imap, smtp = providers.fill("gmail", "ann@gmail.com")
    assert imap == ServerSettings("imap.gmail.com", 993, Security.SSL, "ann@gmail.com")
    assert smtp == ServerSettings("smtp.gmail.com", 465, Security.SSL, "ann@gmail.com")
    imap, smtp = providers.fill("icloud", "emily@icloud.com")
    assert imap.username == "emily" and smtp.username == "emily@icloud.com"
    assert (smtp.host, smtp.port, smtp.security) == ("smtp.mail.me.com", 587, Security.STARTTLS)


def test_fill_custom_uses_the_address_domain_and_a_bare_domain_leaves_username_empty():
    imap, smtp = providers.fill("custom", "bob@Example.ORG")
    assert (imap.host, smtp.host) == ("imap.example.org", "smtp.example.org")
    imap, smtp = providers.fill("yahoo", "yahoo.com")
    assert imap.username == "" and imap.host == "imap.mail.yahoo.com"


def test_flags_and_saves_sent():
    gmail = providers.get("gmail")
    assert gmail.app_password_required and gmail.show_in_imap_for_all_mail and gmail.oauth_recommended
    assert gmail.oauth_provider == "google" and providers.get("office365").oauth_provider == "microsoft"
    assert {p.id for p in providers.all_providers() if p.saves_sent} == {
        "gmail", "google_workspace", "outlook", "office365"
    }
    assert "App password required" in providers.flag_notes(gmail)
    assert not any("less secure apps" in n.lower() and "turn on" in n.lower() for n in gmail.notes)


def test_parse_rejects_bad_data():
    with pytest.raises(ConfigError):
        providers.parse('[providers.x]\nname = "X"\n[providers.x.imap]\nhost = "h"\nport = 1\nsecurity = "tls13"\n')
    with pytest.raises(ConfigError):
        providers.parse("[providers.x\n")
    parsed = providers.parse('[providers.x]\nname = "X"\ndomains = ["X.example"]\n')
    assert parsed["x"].domains == ("x.example",) and parsed["x"].imap is None


GMAIL_FOLDERS = [
    ("INBOX", ("\\HasNoChildren",)),
    ("[Gmail]", ("\\HasChildren", "\\Noselect")),
    ("[Gmail]/All Mail", ("\\HasNoChildren", "\\All")),
    ("[Gmail]/Important", ("\\HasNoChildren", "\\Important")),
    ("[Gmail]/Sent Mail", ("\\HasNoChildren", "\\Sent")),
]


def test_gmail_prefers_all_mail_by_flag():
    assert providers.default_folders("gmail", GMAIL_FOLDERS) == ["[Gmail]/All Mail"]
    renamed = [(n.replace("All Mail", "Alle Nachrichten"), f) for n, f in GMAIL_FOLDERS]
    assert providers.default_folders("google_workspace", renamed) == ["[Gmail]/Alle Nachrichten"]


def test_gmail_without_all_mail_uses_important_and_sent_never_inbox():
    hidden = [f for f in GMAIL_FOLDERS if "\\All" not in f[1]]
    assert providers.default_folders("gmail", hidden) == ["[Gmail]/Important", "[Gmail]/Sent Mail"]
    only_inbox = [("INBOX", ()), ("[Gmail]", ("\\Noselect",))]
    assert providers.default_folders("gmail", only_inbox) == []


def test_gmail_rule_applies_when_folders_look_like_gmail_and_bytes_flags_work():
    folders = [(n, tuple(f.encode() for f in flags)) for n, flags in GMAIL_FOLDERS]
    assert providers.default_folders("custom", folders) == ["[Gmail]/All Mail"]


def test_standard_rule_is_inbox_plus_sent():
    folders = [("INBOX", ()), ("Drafts", ("\\Drafts",)), ("Gesendet", ("\\Sent",)), ("Archive", ("\\Archive",))]
    assert providers.default_folders("fastmail", folders) == ["INBOX", "Gesendet"]
    by_name = [("inbox", ()), ("Sent Items", ())]
    assert providers.default_folders("office365", by_name) == ["inbox", "Sent Items"]
    assert providers.default_folders("no-such-provider", [("INBOX", ())]) == ["INBOX"]
