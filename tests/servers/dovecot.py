"""A private Dovecot (Debian's dovecot-imapd and dovecot-lmtpd) for integration tests.

Each instance has its own config, base_dir, state_dir, instance_name, log file,
passwd-file users and Maildirs under one temporary directory, and listens on
free loopback ports. The master runs in the foreground as our child, as root
(Dovecot needs that); mail is accessed as Debian's `mail` user, because
Dovecot refuses uid 0 for mail. See /work/shared/design/DOVECOT-NOTES.md for
the traps this avoids.

Listeners (`Dovecot.ports`):
- "imaps": implicit TLS;
- "imap":  STARTTLS offered (with `starttls=False`: plain IMAP that does NOT
           offer STARTTLS, and there is no "imaps");
- "lmtp":  LMTP delivery (plain, loopback only).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import secrets
import shutil
import smtplib
import ssl
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from imapclient import IMAPClient

from .certs import TestCA
from .process import (HOST, ManagedServer, ServerDied, ServerProcess, ServerStartError, free_ports,
                      log_tail, port_accepts, private_dir, remove_dir)
from .users import DEFAULT_USERS, DOMAIN, GMAIL_FOLDERS, KINDS, STANDARD_FOLDERS, MailUser

DOVECOT = shutil.which("dovecot", path="/usr/sbin:/usr/bin:" + os.environ.get("PATH", "")) \
    or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm", path="/usr/bin:/usr/sbin:" + os.environ.get("PATH", "")) \
    or "/usr/bin/doveadm"
MAIL_UID = 8  # Debian's `mail` user: Dovecot refuses to access mail as root
MAIL_GID = 8
DH_PARAMS = Path("/usr/share/dovecot/dh.pem")
TIMEOUT = 10.0  # seconds, for every socket and doveadm call the helpers make

# Dovecot 2.3's own CAPABILITY list after login, without CONDSTORE and QRESYNC: for
# `capabilities=NO_CONDSTORE`, a server whose clients must find flag changes themselves.
NO_CONDSTORE = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
                "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
                "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH "
                "LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ "
                "NOTIFY SPECIAL-USE")
_APPENDUID = re.compile(rb"APPENDUID (\d+) (\d+)")
_MAILDIR_FLAGS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                  "\\Deleted": "T"}
_instance_numbers = itertools.count(1)


class DoveadmError(RuntimeError):
    pass


def _mailbox_block(name: str, special_use: str, auto: str) -> str:
    return (f'  mailbox "{name}" {{\n'
            f"    auto = {auto}\n"
            f"    special_use = {special_use}\n"
            f"  }}\n")


def _namespace(section: str, folders: dict[str, str], *, disabled: bool) -> str:
    body = "".join(_mailbox_block(name, flag, "subscribe") for name, flag in folders.items())
    return (f"namespace {section} {{\n"
            f"  inbox = yes\n"
            f"  separator = /\n"
            f"  disabled = {'yes' if disabled else 'no'}\n"
            f"{body}}}\n")


class Dovecot(ManagedServer):
    """One private Dovecot instance. Call start(), then stop() (which removes its files)."""

    host = HOST
    hostname = "localhost"  # matches the server certificate, as does 127.0.0.1

    def __init__(self, ca: TestCA, *, cert: str = "server", starttls: bool = True,
                 users: Sequence[MailUser] = DEFAULT_USERS, name: str = "dovecot",
                 oauth2_introspection_url: str | None = None, capabilities: str | None = None):
        self.ca = ca
        # Dovecot's `imap_capability`: the CAPABILITY list clients see after login, e.g.
        # without CONDSTORE and QRESYNC to exercise a client's fallbacks (see fixtures.py).
        self.capabilities = capabilities
        # With an RFC 7662 introspection URL, XOAUTH2 and OAUTHBEARER logins are
        # checked by Dovecot's oauth2 passdb against it (tests/servers/oauth_server.py).
        self.oauth2_introspection_url = oauth2_introspection_url
        self.cafile: Path = ca.cafile
        self.cert = ca.pair(cert)
        self.tls = starttls
        self.name = name
        self.root = private_dir(name)
        self.config_path = self.root / "dovecot.conf"
        self.passwd_dir = self.root / "passwd.d"  # one passwd-file per user, see _write_passwd
        self.log_path = self.root / "dovecot.log"
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.home_root = self.root / "home"
        self.instance_name = f"tamago-test-{os.getpid()}-{next(_instance_numbers)}"
        self.ports: dict[str, int] = {}
        self.users: dict[str, MailUser] = {}
        self._fresh_numbers = itertools.count(1)
        self._file_numbers = itertools.count(1)  # unique Maildir file names across bulk_load calls
        self._process: ServerProcess | None = None
        self._log_checked_size = 0
        for directory in (self.base_dir, self.state_dir, self.home_root, self.passwd_dir):
            directory.mkdir(mode=0o755)
            directory.chmod(0o755)
        for user in users:
            self._register(user)

    # ----- the default users -------------------------------------------------
    @property
    def alice(self) -> MailUser:
        return self.users["alice@" + DOMAIN]

    @property
    def bob(self) -> MailUser:
        return self.users["bob@" + DOMAIN]

    @property
    def gmail(self) -> MailUser:
        return self.users["gmail@" + DOMAIN]

    # ----- lifecycle -----------------------------------------------------------
    def start(self, attempts: int = 5) -> Dovecot:
        for attempt in range(attempts):
            names = ["imap", "imaps", "lmtp"] if self.tls else ["imap", "lmtp"]
            self.ports = dict(zip(names, free_ports(len(names))))
            self.config_path.write_text(self._config())
            (self.base_dir / "master.pid").unlink(missing_ok=True)
            self._process = ServerProcess(
                self.name, [DOVECOT, "-F", "-c", str(self.config_path)], self.log_path,
                pid_file=self.base_dir / "master.pid")
            self._process.spawn()
            try:
                self._process.wait_until(self._listening, what="its listeners")
                self._log_checked_size = self.log_path.stat().st_size
                return self
            except ServerStartError:
                self._process.stop(graceful=False)
                if "Address already in use" in self.log_tail() and attempt + 1 < attempts:
                    continue  # another process took a port between our probe and the bind
                raise
        raise AssertionError("unreachable")

    def _listening(self) -> bool:
        return (self.base_dir / "master.pid").exists() and all(
            port_accepts(port) for port in self.ports.values())

    def stop(self, *, graceful: bool = False, remove: bool = True) -> None:
        """Stop the master by the PID in master.pid and remove the instance's files.

        By default SIGKILL goes to the master's process group (the group id is that
        PID), which ends Dovecot and its helpers at once; graceful=True sends SIGTERM
        and waits for Dovecot's own shutdown, which takes about a second.
        """
        if self._process is not None:
            self._process.stop(graceful=graceful)
        if remove:
            remove_dir(self.root)

    def check_alive(self) -> None:
        """Raise ServerDied (with the log tail) if the master exited or a process panicked."""
        super().check_alive()
        crashes = [line for line in self._new_log_lines()
                   if " Panic: " in line or " Fatal: " in line]
        if crashes:
            raise ServerDied(f"{self.name} logged a crash:\n" + "\n".join(crashes)
                             + f"\nlast lines of {self.log_path}:\n{self.log_tail()}")

    def _new_log_lines(self) -> list[str]:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_checked_size)
                data = log.read()
        except FileNotFoundError:
            return []
        self._log_checked_size += len(data)
        return data.decode(errors="replace").splitlines()

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_path, lines)

    # ----- configuration ------------------------------------------------------
    def _config(self) -> str:
        ssl_lines = (
            "ssl = yes\n"
            f"ssl_cert = <{self.cert.cert}\n"
            f"ssl_key = <{self.cert.key}\n"
            "ssl_min_protocol = TLSv1.2\n"
            + (f"ssl_dh = <{DH_PARAMS}\n" if DH_PARAMS.exists() else "")
        ) if self.tls else "ssl = no\n"
        mechanisms, passdbs, password_mechanisms = "plain login", "", ""
        if self.oauth2_introspection_url:
            mechanisms = "plain login xoauth2 oauthbearer"
            passdbs = (f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                       f"  args = {self._write_oauth2_args()}\n}}\n")
            password_mechanisms = "  mechanisms = plain login\n"  # never a token as a password
        capability_block = (f"protocol imap {{\n  imap_capability = {self.capabilities}\n}}\n"
                            if self.capabilities else "")
        imaps = (f"  inet_listener imaps {{\n    address = {HOST}\n"
                 f"    port = {self.ports['imaps']}\n    ssl = yes\n  }}\n") if self.tls else ""
        return f"""# Generated for one test run; see tests/servers/dovecot.py.
