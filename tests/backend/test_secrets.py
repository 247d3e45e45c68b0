"""Secrets: the keyring, the encrypted file store and password commands.

The keyring tests register a small in-memory backend through keyring's own
backend API (there is no desktop keyring on a CI box); the encrypted store and
the commands are exercised for real.
"""

from __future__ import annotations

import logging
import stat
import sys
from dataclasses import replace
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import PasswordDeleteError

from tamago_tui.backend import log as tamago_log
from tamago_tui.backend import fsutil, secrets
from tamago_tui.backend.errors import ConfigError, SecretError, UsageError
from tamago_tui.backend.models import Account, Security, ServerSettings
from tamago_tui.backend.secrets import (
    EncryptedFileBackend,
    KdfParams,
    KeyringBackend,
    MasterPassphrase,
    SecretStore,
    keyring_usable,
    run_command,
)

PY = sys.executable


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend that keeps entries in a dict."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.entries.get((service, username))

    def set_password(self, service, username, password):
        self.entries[(service, username)] = password

    def delete_password(self, service, username):
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(username) from None


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service, username):
        raise RuntimeError("org.freedesktop.DBus.Error.ServiceUnknown")


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def no_master_env(monkeypatch):
    monkeypatch.delenv(secrets.MASTER_ENV, raising=False)


def account(name="work", command="") -> Account:
    return Account(
        name=name,
        email=f"{name}@example.test",
        imap=ServerSettings("imap.example.test", 993, Security.SSL, f"{name}@example.test"),
        smtp=ServerSettings("smtp.example.test", 587, Security.STARTTLS, f"{name}@example.test"),
        password_command=command,
    )


def with_settings(services, **changes):
    services.config = replace(services.config, settings=replace(services.settings, **changes))
    return services


def cheap_kdf() -> KdfParams:
    # Still Argon2id (or scrypt), just with less memory so the suite stays quick.
    base = KdfParams.default()
    return replace(base, memory_kib=8 * 1024, iterations=1, lanes=1, log2_n=14)


def encrypted(path: Path, passphrase="correct horse battery staple") -> EncryptedFileBackend:
    return EncryptedFileBackend(path, lambda _path, _creating: passphrase, kdf=cheap_kdf())


# -- keyring -----------------------------------------------------------------


def test_keyring_round_trip_uses_service_tamago_and_the_account_name(memory_keyring, services):
    store = SecretStore.for_services(services)
    assert store.backend_name == "keyring"
    store.set("work", "imap-pass-1")
    store.set("work", "smtp-pass-2", kind="smtp-password")
    store.set("work", "refresh-3", kind="oauth-refresh")
    assert memory_keyring.entries[("tamago", "work")] == "imap-pass-1"
    assert memory_keyring.entries[("tamago/smtp-password", "work")] == "smtp-pass-2"
    assert memory_keyring.entries[("tamago/oauth-refresh", "work")] == "refresh-3"
    assert store.get("work") == "imap-pass-1"
    assert store.password_for("work", "smtp") == "smtp-pass-2"
    assert store.get("other") is None
    assert store.delete("work") == 3
    assert memory_keyring.entries == {}
    assert store.delete("work") == 0


def test_keyring_errors_become_secret_errors():
    store = SecretStore(KeyringBackend(BrokenKeyring()))
    with pytest.raises(SecretError, match="system keyring could not read"):
        store.get("work")


def test_unknown_kinds_and_empty_passwords_are_refused(memory_keyring):
    store = SecretStore(KeyringBackend(memory_keyring))
    with pytest.raises(UsageError):
        store.set("work", "x", kind="pin")
    with pytest.raises(UsageError):
        store.set("work", "")


