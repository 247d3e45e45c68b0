"""Where passwords live. Never in config.toml, never in SQLite, never in a log.

Three places, as aerc and himalaya do it:

1. **The system keyring** (python-keyring: Secret Service, KWallet, macOS
   Keychain, Windows Credential Locker). Entries use the service name
   `tamago` and the account name as the key, so
   `keyring get tamago work` shows the password of account `work`. Other
   kinds of secret get their own service, `tamago/<kind>` (for example
   `tamago/smtp-password`, `tamago/oauth-refresh`), still keyed by the
   account name: no account name can collide with a kind.

2. **An encrypted file** (`Paths.secrets_file`), used automatically when no
   usable keyring exists. On a headless box without D-Bus, keyring picks its
   `fail` backend (or a chainer of nothing but fail/null backends): that is
   "not usable". A plaintext keyring (keyrings.alt) is not usable either.
   The file is unlocked by a master passphrase taken from, in order,
   `TAMAGO_MASTER_PASSWORD`, `settings.master_password_command`, or a prompt
   callback supplied by the front end.

   File layout (all integers big-endian)::

       "TMGS"  version:u8  kdf:u8  kdf-params  salt:16  check:16  nonce:12  AES-256-GCM(ciphertext+tag)

   kdf 2 = Argon2id (params: iterations:u32 lanes:u8 memory_kib:u32), the
   default when the installed `cryptography` has it; kdf 1 = scrypt (params:
   log2_n:u8 r:u8 p:u8) otherwise. The KDF yields 64 bytes: the first 32 are
   the AES key, a hash of the last 32 is `check`, which tells a wrong
   passphrase apart from a damaged file. Everything before the nonce is
   authenticated as associated data; every write uses a fresh random nonce.
   Writes go to a temporary file that is fsynced, then renamed over the old
   one, under an flock, with mode 0600: a full disk or a crash leaves the old
   store intact.

3. **A per-account command** (`Account.password_command`, like aerc's
   `source-cred-cmd` or himalaya's `password.command`), for pass, gopass,
   bitwarden-cli and friends. It runs through the shell with a timeout; the
   first line of its output is the password. A failure reports the exit
   status and the command's stderr, never its output.

Every secret read here is passed to `log.register_secret` at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import struct
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Protocol

from .errors import ConfigError, SecretError, UsageError
from .fsutil import atomic_write, write_error
from .log import redact, register_secret
from .models import Account

SERVICE = "tamago"
KINDS = ("password", "smtp-password", "oauth-refresh", "oauth-access")
BACKENDS = ("auto", "keyring", "encrypted")
MASTER_ENV = "TAMAGO_MASTER_PASSWORD"
COMMAND_TIMEOUT = 15.0
# Seconds to wait for the system keyring (generous: it may show an unlock prompt).
KEYRING_TIMEOUT = 60.0

# A prompt for the master passphrase: message -> passphrase (None or "" to give up).
# Front ends decide how to ask (a modal in the TUI, getpass in the CLI). When a
# new store is being created the message starts with "Choose", so a front end
# can ask twice.
PassphrasePrompt = Callable[[str], "str | None"]


def service_for(kind: str) -> str:
    """The keyring service name for a kind of secret: "tamago" for passwords."""
    _check_kind(kind)
    return SERVICE if kind == "password" else f"{SERVICE}/{kind}"


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UsageError(f"Unknown kind of secret {kind!r}; expected one of {', '.join(KINDS)}.")


# -- password commands -----------------------------------------------------


def run_command(command: str, *, timeout: float = COMMAND_TIMEOUT, what: str = "password command") -> str:
    """Run `command` through the shell and return the first line of its output.

    The whole process group is killed on timeout, so a command that spawns
    children (a shell pipeline, a gpg-agent prompt) cannot keep us waiting.
    """
    if not command.strip():
        raise SecretError(f"The {what} is empty.")
    try:
        proc = subprocess.Popen(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise SecretError(f"Could not start the {what} `{command}`: {exc.strerror or exc}") from exc
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise SecretError(
            f"The {what} `{command}` did not finish within {timeout:g} seconds and was stopped. "
            "Check that it does not wait for input (a GPG pinentry, a locked vault)."
        ) from None
    first = out.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        secret = first.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"The {what} `{command}` printed something that is not UTF-8 text.") from None
    register_secret(secret)
    if proc.returncode != 0:
        # Redact the whole message: the output was registered as a secret above,
        # and a careless command (`echo hunter2`) may spell it out itself.
        detail = err.decode("utf-8", "replace").strip()[-500:] or "no error output"
        raise SecretError(redact(f"The {what} `{command}` failed with exit status {proc.returncode}: {detail}"))
    if not secret:
        raise SecretError(f"The {what} `{command}` printed nothing on its first line.")
    return secret


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    try:
        proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:  # a grandchild left the group and holds the pipes
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
        proc.wait(timeout=2)


# -- backends --------------------------------------------------------------


class Backend(Protocol):
    name: str

    def get(self, account: str, kind: str) -> str | None: ...

    def set(self, account: str, kind: str, secret: str) -> None: ...

    def delete(self, account: str, kind: str) -> bool: ...

    def describe(self) -> str: ...


def _is_unusable_backend(backend) -> bool:
    from keyring.backends import chainer, fail, null

    if isinstance(backend, chainer.ChainerBackend):
        return not any(not _is_unusable_backend(b) for b in backend.backends)
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        return True
    cls = type(backend)
    # keyrings.alt's PlaintextKeyring keeps passwords in clear text on disk.
    return cls.__module__.startswith("keyrings.alt") and "plaintext" in cls.__name__.lower()


def keyring_usable(backend=None, *, timeout: float | None = None) -> bool:
    """True when the keyring can actually keep a secret (not fail/null/plaintext).

    Finding the backend may talk to D-Bus; one that does not answer in time is not usable.
    """
    def probe() -> bool:
        import keyring

        return not _is_unusable_backend(backend if backend is not None else keyring.get_keyring())

    try:
        return bool(call_with_timeout(probe, KEYRING_TIMEOUT if timeout is None else timeout, "find a keyring"))
    except Exception:  # a broken or silent keyring installation is not a usable one
        return False


def call_with_timeout(fn: Callable[[], object], timeout: float, what: str):
    """Run `fn` in a helper thread and stop waiting after `timeout` seconds.

    Keyring backends talk to D-Bus, KWallet or the Keychain with no timeout of their
    own; a daemon that never answers must not freeze tamago. The thread is left to
    finish (or not) on its own: it only ever holds the keyring call.
    """
    result: dict = {}

    def work() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            result["error"] = exc

    thread = threading.Thread(target=work, name="tamago-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise SecretError(
            f"The system keyring did not answer within {timeout:g} seconds (trying to {what}). "
            "It may be waiting for an unlock prompt nobody can see. Unlock it, or set "
            'secret_backend = "encrypted" in [settings] to use the encrypted file instead.'
        )
    if "error" in result:
        raise result["error"]
    return result.get("value")


class KeyringBackend:
    name = "keyring"

    def __init__(self, backend=None, *, timeout: float | None = None):
        import keyring

        self.timeout = KEYRING_TIMEOUT if timeout is None else timeout
        self._keyring = backend if backend is not None else call_with_timeout(
            keyring.get_keyring, self.timeout, "find a keyring")

    def describe(self) -> str:
        cls = type(self._keyring)
        return f"system keyring ({cls.__module__}.{cls.__name__})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except SecretError:
            raise
        except Exception as exc:  # keyring backends raise anything from D-Bus errors to OSError
            raise SecretError(
                f"The system keyring could not {action}: {type(exc).__name__}: {exc}. "
                'Set secret_backend = "encrypted" in [settings] to use the encrypted file instead.'
            ) from exc

    def get(self, account: str, kind: str) -> str | None:
        with self._errors("read a password"):
            return call_with_timeout(lambda: self._keyring.get_password(service_for(kind), account),
                                     self.timeout, "read a password")

    def set(self, account: str, kind: str, secret: str) -> None:
        with self._errors("store a password"):
            call_with_timeout(lambda: self._keyring.set_password(service_for(kind), account, secret),
                              self.timeout, "store a password")

    def delete(self, account: str, kind: str) -> bool:
        from keyring.errors import PasswordDeleteError

        def delete() -> bool:
            try:
                self._keyring.delete_password(service_for(kind), account)
            except PasswordDeleteError:
                return False
            return True

        with self._errors("delete a password"):
            return bool(call_with_timeout(delete, self.timeout, "delete a password"))


# -- the encrypted file ----------------------------------------------------

MAGIC = b"TMGS"
VERSION = 1
KDF_SCRYPT = 1
KDF_ARGON2ID = 2
SALT_LEN = 16
CHECK_LEN = 16
NONCE_LEN = 12
_ARGON2_PARAMS = struct.Struct(">IBI")  # iterations, lanes, memory in KiB
_SCRYPT_PARAMS = struct.Struct(">BBB")  # log2(n), r, p
# Upper bounds when reading, so a crafted file cannot make us allocate gigabytes.
_MAX_MEMORY_KIB = 1024 * 1024
_MAX_ITERATIONS = 64
_MAX_SCRYPT_LOG2N = 20


def argon2_available() -> bool:
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class KdfParams:
    """How the master passphrase becomes a key. The defaults follow RFC 9106 / OWASP."""

    kdf: int = KDF_ARGON2ID
    iterations: int = 3
    lanes: int = 4
    memory_kib: int = 64 * 1024
    log2_n: int = 17
    r: int = 8
    p: int = 1

    @classmethod
    def default(cls) -> "KdfParams":
        return cls() if argon2_available() else cls(kdf=KDF_SCRYPT)

    def pack(self) -> bytes:
        if self.kdf == KDF_ARGON2ID:
            return bytes([self.kdf]) + _ARGON2_PARAMS.pack(self.iterations, self.lanes, self.memory_kib)
        return bytes([self.kdf]) + _SCRYPT_PARAMS.pack(self.log2_n, self.r, self.p)

    @classmethod
    def unpack(cls, data: bytes, offset: int) -> tuple["KdfParams", int]:
        kdf = data[offset]
        offset += 1
        if kdf == KDF_ARGON2ID:
            iterations, lanes, memory = _ARGON2_PARAMS.unpack_from(data, offset)
            if not (1 <= iterations <= _MAX_ITERATIONS and 1 <= lanes <= 64 and 8 * lanes <= memory <= _MAX_MEMORY_KIB):
                raise ValueError("implausible Argon2id parameters")
            return cls(kdf=kdf, iterations=iterations, lanes=lanes, memory_kib=memory), offset + _ARGON2_PARAMS.size
        if kdf == KDF_SCRYPT:
            log2_n, r, p = _SCRYPT_PARAMS.unpack_from(data, offset)
            if not (10 <= log2_n <= _MAX_SCRYPT_LOG2N and 1 <= r <= 32 and 1 <= p <= 16):
                raise ValueError("implausible scrypt parameters")
            return cls(kdf=kdf, log2_n=log2_n, r=r, p=p), offset + _SCRYPT_PARAMS.size
        raise ValueError(f"unknown key derivation function {kdf}")

    def derive(self, passphrase: str, salt: bytes) -> bytes:
        secret = passphrase.encode("utf-8")
        if self.kdf == KDF_ARGON2ID:
            try:
                from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
            except ImportError:
                raise SecretError(
                    "The encrypted password store uses Argon2id, which this installation of the "
                    "`cryptography` package lacks. Upgrade cryptography (>= 44)."
                ) from None
            kdf = Argon2id(salt=salt, length=64, iterations=self.iterations, lanes=self.lanes, memory_cost=self.memory_kib)
        else:
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

            kdf = Scrypt(salt=salt, length=64, n=2**self.log2_n, r=self.r, p=self.p)
        return kdf.derive(secret)


def _check_value(material: bytes) -> bytes:
    return hashlib.sha256(b"tamago secrets key check\0" + material[32:]).digest()[:CHECK_LEN]


@dataclass
class _Unlocked:
    params: KdfParams
    salt: bytes
    key: bytes
    check: bytes


class MasterPassphrase:
    """Finds the master passphrase: environment, then command, then prompt."""

    def __init__(self, command: str = "", prompt: PassphrasePrompt | None = None, *, timeout: float = COMMAND_TIMEOUT):
        self.command = command
        self.prompt = prompt
        self.timeout = timeout

    def __call__(self, path: Path, creating: bool) -> str:
        passphrase = os.environ.get(MASTER_ENV, "")
        if not passphrase and self.command:
            passphrase = run_command(self.command, timeout=self.timeout, what="master passphrase command")
        if not passphrase and self.prompt is not None:
            message = (
                f"Choose a master passphrase for the new encrypted password store {path}"
                if creating
                else f"Master passphrase for the encrypted password store {path}"
            )
            passphrase = self.prompt(message) or ""
        if not passphrase:
            raise SecretError(
                f"The encrypted password store {path} needs a master passphrase. "
                f"Set {MASTER_ENV}, set master_password_command in [settings], "
                "or run tamago in a terminal to be asked for it."
            )
        register_secret(passphrase)
        return passphrase


class EncryptedFileBackend:
    name = "encrypted"

    def __init__(
        self,
        path: Path,
        passphrase: Callable[[Path, bool], str] | None = None,
        *,
        kdf: KdfParams | None = None,
    ):
        self.path = Path(path)
        self._passphrase = passphrase or MasterPassphrase()
        self._kdf = kdf or KdfParams.default()
        self._unlocked: _Unlocked | None = None

    def describe(self) -> str:
        return f"encrypted file {self.path}"

    def lock(self) -> None:
        """Forget the derived key; the next access asks for the passphrase again."""
        self._unlocked = None

    # -- file format --

    @staticmethod
    def _parse_header(data: bytes) -> tuple[KdfParams, bytes, bytes, int]:
        if len(data) < len(MAGIC) + 2 or data[: len(MAGIC)] != MAGIC:
            raise SecretError("is not a tamago password store")
        version = data[len(MAGIC)]
        if version != VERSION:
            raise SecretError(f"has format version {version}; this tamago reads version {VERSION}. Upgrade tamago")
        try:
            params, offset = KdfParams.unpack(data, len(MAGIC) + 1)
        except (ValueError, struct.error, IndexError) as exc:
            raise SecretError(f"has a damaged header ({exc})") from None
        salt = data[offset : offset + SALT_LEN]
        check = data[offset + SALT_LEN : offset + SALT_LEN + CHECK_LEN]
        end = offset + SALT_LEN + CHECK_LEN
        if len(data) < end + NONCE_LEN + 16:
            raise SecretError("is truncated")
        return params, salt, check, end

    def _header(self, unlocked: _Unlocked) -> bytes:
        return MAGIC + bytes([VERSION]) + unlocked.params.pack() + unlocked.salt + unlocked.check

    def _decrypt(self, data: bytes) -> dict:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            params, salt, check, end = self._parse_header(data)
        except SecretError as exc:
            raise SecretError(f"The password store {self.path} {exc}.") from None
        unlocked = self._unlocked
        if unlocked is None or unlocked.salt != salt or unlocked.params != params:
            material = params.derive(self._passphrase(self.path, False), salt)
            unlocked = _Unlocked(params, salt, material[:32], _check_value(material))
        if not hmac.compare_digest(unlocked.check, check):
            raise SecretError(
                f"Wrong master passphrase for the encrypted password store {self.path}. "
                f"Check {MASTER_ENV} or master_password_command, or type it again."
            )
        nonce = data[end : end + NONCE_LEN]
        try:
            plain = AESGCM(unlocked.key).decrypt(nonce, data[end + NONCE_LEN :], data[:end])
        except InvalidTag:
            raise SecretError(
                f"The encrypted password store {self.path} has been altered or damaged: its "
                "contents fail authentication. Restore it from a backup, or delete it and "
                "store the passwords again."
            ) from None
        self._unlocked = unlocked
        try:
            doc = json.loads(plain.decode("utf-8"))
            accounts = doc["accounts"]
            if not isinstance(accounts, dict):
                raise TypeError("accounts is not a table")
        except (ValueError, KeyError, TypeError) as exc:
            raise SecretError(f"The password store {self.path} decrypts but is not readable: {exc}") from None
        for kinds in accounts.values():
            for secret in kinds.values():
                register_secret(secret)
        return accounts

    def _encrypt(self, accounts: dict) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if self._unlocked is None:
            salt = os.urandom(SALT_LEN)
            material = self._kdf.derive(self._passphrase(self.path, True), salt)
            self._unlocked = _Unlocked(self._kdf, salt, material[:32], _check_value(material))
        header = self._header(self._unlocked)
        nonce = os.urandom(NONCE_LEN)
        plain = json.dumps({"version": 1, "accounts": accounts}, sort_keys=True).encode("utf-8")
        return header + nonce + AESGCM(self._unlocked.key).encrypt(nonce, plain, header)

    # -- file access --

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # not POSIX: no inter-process lock, the rename is still atomic
            yield
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise write_error(exc, f"the password store {self.path} (its lock file)",
                              error_class=SecretError) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict | None:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretError(f"Cannot read the password store {self.path}: {exc.strerror or exc}") from exc
        return self._decrypt(data)

    def _write(self, accounts: dict) -> None:
        # Temporary file, fsync, rename, fsync the directory: a full disk leaves the old store.
        atomic_write(self.path, self._encrypt(accounts), mode=0o600,
                     what=f"the password store {self.path}", error_class=SecretError)

    # -- Backend --

    def get(self, account: str, kind: str) -> str | None:
        accounts = self._read()
        if accounts is None:
            return None
        return accounts.get(account, {}).get(kind)

    def set(self, account: str, kind: str, secret: str) -> None:
        with self._locked():
            accounts = self._read() or {}
            accounts.setdefault(account, {})[kind] = secret
            self._write(accounts)

    def delete(self, account: str, kind: str) -> bool:
        with self._locked():
            accounts = self._read()
            if not accounts or kind not in accounts.get(account, {}):
                return False
            del accounts[account][kind]
            if not accounts[account]:
                del accounts[account]
            self._write(accounts)
            return True


# -- the front door --------------------------------------------------------


class SecretStore:
    """Reads and writes an account's secrets wherever they live.

    `account` may be an `Account` or an account name; names are resolved
    against the configured accounts so that their password_command is honoured.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        accounts: Mapping[str, Account] | None = None,
        command_timeout: float = COMMAND_TIMEOUT,
    ):
        self.backend = backend
        self.accounts = dict(accounts or {})
        self.command_timeout = command_timeout

    @classmethod
    def for_services(cls, services, prompt: PassphrasePrompt | None = None) -> "SecretStore":
        settings = services.settings
        choice = settings.secret_backend
        if choice not in BACKENDS:
            raise ConfigError(f"secret_backend = {choice!r} in [settings]; expected one of {', '.join(BACKENDS)}.")
        if choice == "keyring" and not keyring_usable():
            raise SecretError(
                'secret_backend = "keyring", but no usable system keyring was found (no Secret '
                'Service, KWallet or Keychain). Use "auto" or "encrypted" on headless machines.'
            )
        backend: Backend
        if choice == "encrypted" or (choice == "auto" and not keyring_usable()):
            backend = EncryptedFileBackend(
                services.paths.secrets_file,
                MasterPassphrase(settings.master_password_command, prompt),
            )
        else:
            backend = KeyringBackend()
        return cls(backend, accounts=services.config.accounts)

    @property
    def backend_name(self) -> str:
        """"keyring" or "encrypted"."""
        return self.backend.name

    def describe(self) -> str:
        return self.backend.describe()

    def _resolve(self, account: str | Account) -> tuple[str, Account | None]:
        if isinstance(account, Account):
            return account.name, account
        return account, self.accounts.get(account)

    def get(self, account: str | Account, kind: str = "password") -> str | None:
        """The secret, or None when none is stored. A password command always wins."""
        _check_kind(kind)
        name, acct = self._resolve(account)
        if kind == "password" and acct is not None and acct.password_command:
            return run_command(acct.password_command, timeout=self.command_timeout)
        secret = self.backend.get(name, kind)
        register_secret(secret)
        return secret

    def password_for(self, account: str | Account, protocol: str = "imap") -> str | None:
        """The password to log in with: SMTP uses its own when one is stored."""
        if protocol == "smtp":
            name, acct = self._resolve(account)
            if acct is None or not acct.password_command:
                secret = self.get(account, "smtp-password")
                if secret:
                    return secret
        return self.get(account, "password")

    def set(self, account: str | Account, secret: str, kind: str = "password") -> None:
        _check_kind(kind)
        if not secret:
            raise UsageError("An empty password cannot be stored.")
        register_secret(secret)
        name, _ = self._resolve(account)
        self.backend.set(name, kind, secret)

    def delete(self, account: str | Account, kind: str | None = None) -> int:
        """Remove one kind, or every kind, of the account's secrets. Returns how many went."""
        name, _ = self._resolve(account)
        kinds = KINDS if kind is None else (kind,)
        for k in kinds:
            _check_kind(k)
        return sum(1 for k in kinds if self.backend.delete(name, k))
