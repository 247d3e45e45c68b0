"""Duplicates, merge, shared addresses, and importing without creating duplicates."""

from pathlib import Path

import pytest

from tamago_tui.backend import contact_io
from tamago_tui.backend.contacts import ContactBook, RowFilter, filter_rows
from tamago_tui.backend.dedupe import find_duplicates, name_key
from tamago_tui.backend.errors import NotFound, UsageError
from tamago_tui.backend.models import Contact
from tamago_tui.backend.store import Store

DATA = Path(__file__).resolve().parent.parent / "data" / "contacts"


@pytest.fixture
def book(tmp_path):
    store = Store(tmp_path / "t.db")
    yield ContactBook(store)
    store.close()


@pytest.mark.parametrize("a,b", [
    ("Ada Lovelace", "ada  LOVELACE"),
    ("Lovelace, Ada", "Ada Lovelace"),
    ("Zoë Ångström", "Zoe Angstrom"),
    ("José  Martínez", "martinez, jose"),
    ("Søren Kierkegaard", "Soren Kierkegaard"),
    ("Straße", "STRASSE"),
])
def test_name_key_matches_variants(a, b):
    assert name_key(a) == name_key(b)


def test_name_key_keeps_different_people_apart():
    assert name_key("Ada Lovelace") != name_key("Ada Lovelock")
    assert name_key("") == ""


def test_duplicates_by_address_and_by_name(book):
    ada = book.add("Ada Lovelace", ["ada@example.org"])
    ada2 = book.add("Lovelace, Ada", ["countess@example.org"])
    ada3 = book.add("Countess", ["ADA@example.org"])
    book.add("Alan Turing", ["alan@example.org"])
    pairs = {(p.keep_id, p.other_id): p.reasons for p in find_duplicates(book.store)}
    assert pairs == {
        (ada.id, ada2.id): ("same name",),
        (ada.id, ada3.id): ("same address ada@example.org",),
    }


def test_shared_addresses_and_shared_with(book):
    a = book.add("Support (Ann)", ["support@corp.example", "ann@corp.example"])
    b = book.add("Support (Bob)", ["Support@Corp.example"])
    book.add("Carol", ["carol@corp.example"])
    (shared,) = book.shared_addresses()
    assert shared.address == "support@corp.example"
    assert shared.owners == ((a.id, "Support (Ann)"), (b.id, "Support (Bob)"))
    assert book.shared_with(["support@corp.example", "ann@corp.example"], exclude_id=a.id) == {
        "support@corp.example": [(b.id, "Support (Bob)")]
    }
    assert book.shared_with(["New <SUPPORT@corp.example>"]) == {
        "support@corp.example": [(a.id, "Support (Ann)"), (b.id, "Support (Bob)")]
    }


def test_merge_moves_addresses_notes_and_organisation(book):
    keep = book.add("Ada Lovelace", ["ada@example.org"], notes="Met in London.")
    other = book.add("Lovelace, Ada", ["Countess@Example.org", "ada@example.org"],
                     organisation="Analytical Engines", notes="Wrote the first program.")
    merged = book.merge(keep.id, other.id)
    assert merged.name == "Ada Lovelace"
    assert [e.lower() for e in merged.emails] == ["ada@example.org", "countess@example.org"]
    assert merged.organisation == "Analytical Engines"
    assert merged.notes == "Met in London.\n\nWrote the first program."
    with pytest.raises(NotFound):
        book.get(other.id)
    assert book.owners_of("countess@example.org") == [keep.id]
    assert book.shared_addresses() == []


def test_merge_keeps_a_different_organisation_in_the_notes_and_prefers_a_real_name(book):
    keep = book.add("", ["ada@example.org"], organisation="Engines Ltd")
    other = book.add("Ada Lovelace", ["ada@home.example"], organisation="Royal Society")
    merged = book.merge(keep.id, other.id)
    assert merged.name == "Ada Lovelace"  # the kept name was only an address
    assert merged.organisation == "Engines Ltd"
    assert "Organisation: Royal Society" in merged.notes


def test_merge_refuses_itself_and_unknown_ids(book):
    ada = book.add("Ada", ["ada@example.org"])
    with pytest.raises(UsageError):
        book.merge(ada.id, ada.id)
    with pytest.raises(NotFound):
        book.merge(ada.id, 999)
    assert book.get(ada.id).emails == ("ada@example.org",)


def test_all_returns_every_contact_with_addresses_in_order(book):
    b = book.add("Bob", ["b2@example.org", "b1@example.org"])
    a = book.add("alice", ["a@example.org"], organisation="Acme", notes="n")
    book.add("Nobody", [])
    everyone = book.all()
    assert [c.name for c in everyone] == ["alice", "Bob", "Nobody"]
    assert everyone[1].emails == ("b2@example.org", "b1@example.org")
    assert book.all([b.id, a.id]) == [book.get(a.id), book.get(b.id)]
    assert book.all([]) == []


# -- import ---------------------------------------------------------------


def test_import_merges_into_a_contact_with_a_known_address(book):
    existing = book.add("Grace Hopper", ["grace@navy.example"])
    report = contact_io.import_file(book, DATA / "google.csv")
    assert report.format == "csv/google"
    assert (report.created, report.updated, report.skipped) == (4, 1, 0)
    grace = book.get(existing.id)
    assert set(e.lower() for e in grace.emails) == {
        "grace@navy.example", "ghopper@navy.example", "grace.hopper@example.com"}
    assert grace.organisation == "US Navy"
    assert "COBOL" in grace.notes
    assert book.count() == 5