def test_usable_keyring_detection():
    assert keyring_usable(MemoryKeyring())
    assert not keyring_usable(fail.Keyring())
    assert not keyring_usable(null.Keyring())

    class OnlyFail(chainer.ChainerBackend):
        backends = [fail.Keyring(), null.Keyring()]

    class WithMemory(chainer.ChainerBackend):
        backends = [fail.Keyring(), MemoryKeyring()]

    class PlaintextKeyring(MemoryKeyring):
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    assert not keyring_usable(OnlyFail())
    assert keyring_usable(WithMemory())
    assert not keyring_usable(PlaintextKeyring())


def test_auto_falls_back_to_the_encrypted_file_on_a_headless_box(services):
    # conftest selects keyring's fail backend, as on a machine without D-Bus.
    store = SecretStore.for_services(services)
    assert store.backend_name == "encrypted"
    assert str(services.paths.secrets_file) in store.describe()


def test_explicit_keyring_without_one_is_a_clear_error(services):
    with pytest.raises(SecretError, match="no usable system keyring"):
        SecretStore.for_services(with_settings(services, secret_backend="keyring"))
    with pytest.raises(ConfigError):
        SecretStore.for_services(with_settings(services, secret_backend="vault"))


def test_explicit_encrypted_wins_over_a_working_keyring(memory_keyring, services, monkeypatch):
    monkeypatch.setenv(secrets.MASTER_ENV, "from-the-environment")
    store = SecretStore.for_services(with_settings(services, secret_backend="encrypted"))
    store.backend._kdf = cheap_kdf()
    store.set("work", "pw")
    assert store.backend_name == "encrypted" and memory_keyring.entries == {}
    assert services.paths.secrets_file.exists()


# -- the encrypted file --------------------------------------------------------


def test_encrypted_round_trip_and_file_format(tmp_path):
    path = tmp_path / "secrets.enc"
    backend = encrypted(path)
    assert backend.get("work", "password") is None and not path.exists()  # no passphrase needed
    store = SecretStore(backend)
    store.set("work", "s3cr3t-value")
    store.set("home", "another-one", kind="smtp-password")
    data = path.read_bytes()
    assert data.startswith(secrets.MAGIC + bytes([secrets.VERSION]))
    assert b"s3cr3t-value" not in data and b"work" not in data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    fresh = SecretStore(encrypted(path))
    assert fresh.get("work") == "s3cr3t-value"
    assert fresh.get("home", "smtp-password") == "another-one"
    assert fresh.delete("home") == 1
    assert SecretStore(encrypted(path)).get("home", "smtp-password") is None


def test_every_write_uses_a_fresh_nonce(tmp_path):
    path = tmp_path / "secrets.enc"
    backend = encrypted(path)
    store = SecretStore(backend)
    store.set("work", "same")
    first = path.read_bytes()
    store.set("work", "same")
    second = path.read_bytes()
    header = len(backend._header(backend._unlocked))
    assert first[:header] == second[:header]  # same salt and KDF parameters
    assert first[header : header + secrets.NONCE_LEN] != second[header : header + secrets.NONCE_LEN]


def test_wrong_passphrase_is_a_clear_error(tmp_path):
    path = tmp_path / "secrets.enc"
    SecretStore(encrypted(path, "right")).set("work", "pw")
    with pytest.raises(SecretError, match="Wrong master passphrase"):
        SecretStore(encrypted(path, "wrong")).get("work")


def test_tampering_is_detected(tmp_path):
    path = tmp_path / "secrets.enc"
    SecretStore(encrypted(path)).set("work", "pw")
    data = bytearray(path.read_bytes())
    data[-20] ^= 0x01  # flip one bit of the ciphertext
    path.write_bytes(bytes(data))
    with pytest.raises(SecretError, match="altered or damaged"):
        SecretStore(encrypted(path)).get("work")
    path.write_bytes(b"not a store at all, just some bytes")
    with pytest.raises(SecretError, match="not a tamago password store"):
        SecretStore(encrypted(path)).get("work")