base_dir = {self.base_dir}
state_dir = {self.state_dir}
instance_name = {self.instance_name}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
protocols = imap lmtp
listen = {HOST}
hostname = localhost
{ssl_lines}
auth_mechanisms = {mechanisms}
auth_verbose = yes
auth_failure_delay = 0
{passdbs}passdb {{
  driver = passwd-file
{password_mechanisms}  args = scheme=PLAIN {self.passwd_dir}/%u
}}
userdb {{
  driver = passwd-file
  args = {self.passwd_dir}/%u
}}
first_valid_uid = {MAIL_UID}
first_valid_gid = {MAIL_GID}
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 500
{_namespace("inbox", STANDARD_FOLDERS, disabled=False)}
{_namespace("gmail", GMAIL_FOLDERS, disabled=True)}
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
service anvil {{
  # No growing delays after failed logins: tests fail logins on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{capability_block}service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.ports['imap']}
  }}
{imaps}}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {self.ports['lmtp']}
  }}
}}
"""

    def _write_oauth2_args(self) -> Path:
        """The oauth2 passdb's settings: ask the introspection endpoint about every token."""
        path = self.root / "dovecot-oauth2.conf.ext"
        path.write_text(
            f"introspection_url = {self.oauth2_introspection_url}\n"
            "introspection_mode = post\n"
            "force_introspection = yes\n"
            "username_attribute = username\n"
            "active_attribute = active\n"
            "active_value = true\n"
            "timeout_msecs = 5000\n"
        )
        path.chmod(0o644)  # read by the unprivileged auth process
        return path

    # ----- users ----------------------------------------------------------------
    def _register(self, user: MailUser) -> None:
        if user.kind not in KINDS:
            raise ValueError(f"unknown user kind {user.kind!r}")
        if user.address in self.users:
            raise ValueError(f"{user.address} already exists")
        if ":" in user.address + user.password or "/" in user.address:
            raise ValueError("passwd-file fields cannot contain ':' (nor the address a '/')")
        home = self.home_dir(user)
        home.mkdir(mode=0o700)
        os.chown(home, MAIL_UID, MAIL_GID)
        # Dovecot would create the special-use folders lazily; creating them now
        # makes LIST show them (and Gmail's \Noselect "[Gmail]" parent) from the start.
        for folder in ("INBOX", *user.folders):
            self._make_maildir(user, folder)
        self._write_passwd(user)
        self.users[user.address] = user

    def home_dir(self, user: MailUser | str) -> Path:
        return self.home_root / self._address(user)

    def passwd_file(self, user: MailUser | str) -> Path:
        return self.passwd_dir / self._address(user)

    def _write_passwd(self, user: MailUser) -> None:
        # One file per user (passwd-file args with %u): a new user is known at the
        # next lookup, whereas Dovecot re-reads a shared passwd-file at most once
        # a second. The SMTP test server checks passwords against the same files.
        extra = ("userdb_namespace/inbox/disabled=yes userdb_namespace/gmail/disabled=no"
                 if user.kind == "gmail" else "")
        self._write_passwd_line(user.address, f"{user.address}:{{PLAIN}}{user.password}:{MAIL_UID}:"
                                              f"{MAIL_GID}::{self.home_dir(user)}::{extra}\n")

    def _write_passwd_line(self, address: str, line: str) -> None:
        path = self.passwd_file(address)
        temporary = path.with_name("." + path.name + ".new")
        temporary.write_text(line)
        temporary.chmod(0o644)  # the unprivileged auth process must read it
        os.replace(temporary, path)

    def add_user(self, kind: str = "standard", *, address: str | None = None,
                 password: str | None = None) -> MailUser:
        """Create a user with an empty mailbox, usable at once (Dovecot re-reads the passwd-file)."""
        if address is None:
            prefix = "gmail" if kind == "gmail" else "user"
            address = f"{prefix}{next(self._fresh_numbers)}-{secrets.token_hex(3)}@{DOMAIN}"
        user = MailUser(address, password or f"pw-{secrets.token_urlsafe(12)}", kind)
        self._register(user)
        return user

    def add_alias(self, user: MailUser | str, alias: str) -> str:
        """Deliver mail for `alias` into `user`'s mailbox, as a provider's alias does: a userdb
        entry with the user's home (no login). LMTP delivery to it records `Delivered-To: <alias>`."""
        if alias in self.users or ":" in alias or "/" in alias:
            raise ValueError(f"{alias!r} cannot be an alias")
        self._write_passwd_line(alias, f"{alias}:{{PLAIN}}{secrets.token_urlsafe(12)}:{MAIL_UID}:{MAIL_GID}::"
                                       f"{self.home_dir(user)}::nologin=y\n")
        return alias

    def _address(self, user: MailUser | str) -> str:
        return user.address if isinstance(user, MailUser) else user

    def _user(self, user: MailUser | str) -> MailUser:
        return self.users[self._address(user)]

    # ----- clients ----------------------------------------------------------------
    def connect(self, user: MailUser | str | None = None, *, mode: str = "imaps",
                ssl_context: ssl.SSLContext | None = None) -> IMAPClient:
        """An IMAPClient (logged in as `user` if given) over "imaps", "starttls" or "plain".

        TLS is verified against the test CA with hostname checks. Use it as a
        context manager so it logs out.
        """
        context = ssl_context or self.ca.client_context()
        if mode == "imaps":
            client = IMAPClient(self.hostname, port=self.ports["imaps"], ssl=True,
                                ssl_context=context, timeout=TIMEOUT)
        elif mode in ("starttls", "plain"):
            client = IMAPClient(self.hostname, port=self.ports["imap"], ssl=False,
                                timeout=TIMEOUT)
            if mode == "starttls":
                client.starttls(context)
        else:
            raise ValueError(f"unknown mode {mode!r}")
        if user is not None:
            account = self._user(user)
            client.login(account.login, account.password)
        return client

    def _seed_client(self, user: MailUser | str) -> IMAPClient:
        return self.connect(user, mode="imaps" if self.tls else "plain")

    # ----- seeding ------------------------------------------------------------------
    def append(self, user: MailUser | str, folder: str, message: bytes,
               flags: Iterable[str | bytes] = (), date: dt.datetime | None = None) -> int:
        """IMAP APPEND one message; returns its UID. `date` is the INTERNALDATE."""
        return self.append_many(user, folder, [(message, flags, date)])[0]

    def append_many(self, user: MailUser | str, folder: str,
                    messages: Iterable[bytes | tuple]) -> list[int]:
        """APPEND several messages over one connection; returns their UIDs in order.

        Each item is the message bytes, or a (bytes, flags[, date]) tuple.
        """
        uids = []
        with self._seed_client(user) as client:
            for item in messages:
                parts = [item] if isinstance(item, bytes) else list(item)
                message = parts[0]
                flags = parts[1] if len(parts) > 1 else ()
                date = parts[2] if len(parts) > 2 else None
                response = client.append(folder, message, flags=tuple(flags), msg_time=date)
                match = _APPENDUID.search(response)
                if match is None:
                    raise AssertionError(f"APPEND to {folder!r} gave no APPENDUID: {response!r}")
                uids.append(int(match.group(2)))
        return uids

    def deliver(self, recipients: str | MailUser | Sequence[str | MailUser], message: bytes,
                sender: str = f"sender@{DOMAIN}") -> None:
        """Deliver through Dovecot's LMTP listener, as an MTA would (lands in INBOX)."""
        if isinstance(recipients, (str, MailUser)):
            recipients = [recipients]
        for recipient in recipients:  # one transaction each: LMTP answers DATA per recipient
            with smtplib.LMTP(HOST, self.ports["lmtp"], timeout=TIMEOUT) as lmtp:
                lmtp.sendmail(sender, [self._address(recipient)], message)

    def bulk_load(self, user: MailUser | str, folder: str, messages: Iterable[bytes], *,
                  flags: Iterable[str] = ("\\Seen",), date: dt.datetime | None = None) -> int:
        """Write messages straight into the Maildir (fast, for big benchmark mailboxes).

        Dovecot assigns UIDs when it next looks at the folder. Returns how many were written.
        """
        folder_dir = self._make_maildir(user, folder)
        tag = "".join(sorted(_MAILDIR_FLAGS[flag] for flag in flags))
        stamp = (date or dt.datetime.now(dt.timezone.utc)).timestamp()
        count = 0
        for count, message in enumerate(messages, 1):
            path = folder_dir / "cur" / (f"{int(stamp)}.M{next(self._file_numbers)}P{os.getpid()}"
                                         f".tamago,S={len(message)}:2,{tag}")
            path.write_bytes(message)
            os.utime(path, (stamp, stamp))  # a Maildir keeps INTERNALDATE as the file's mtime
            os.chown(path, MAIL_UID, MAIL_GID)
        return count

    def _make_maildir(self, user: MailUser | str, folder: str) -> Path:
        folder_dir = self.maildir(user, folder)
        for sub in ("cur", "new", "tmp"):
            self._make_mail_dirs(user, folder_dir / sub)
        if folder.upper() != "INBOX":
            marker = folder_dir / "maildirfolder"
            if not marker.exists():
                marker.touch()
                os.chown(marker, MAIL_UID, MAIL_GID)
        return folder_dir

    def _make_mail_dirs(self, user: MailUser | str, path: Path) -> None:
        """mkdir -p below the user's home, every new directory owned by the mail user."""
        home = self.home_dir(user)
        missing = []
        while not path.exists() and path != home:
            missing.append(path)
            path = path.parent
        for directory in reversed(missing):
            directory.mkdir(mode=0o700)
            os.chown(directory, MAIL_UID, MAIL_GID)

    def maildir(self, user: MailUser | str, folder: str) -> Path:
        """The Maildir++ directory of `folder` (separator "/" on IMAP, "." on disk)."""
        root = self.home_dir(user) / "Maildir"
        if folder.upper() == "INBOX":
            return root
        if "." in folder:
            raise ValueError("Maildir++ cannot hold a '.' in a folder name")
        return root / ("." + folder.replace("/", "."))

    # ----- doveadm --------------------------------------------------------------------
    def doveadm(self, *args: str, formatter: str | None = None,
                input: bytes | None = None) -> str:
        """Run `doveadm -c CONF [-f formatter] ARGS...` against this instance; returns stdout."""
        argv = [DOVEADM, "-c", str(self.config_path)]
        if formatter:
            argv += ["-f", formatter]
        argv += list(args)
        result = subprocess.run(argv, input=input, capture_output=True, timeout=30)
        if result.returncode != 0:
            raise DoveadmError(f"{' '.join(argv[3:])} failed ({result.returncode}): "
                               f"{result.stderr.decode(errors='replace').strip()}")
        return result.stdout.decode(errors="replace")

    def status(self, user: MailUser | str, folder: str) -> dict[str, int]:
        """messages, recent, uidnext, uidvalidity, unseen, highestmodseq of `folder`."""
        fields = ["messages", "recent", "uidnext", "uidvalidity", "unseen", "highestmodseq"]
        out = self.doveadm("mailbox", "status", "-u", self._address(user), " ".join(fields),
                           folder, formatter="tab")
        header, values = out.strip("\n").split("\n")[:2]
        row = dict(zip(header.split("\t"), values.split("\t")))
        return {key: int(row[key]) for key in fields}

    def create_folder(self, user: MailUser | str, folder: str) -> None:
        self.doveadm("mailbox", "create", "-u", self._address(user), "-s", folder)

    def delete_folder(self, user: MailUser | str, folder: str) -> None:
        self.doveadm("mailbox", "delete", "-u", self._address(user), "-s", folder)

    def set_uidvalidity(self, user: MailUser | str, folder: str, value: int | None = None) -> int:
        """Change the folder's UIDVALIDITY (messages stay); returns the new value."""
        if value is None:
            value = self.status(user, folder)["uidvalidity"] + 1
        self.doveadm("mailbox", "update", "-u", self._address(user), "--uid-validity",
                     str(value), folder)
        return value

    def recreate_folder(self, user: MailUser | str, folder: str) -> int:
        """Delete the folder and create it again, empty; returns its new UIDVALIDITY."""
        old = self.status(user, folder)["uidvalidity"]
        self.delete_folder(user, folder)
        self.create_folder(user, folder)
        new = self.status(user, folder)["uidvalidity"]
        if new == old:  # Dovecot derives it from the clock, so the same second could repeat it
            new = self.set_uidvalidity(user, folder, old + 1)
        return new

    def wait_for_message(self, user: MailUser | str, folder: str = "INBOX", *,
                         count: int = 1, timeout: float = TIMEOUT) -> dict[str, int]:
        """Poll until `folder` holds at least `count` messages; returns its status."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.status(user, folder)
            if state["messages"] >= count:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{folder} of {self._address(user)} has "
                                     f"{state['messages']} messages, expected {count}")
            time.sleep(0.05)