def test_importing_the_same_file_twice_changes_nothing(book):
    first = contact_io.import_file(book, DATA / "apple_icloud.vcf")
    assert (first.created, first.updated, first.skipped) == (2, 0, 0)
    again = contact_io.import_file(book, DATA / "apple_icloud.vcf")
    assert (again.created, again.updated, again.skipped) == (0, 0, 2)
    assert book.count() == 2


def test_import_counts_same_name_and_merges_address_less_entries_by_name(book):
    book.add("Grace Hopper", ["other-grace@example.com"])
    book.add("Phone only Pat", [], notes="old")
    report = contact_io.import_contacts(book, [
        Contact(None, "Hopper, Grace", ("grace@navy.example",)),  # new address, same name
        Contact(None, "phone ONLY pat", (), "", "new note"),  # no address: merged by name
    ])
    assert (report.created, report.updated, report.same_name) == (1, 1, 1)
    assert {p.reasons for p in find_duplicates(book.store)} == {("same name",)}
    pat = book.find("Phone only Pat")
    assert pat.notes == "old\n\nnew note"


def test_import_warns_about_non_addresses_and_skips_empty_entries(book):
    report = contact_io.import_file(book, DATA / "outlook.csv")
    assert report.created == 3
    assert len(report.warnings) == 1 and "/o=ExchangeLabs" in report.warnings[0]
    assert book.find("alan@bletchley.example").name == "Alan Turing"
    empty = contact_io.import_contacts(book, [Contact(None, "", ("not an address",))])
    assert (empty.created, empty.skipped) == (0, 1)


def test_import_is_one_transaction(book, monkeypatch):
    calls = {"n": 0}
    original = contact_io._insert

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(*args)

    monkeypatch.setattr(contact_io, "_insert", failing)
    with pytest.raises(RuntimeError):
        contact_io.import_contacts(book, [Contact(None, "A", ("a@example.org",)), Contact(None, "B", ("b@example.org",))])
    assert book.count() == 0


def test_export_then_import_into_an_empty_book_round_trips(book, tmp_path):
    contact_io.import_file(book, DATA / "google_legacy.csv")
    contact_io.import_file(book, DATA / "nextcloud_40.vcf")
    before = [(c.name, tuple(e.lower() for e in c.emails), c.organisation, c.notes) for c in book.all()]
    for fmt, name in [("vcard", "out.vcf"), ("vcard3", "out3.vcf"), ("csv", "out.csv")]:
        path = tmp_path / name
        assert contact_io.export_file(book, path, fmt) == len(before)
        other = ContactBook(Store(tmp_path / f"{fmt}.db"))
        report = contact_io.import_file(other, path)
        assert report.created == len(before)
        after = [(c.name, tuple(e.lower() for e in c.emails), c.organisation, c.notes) for c in other.all()]
        assert after == before, fmt


def test_format_for_file_names():
    assert contact_io.format_for("x.VCF") == "vcard"
    assert contact_io.format_for("x.csv") == "csv"
    assert contact_io.format_for("x.bin", "csv") == "csv"
    assert contact_io.format_for("x.txt", data=b"\xef\xbb\xbfbegin:vcard\r\n") == "vcard"
    assert contact_io.format_for("x.txt", data=b"name,emails\r\n") == "csv"
    with pytest.raises(UsageError):
        contact_io.format_for("x.bin")


# -- filtering ------------------------------------------------------------


def test_row_filter_agrees_with_filter_rows_while_typing_and_deleting(book):
    for i in range(300):
        book.add(f"Person {i} {'Martin' if i % 7 == 0 else 'Smith'}", [f"p{i}@{'acme' if i % 3 else 'initech'}.example"],
                 organisation="Acme" if i % 2 else "")
    rows = book.rows()
    live = RowFilter(rows)
    typed = "martin acme 1"
    queries = [typed[:i] for i in range(len(typed) + 1)] + [typed[:i] for i in range(len(typed), -1, -1)]
    queries += ["acme martin", "  MARTIN  ", "initech", "1 martin", "zzz", ""]
    for query in queries:
        assert live(query) == filter_rows(rows, query), query
    assert live("martin acme 1") and not live("zzz")


def test_filter_ignores_case_and_accents(book):
    book.add("Zoë Ångström", ["zoe@example.se"], organisation="Universität Uppsala")
    book.add("Zoe Smith", ["zs@example.org"])
    rows = book.rows()
    assert sorted(r.name for r in filter_rows(rows, "zoe")) == ["Zoe Smith", "Zoë Ångström"]
    assert [r.name for r in filter_rows(rows, "ANGSTROM")] == ["Zoë Ångström"]
    assert [r.name for r in filter_rows(rows, "universitat")] == ["Zoë Ångström"]
    assert [r.name for r in filter_rows(rows, "ångström")] == ["Zoë Ångström"]


@pytest.mark.parametrize("header,expected", [
    ('"Lovelace, Ada" <Ada@Example.org>', ("Lovelace, Ada", "Ada@Example.org")),
    ("=?utf-8?q?Zo=C3=AB_=C3=85ngstr=C3=B6m?= <zoe@example.se>", ("Zoë Ångström", "zoe@example.se")),
    ("alan@bletchley.example", ("alan", "alan@bletchley.example")),
    ("Undisclosed recipients:;", ("", "")),
    ("=?bogus?q?broken?= <x@example.org>", ("=?bogus?q?broken?=", "x@example.org")),
])
def test_sender_prefill(header, expected):
    from tamago_tui.backend.contacts import sender_prefill

    assert sender_prefill(header) == expected