def test_a_failed_write_leaves_the_old_store_intact(tmp_path, monkeypatch):
    path = tmp_path / "secrets.enc"
    store = SecretStore(encrypted(path))
    store.set("work", "old-password")
    before = path.read_bytes()

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fsutil, "write_all", disk_full)
    with pytest.raises(SecretError, match="^The disk is full: .*No space left on device.*unchanged"):
        store.set("work", "new-password")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    monkeypatch.undo()
    assert SecretStore(encrypted(path)).get("work") == "old-password"


def test_master_passphrase_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "secrets.enc"
    monkeypatch.setenv(secrets.MASTER_ENV, "env-passphrase")
    backend = EncryptedFileBackend(path, MasterPassphrase(), kdf=cheap_kdf())
    SecretStore(backend).set("work", "pw")
    assert SecretStore(encrypted(path, "env-passphrase")).get("work") == "pw"


def test_master_passphrase_from_command_and_prompt(tmp_path):
    path = tmp_path / "secrets.enc"
    command = f"{PY} -c \"print('cmd-passphrase')\""
    SecretStore(EncryptedFileBackend(path, MasterPassphrase(command), kdf=cheap_kdf())).set("work", "pw")
    asked = []

    def prompt(message):
        asked.append(message)
        return "cmd-passphrase"

    store = SecretStore(EncryptedFileBackend(path, MasterPassphrase("", prompt), kdf=cheap_kdf()))
    assert store.get("work") == "pw"
    assert store.get("work") == "pw"  # unlocked once per process
    assert len(asked) == 1 and str(path) in asked[0] and not asked[0].startswith("Choose")


def test_new_store_prompt_says_it_is_new(tmp_path):
    asked = []
    backend = EncryptedFileBackend(
        tmp_path / "s.enc", MasterPassphrase("", lambda message: asked.append(message) or "pp"), kdf=cheap_kdf()
    )
    SecretStore(backend).set("work", "pw")
    assert len(asked) == 1 and asked[0].startswith("Choose a master passphrase for the new")


def test_a_prompt_that_gives_up_leaves_the_store_locked(tmp_path):
    backend = EncryptedFileBackend(tmp_path / "s.enc", MasterPassphrase("", lambda message: None), kdf=cheap_kdf())
    with pytest.raises(SecretError, match="needs a master passphrase"):
        SecretStore(backend).set("work", "pw")


def test_locked_store_without_any_passphrase_source(tmp_path):
    path = tmp_path / "secrets.enc"
    with pytest.raises(SecretError, match=secrets.MASTER_ENV):
        SecretStore(EncryptedFileBackend(path, MasterPassphrase(), kdf=cheap_kdf())).set("work", "pw")
    assert not path.exists()


def test_master_passphrase_command_failure_is_reported(tmp_path):
    command = f"{PY} -c \"import sys; sys.stderr.write('vault locked'); sys.exit(3)\""
    backend = EncryptedFileBackend(tmp_path / "s.enc", MasterPassphrase(command), kdf=cheap_kdf())
    with pytest.raises(SecretError, match="master passphrase command.*exit status 3: vault locked"):
        SecretStore(backend).set("work", "pw")


def test_scrypt_stores_remain_readable(tmp_path):
    path = tmp_path / "secrets.enc"
    kdf = KdfParams(kdf=secrets.KDF_SCRYPT, log2_n=14)
    EncryptedFileBackend(path, lambda p, c: "pp", kdf=kdf).set("work", "password", "pw")
    assert path.read_bytes()[len(secrets.MAGIC) + 1] == secrets.KDF_SCRYPT
    assert encrypted(path, "pp").get("work", "password") == "pw"


def test_argon2id_is_the_default_when_available():
    if secrets.argon2_available():
        assert KdfParams.default().kdf == secrets.KDF_ARGON2ID
    else:
        assert KdfParams.default().kdf == secrets.KDF_SCRYPT


# -- password commands ---------------------------------------------------------


def test_password_command_success_first_line_only(services):
    cmd = f"{PY} -c \"print('line-one-secret'); print('line two')\""
    store = SecretStore(KeyringBackend(MemoryKeyring()), accounts={"work": account(command=cmd)})
    assert store.get("work") == "line-one-secret"
    assert store.password_for("work", "smtp") == "line-one-secret"
    assert tamago_log.redact("pw is line-one-secret") == f"pw is {tamago_log.REDACTED}"


