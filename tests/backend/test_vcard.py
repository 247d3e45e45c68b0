"""vCard 2.1 / 3.0 / 4.0 reading and 3.0 / 4.0 writing, on real-world-shaped files."""

from pathlib import Path

import pytest

from tamago_tui.backend import vcard
from tamago_tui.backend.models import Contact

DATA = Path(__file__).resolve().parent.parent / "data" / "contacts"


def load(name: str) -> list[Contact]:
    return vcard.parse((DATA / name).read_bytes())


def test_apple_icloud_groups_repeated_types_and_folded_photo():
    ada, initech = load("apple_icloud.vcf")
    assert ada.name == "Ada Lovelace"
    # type=pref puts the work address first; item1./item2. groups are ignored.
    assert ada.emails == ("Ada.Lovelace@Engines.example", "ada@example.org")
    assert ada.organisation == "Analytical Engines, Research, Programming"
    assert ada.notes == 'First programmer.\nNotes on the Engine, 1843.; See "Sketch".'
    # A card with an empty FN and N is named after its organisation.
    assert (initech.name, initech.emails) == ("Initech", ("helpdesk@initech.example",))


def test_google_export_with_bom_and_folded_note():
    grace, jose = load("google_export.vcf")
    assert grace.name == "Grace Hopper"
    assert grace.emails == ("grace@navy.example", "Grace.Hopper@example.com", "ghopper@navy.example")
    assert grace.notes.endswith("Google folds it over the seventy-five octet limit.")
    assert "fo lds" not in grace.notes and "folds" in grace.notes
    assert jose.name == "José Martínez Ñúñez"
    assert jose.organisation == "Compañía Ejemplo, S.A."


def test_android_21_quoted_printable_soft_breaks_and_n_only_card():
    ivan, charles = load("android_21.vcf")
    assert ivan.name == "Иван Павлов"
    assert ivan.emails == ("pavlov@institute.example", "ivan@example.ru")  # PREF first
    # The soft line break falls inside a UTF-8 sequence; it must still decode.
    assert ivan.notes == "Условный рефлекс.\nВторая строка"
    assert charles.name == "Charles Babbage"  # built from N, as the card has no FN


def test_outlook_21_windows_1252_charset_and_qp_note():
    (jurgen,) = load("outlook_21.vcf")
    assert jurgen.name == "Jürgen Müller"
    assert jurgen.organisation == "Müller & Söhne GmbH"
    assert jurgen.notes == "Erster Kontakt auf der Messe – München.\nRückruf erbeten."
    assert jurgen.emails == ("juergen@mueller-soehne.example",)


def test_nextcloud_40_quoted_type_list_pref_and_lf_line_ends():
    (hedy,) = load("nextcloud_40.vcf")
    assert hedy.emails == ("hedy.lamarr@studio.example", "hedy@example.org")
    assert hedy.notes == "Inventor and actor; patent US 2,292,387. Umlauts and accents: Österreich, café."


def test_fold_split_inside_utf8_sequence_is_rejoined_before_decoding():
    # Some writers fold at 75 octets regardless of characters: "é" is C3 A9.
    data = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ren\xc3\r\n \xa9e\r\nEND:VCARD\r\n"
    assert vcard.parse(data)[0].name == "Renée"


def test_several_cards_cr_only_line_ends_and_missing_final_end():
    data = "BEGIN:VCARD\rVERSION:3.0\rFN:A One\rEMAIL:a@example.org\rEND:VCARD\r" \
           "BEGIN:VCARD\rVERSION:3.0\rFN:B Two\rEMAIL:b@example.org\r"
    assert [c.name for c in vcard.parse(data)] == ["A One", "B Two"]


def test_nested_agent_card_does_not_leak_into_its_parent():
    data = (
        "BEGIN:VCARD\nVERSION:2.1\nFN:Boss\nEMAIL:boss@example.org\nAGENT:\n"
        "BEGIN:VCARD\nVERSION:2.1\nFN:Assistant\nEMAIL:assistant@example.org\nEND:VCARD\n"
        "END:VCARD\n"
    )
    (boss,) = vcard.parse(data)
    assert boss.name == "Boss" and boss.emails == ("boss@example.org",)


def test_escapes_in_structured_values():
    data = "BEGIN:VCARD\nVERSION:3.0\nN:O\\;Brien;Pat\\,Jo;;;\nORG:A\\\\B\\;C;Dept\nEND:VCARD\n"
    (card,) = vcard.parse(data)
    assert card.name == "Pat Jo O;Brien"
    assert card.organisation == "A\\B;C, Dept"


@pytest.mark.parametrize("version", ["3.0", "4.0"])
def test_round_trip_keeps_every_field(version):
    contacts = [
        Contact(None, "Zoë Ångström-Ölund", ("zoe@example.se", "Z.Angstrom@Uni.example"), "Uppsala; Physics, Dept",
                "Line one\nLine two, with a comma; and a semicolon \\ backslash"),
        Contact(None, "Lovelace, Ada", ("ada@example.org",), "", ""),
        Contact(None, "李小龙 " + "长" * 40, ("bruce@example.cn",), "", "x" * 200),
    ]
    text = vcard.dumps(contacts, version)
    assert vcard.parse(text) == contacts
    assert f"VERSION:{version}\r\n" in text


def test_export_folds_at_75_octets_without_splitting_characters():
    text = vcard.dumps([Contact(None, "é" * 100, ("e@example.org",), "", "ü" * 100)], "4.0")
    lines = text.encode("utf-8").split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    for line in lines:
        line.decode("utf-8")  # every physical line is whole UTF-8
    assert any(line.startswith(b" ") for line in lines)


def test_export_shape_per_version():
    contact = Contact(None, "Grace Hopper", ("grace@navy.example", "Jane <Grace.H@example.com>"), "US Navy", "")
    v4 = vcard.dumps([contact], "4.0")
    assert "EMAIL;PREF=1:grace@navy.example\r\n" in v4
    assert "EMAIL:Grace.H@example.com\r\n" in v4  # the bare address, never the display label
    assert "N:Hopper;Grace;;;\r\n" in v4
    v3 = vcard.dumps([contact], "3.0")
    assert "EMAIL;TYPE=INTERNET,PREF:grace@navy.example\r\n" in v3
    assert "EMAIL;TYPE=INTERNET:Grace.H@example.com\r\n" in v3
    assert v3.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\n") and v3.endswith("END:VCARD\r\n")


def test_unknown_version_is_refused():
    with pytest.raises(ValueError):
        vcard.dumps([Contact(None, "A", ())], "2.1")
