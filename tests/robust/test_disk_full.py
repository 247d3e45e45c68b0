"""A full disk, for real: a 1 MiB tmpfs filled to the last byte.

Each writer must fail with "The disk is full: ..." and leave what was there
before exactly as it was, with no temporary file left behind.
"""

from __future__ import annotations

import json

import pytest

from tamago_tui.backend import config as config_mod
from tamago_tui.backend import contact_io
from tamago_tui.backend.contacts import ContactBook
from tamago_tui.backend.errors import ConfigError, SecretError, StoreError, TamagoError
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.secrets import EncryptedFileBackend, KdfParams, SecretStore
from tamago_tui.backend.store import Store

from .conftest import assert_clean_failure, run_tamago

DISK_FULL = "The disk is full: "


def account(name: str, email: str) -> Account:
    return Account(name=name, email=email,
                   imap=ServerSettings("imap.example.test", 993, Security.SSL, email),
                   smtp=ServerSettings("smtp.example.test", 587, Security.STARTTLS, email))


def big_vcard(count: int, start: int = 0) -> str:
    cards = []
    for i in range(start, start + count):
        cards.append(f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nEMAIL:person{i}@example.org\r\n"
                     f"NOTE:{'n' * 900}\r\nEND:VCARD\r\n")
    return "".join(cards)


def cheap_kdf() -> KdfParams:
    return KdfParams(kdf=KdfParams.default().kdf, iterations=1, lanes=1, memory_kib=8 * 1024, log2_n=14)


def test_config_writer(small_disk):
    path = small_disk.path / "config.toml"
    first = config_mod.Config().with_account(account("work", "work@example.org"))
    config_mod.save(first, path)
    before = path.read_bytes()
    small_disk.fill()
    bigger = first.with_account(account("home", "home@example.org"))
    with pytest.raises(ConfigError) as caught:
        config_mod.save(bigger, path)
    assert str(caught.value).startswith(DISK_FULL)
    assert "unchanged" in str(caught.value)
    small_disk.free()
    assert path.read_bytes() == before
    assert list(config_mod.load(path).accounts) == ["work"]
    assert small_disk.leftovers() == []


def test_sqlite_store_and_contacts_import(small_disk, tmp_path):
    db_path = small_disk.path / "tamago.db"
    store = Store(db_path)
    book = ContactBook(store)
    for i in range(5):
        book.add(f"Kept {i}", [f"kept{i}@example.org"], notes="before the disk filled up")
    vcf = tmp_path / "many.vcf"
    vcf.write_text(big_vcard(2000))  # ~2 MB of contacts: more than the disk holds
    small_disk.fill()
    with pytest.raises(StoreError) as caught:
        contact_io.import_file(book, vcf)
    assert str(caught.value).startswith(DISK_FULL)
    assert "intact" in str(caught.value)
    store.close()

    small_disk.free()
    store = Store(db_path)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    names = sorted(r["name"] for r in store.db["contacts"].rows)
    assert names == [f"Kept {i}" for i in range(5)]  # the import landed whole or not at all
    store.close()


def test_encrypted_secret_store(small_disk, monkeypatch):
    path = small_disk.path / "secrets.enc"
    monkeypatch.setenv("TAMAGO_MASTER_PASSWORD", "disk-full-master-passphrase")
    store = SecretStore(EncryptedFileBackend(path, kdf=cheap_kdf()))
    store.set("work", "old-password-1")
    before = path.read_bytes()
    small_disk.fill()
    with pytest.raises(SecretError) as caught:
        store.set("work", "new-password-2" * 100)
    assert str(caught.value).startswith(DISK_FULL)
    assert "unchanged" in str(caught.value)
    small_disk.free()
    assert path.read_bytes() == before
    assert SecretStore(EncryptedFileBackend(path, kdf=cheap_kdf())).get("work") == "old-password-1"
    assert small_disk.leftovers() == []


def test_contacts_export_keeps_the_previous_file(small_disk, tmp_path):
    store = Store(tmp_path / "tamago.db")  # the database is elsewhere: only the export's disk is full
    book = ContactBook(store)
    for i in range(50):
        book.add(f"Person {i}", [f"p{i}@example.org"], notes="x" * 200)
    target = small_disk.path / "contacts.vcf"
    target.write_bytes(b"the previous export\r\n")
    small_disk.fill()
    with pytest.raises(TamagoError) as caught:
        contact_io.export_file(book, target)
    assert str(caught.value).startswith(DISK_FULL)
    small_disk.free()
    assert target.read_bytes() == b"the previous export\r\n"
    assert small_disk.leftovers() == []
    store.close()


MESSAGE = (b"From: a@example.org\r\nTo: b@example.org\r\nSubject: with a file\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
           b"--b\r\nContent-Type: application/octet-stream; name=\"blob.bin\"\r\n"
           b"Content-Disposition: attachment; filename=\"blob.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + b"QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n" * 400
           + b"--b--\r\n")


@pytest.mark.parametrize("existing", [False, True], ids=["new-file", "force-over-existing"])
def test_show_save_attachment(small_disk, tmp_path, existing):
    message = tmp_path / "message.eml"
    message.write_bytes(MESSAGE)
    dest = small_disk.path / "blob.bin"
    if existing:
        dest.write_bytes(b"the file that was there")
    small_disk.fill()
    args = ["show", str(message), "--save-attachment", "1", "--to", str(dest)] + (["--force"] if existing else [])
    result = run_tamago(*args, home=tmp_path / "home")
    assert_clean_failure(result)
    assert DISK_FULL in result.stderr
    small_disk.free()
    if existing:
        assert dest.read_bytes() == b"the file that was there"
    else:
        assert not dest.exists()  # no half-written attachment
    assert small_disk.leftovers() == []
    saved = run_tamago(*args, "--json", home=tmp_path / "home")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["size"] == dest.stat().st_size > 20000


def test_cli_with_its_home_on_a_full_disk(small_disk, tmp_path):
    home = small_disk.path / "home"
    added = run_tamago("contacts", "add", "Before", "--email", "before@example.org", home=home)
    assert added.returncode == 0, added.stderr
    vcf = tmp_path / "many.vcf"
    vcf.write_text(big_vcard(2000))
    small_disk.fill()
    for args in (["contacts", "import", str(vcf)],
                 ["contacts", "add", "After " + "x" * 5000, "--email", "after@example.org",
                  "--notes", "y" * 100000]):
        result = run_tamago(*args, home=home)
        assert_clean_failure(result)  # the log file cannot be written either: no traceback about that
        assert DISK_FULL in result.stderr
    small_disk.free()
    listed = run_tamago("contacts", "list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    assert [c["name"] for c in json.loads(listed.stdout)] == ["Before"]
