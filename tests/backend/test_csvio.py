"""CSV dialects: Google (both layouts), Outlook (desktop and .com), Thunderbird, tamago."""

import codecs
from pathlib import Path

import pytest

from tamago_tui.backend import csvio
from tamago_tui.backend.models import Contact

DATA = Path(__file__).resolve().parent.parent / "data" / "contacts"


def load(name: str):
    return csvio.parse((DATA / name).read_bytes())


def test_google_current_layout():
    dialect, contacts = load("google.csv")
    assert dialect == "google"
    by_name = {c.name: c for c in contacts}
    grace = by_name["Grace Brewster Hopper"]
    # " ::: " joins two addresses in one cell; the second column adds a third.
    assert grace.emails == ("grace@navy.example", "ghopper@navy.example", "Grace.Hopper@example.com")
    assert grace.organisation == "US Navy"
    assert grace.notes == "Met at the COBOL meeting.\nPrefers mail to phone."
    assert by_name["José Martínez Ñúñez"].organisation == "Compañía Ejemplo, S.A."
    assert by_name["Initech"].emails == ("helpdesk@initech.example",)  # no name: the organisation
    assert by_name["Phone only Pat"].emails == ()  # the nickname names a phone-only entry
    assert len(contacts) == 5


def test_google_legacy_layout_with_bom_and_group_membership():
    dialect, contacts = load("google_legacy.csv")
    assert dialect == "google"
    ada, charles, zoe = contacts
    assert ada.name == "Ada Lovelace"
    assert ada.emails == ("ada@example.org", "countess@example.org", "ada@engines.example")
    assert ada.organisation == "Analytical Engines"
    assert charles.name == "Charles Babbage"  # an empty "Name" falls back to Given + Family
    assert zoe.name == "Zoë Ångström"


def test_outlook_desktop_windows_1252_quoted_crlf_notes():
    assert not (DATA / "outlook.csv").read_bytes().startswith(codecs.BOM_UTF8)
    dialect, contacts = load("outlook.csv")
    assert dialect == "outlook"
    renee, alan, shop = contacts
    assert renee.name == "Renée Dubois-Lefèvre"
    assert renee.organisation == "Société Générale d'Exemple"
    assert renee.emails == ("renee.dubois@societe.example", "renee@maison.example")
    assert renee.notes == "Met at the 2019 conference – call before 10:00.\nAssistant: Marc."
    # An Exchange (X.500) address is passed through; the importer rejects it with a warning.
    assert alan.emails[1] == "alan@bletchley.example" and alan.emails[0].startswith("/o=ExchangeLabs")
    # No name at all: the display name, without Outlook's "(address)" suffix.
    assert shop.name == "Shop Newsletter"


def test_outlook_com_utf8_bom_and_case_duplicate_addresses():
    dialect, contacts = load("outlook_com.csv")
    assert dialect == "outlook"
    margaret = contacts[0]
    assert margaret.emails == ("margaret@apollo.example", "mh@example.com")
    assert margaret.notes == 'Software engineering, "the term".'


def test_thunderbird_export_is_read_generically():
    dialect, (rory,) = load("thunderbird.csv")
    assert dialect == "generic"
    assert rory.name == "Rory Williams"
    assert rory.emails == ("rory@example.com", "rory.williams@nhs.example")
    assert rory.organisation == "Leadworth Hospital"


def test_tamago_format_with_semicolon_delimiter():
    dialect, (ada, hedy) = load("tamago_semicolon.csv")
    assert dialect == "tamago"
    assert ada.emails == ("ada@example.org", "countess@example.org")
    assert ada.notes == "First programmer; friend of Babbage"
    assert hedy.emails == ("hedy@example.org",)


def test_cp1252_fallback_and_utf16_bom():
    text = "name,emails,organisation,notes\r\nJürgen Müller,j@example.de,Söhne,\r\n"
    assert csvio.parse(text.encode("cp1252"))[1][0].name == "Jürgen Müller"
    assert csvio.parse(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))[1][0].organisation == "Söhne"
    assert csvio.parse(codecs.BOM_UTF8 + text.encode("utf-8"))[1][0].name == "Jürgen Müller"


def test_unknown_header_is_a_diagnosed_error():
    with pytest.raises(csvio.CsvFormatError, match="E-mail 1 - Value"):
        csvio.parse(b"Phone,Street\r\n123,Main St\r\n")
    with pytest.raises(csvio.CsvFormatError):
        csvio.parse(b"")


@pytest.mark.parametrize("header,dialect", [
    (["Name", "Given Name", "E-mail 1 - Type", "E-mail 1 - Value"], "google"),
    (["First Name", "Labels", "E-mail 1 - Label", "E-mail 1 - Value"], "google"),
    (["First Name", "Last Name", "E-mail Address", "Company"], "outlook"),
    (["name", "emails", "organisation", "notes"], "tamago"),
    (["Display Name", "Primary Email"], "generic"),
])
def test_detect_dialect(header, dialect):
    assert csvio.detect_dialect(header) == dialect


CONTACTS = [
    Contact(None, "Ada Lovelace", ("ada@example.org", "countess@example.org"), "Analytical Engines",
            "First programmer, \"Notes\"; friend of Babbage\nSecond line"),
    Contact(None, "Zoë Ångström", ("zoe@example.se",), "", ""),
]


def test_tamago_round_trip():
    text = csvio.dumps(CONTACTS, "tamago")
    assert text.startswith("name,emails,organisation,notes\r\n")
    assert csvio.parse(text.encode("utf-8")) == ("tamago", CONTACTS)


def test_google_and_outlook_exports_read_back_in_their_own_dialect():
    dialect, google = csvio.parse(csvio.dumps(CONTACTS, "google").encode("utf-8"))
    assert dialect == "google" and google == CONTACTS
    many = [Contact(None, "Many Addresses", tuple(f"a{i}@example.org" for i in range(5)), "", "")]
    dialect, (outlook,) = csvio.parse(csvio.dumps(many, "outlook").encode("utf-8"))
    assert dialect == "outlook"
    assert outlook.emails == ("a0@example.org", "a1@example.org", "a2@example.org")
    assert "a3@example.org, a4@example.org" in outlook.notes  # nothing is dropped silently