def test_password_command_keeps_inner_spaces_and_drops_crlf():
    assert run_command(f"{PY} -c \"import sys; sys.stdout.write(' a b \\r\\nrest')\"") == " a b "


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "cred.py"
    path.write_text("import sys\n" + body + "\n")
    return f"{PY} {path}"


def test_password_command_failure_shows_stderr_never_stdout(tmp_path):
    cmd = script(tmp_path, "print('leaked-output')\nsys.stderr.write('gpg: decryption failed')\nsys.exit(2)")
    with pytest.raises(SecretError) as info:
        run_command(cmd)
    message = str(info.value)
    assert "exit status 2" in message and "gpg: decryption failed" in message and "cred.py" in message
    assert "leaked-output" not in message


def test_password_command_stderr_echoing_the_secret_is_redacted(tmp_path):
    cmd = script(tmp_path, "print('echoed-secret')\nsys.stderr.write('bad: echoed-secret')\nsys.exit(1)")
    with pytest.raises(SecretError) as info:
        run_command(cmd)
    assert "echoed-secret" not in str(info.value) and "bad: " in str(info.value)


def test_a_command_that_spells_out_the_password_is_redacted_in_errors():
    with pytest.raises(SecretError) as info:
        run_command("echo spelled-out-pw; exit 4")
    assert "spelled-out-pw" not in str(info.value) and "exit status 4" in str(info.value)


def test_password_command_timeout_kills_the_whole_group(tmp_path):
    marker = tmp_path / "child-finished"
    # A pipeline: the shell itself is not the sleeping process.
    cmd = f"sleep 30; touch {marker}"
    with pytest.raises(SecretError, match="did not finish within 0.5 seconds"):
        run_command(cmd, timeout=0.5)
    assert not marker.exists()


def test_password_command_empty_output_and_missing_program():
    with pytest.raises(SecretError, match="printed nothing"):
        run_command("true")
    with pytest.raises(SecretError, match="exit status 127"):
        run_command("tamago-no-such-program-xyz")


# -- the secret never lands on disk in clear ------------------------------------


def _all_bytes(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]


@pytest.mark.parametrize("where", ["encrypted", "keyring"])
def test_saved_account_password_is_nowhere_on_disk(where, services, tamago_home, monkeypatch, request):
    secret = "Zq9-unique-Password-4711"
    master = "Master-Passphrase-0815"
    if where == "keyring":
        request.getfixturevalue("memory_keyring")
    monkeypatch.setenv(secrets.MASTER_ENV, master)
    acct = account()
    services.save_config(services.config.with_account(acct))
    db = services.open_store()
    db.ensure_account(acct.name, acct.email)
    db.record_test(acct.name, acct.email, ok=False, error="LOGIN failed", category="invalid_credentials")
    db.close()

    store = SecretStore.for_services(services)
    assert store.backend_name == where
    if where == "encrypted":
        store.backend._kdf = cheap_kdf()
    store.set(acct.name, secret)
    assert SecretStore.for_services(services).get(acct.name) == secret

    logger = logging.getLogger("tamago.test")
    logger.info("logging in as %s with %s", acct.email, secret)
    logger.warning("password=%s", secret)
    for handler in logging.getLogger("tamago").handlers:
        handler.flush()

    files = _all_bytes(tamago_home)
    names = {p.name for p, _ in files}
    assert {"config.toml", "tamago.db", "tamago.log"} <= names
    assert ("secrets.enc" in names) == (where == "encrypted")
    for path, data in files:
        for needle in (secret, master):
            assert needle.encode() not in data, f"{needle} found in {path}"
            assert needle.encode("utf-16-le") not in data, f"{needle} (UTF-16) found in {path}"
    assert tamago_log.REDACTED in services.paths.log_file.read_text()

