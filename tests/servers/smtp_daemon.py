"""The SMTP submission test server, run as its own process: `python smtp_daemon.py CONFIG.json`.

Built on aiosmtpd. Tests do not import this module; they use tests/servers/smtp.py,
which writes the config, starts this process and talks to its control socket.

Listeners (all on 127.0.0.1, port 0 = pick a free one; the chosen ports are
written to the "ready" file once every listener is bound):
- "submission": STARTTLS offered; AUTH PLAIN/LOGIN only after STARTTLS;
- "smtps":      implicit TLS; AUTH PLAIN/LOGIN;
- "plain":      no TLS at all and no STARTTLS; AUTH is neither offered nor accepted.
Every listener requires AUTH before MAIL. Credentials are checked against
Dovecot's per-user passwd-files. Accepted mail for a local user (one with a
passwd-file) is handed to Dovecot over LMTP, then every accepted message is
written to the spool directory (NNNNNN.eml plus NNNNNN.json with the envelope).

Control socket (unix, one JSON object per line, one JSON answer per line):
  {"op": "configure", <option>: <value>, ...}   change options (others keep their value)
  {"op": "reset"}                               options back to defaults, spool emptied
  {"op": "state"}                               current options
With "oauth2_introspection_url" in the config, AUTH XOAUTH2 and OAUTHBEARER
(RFC 7628) are offered as well: each bearer token is POSTed to that RFC 7662
introspection endpoint and must be active for the user named in the message.
A refused token gets the mechanism's JSON error challenge, then 535 5.7.8.

Options: reject_recipients [addresses -> 550 5.1.1], reject_senders [MAIL FROM
addresses -> 553 5.7.1, as a server that does not let the login send as them], tempfail [count of next
transactions answered 451], tempfail_stage ["mail", "rcpt" or "data"],
drop_after_data [count of next transactions whose connection is dropped after the
message was delivered and spooled, instead of sending the 250], size_limit
[bytes advertised as SIZE and enforced; 0 = no limit].
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import os
import smtplib
import ssl
import sys
import warnings
from pathlib import Path

import urllib.parse
import urllib.request

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

DEFAULT_OPTIONS = {
    "reject_recipients": [],
    "reject_senders": [],
    "tempfail": 0,
    "tempfail_stage": "data",
    "drop_after_data": 0,
    "size_limit": 33554432,
}
STAGES = ("mail", "rcpt", "data")
TEMPFAIL = "451 4.3.0 Temporary failure, please try again later"
log = logging.getLogger("tamago.smtp")


class Options:
    def __init__(self):
        self.values = json.loads(json.dumps(DEFAULT_OPTIONS))

    def configure(self, changes: dict) -> None:
        unknown = set(changes) - set(DEFAULT_OPTIONS)
        if unknown:
            raise ValueError(f"unknown options: {sorted(unknown)}")
        if changes.get("tempfail_stage", "data") not in STAGES:
            raise ValueError(f"tempfail_stage must be one of {STAGES}")
        for key in ("tempfail", "drop_after_data", "size_limit"):
            if key in changes and (not isinstance(changes[key], int) or changes[key] < 0):
                raise ValueError(f"{key} must be a non-negative integer")
        for key in ("reject_recipients", "reject_senders"):
            if key in changes:
                changes = dict(changes, **{key: [address.lower() for address in changes[key]]})
        self.values.update(changes)

    def take(self, counter: str) -> bool:
        """Use up one of the next-N-transactions counters, if any is left."""
        if self.values[counter] > 0:
            self.values[counter] -= 1
            return True
        return False


class Users:
    """Looks logins up in Dovecot's passwd-files, one file per user, named by address."""

    def __init__(self, passwd_dir: Path):
        self.passwd_dir = passwd_dir

    def _entry(self, address: str) -> list[str] | None:
        name = address.strip().lower()
        if not name or "/" in name or name.startswith("."):
            return None
        try:
            line = (self.passwd_dir / name).read_text().splitlines()[0]
        except (FileNotFoundError, IndexError):
            return None
        return line.split(":")

    def is_local(self, address: str) -> bool:
        return self._entry(address) is not None

    def check(self, login: str, password: str) -> bool:
        entry = self._entry(login)
        if entry is None or not entry[1].startswith("{PLAIN}"):
            return False
        return hmac.compare_digest(entry[1][len("{PLAIN}"):].encode(), password.encode())


class Handler:
    def __init__(self, options: Options, users: Users, lmtp: tuple[str, int] | None,
                 spool: Path):
        self.options = options
        self.users = users
        self.lmtp = lmtp
        self.spool = spool
        self.sequence = len(list(spool.glob("*.json")))

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.options.values["tempfail_stage"] == "mail" and self.options.take("tempfail"):
            return TEMPFAIL
        if address.lower() in self.options.values["reject_senders"]:
            # Postfix's reject_sender_login_mismatch wording: "send as" is not allowed.
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user {session.auth_data}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.options.values["reject_recipients"]:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.options.values["tempfail_stage"] == "rcpt":
            if getattr(envelope, "tempfailed", False) or self.options.take("tempfail"):
                envelope.tempfailed = True
                return TEMPFAIL
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.options.values["tempfail_stage"] == "data" and self.options.take("tempfail"):
            return TEMPFAIL
        local = [rcpt for rcpt in envelope.rcpt_tos if self.users.is_local(rcpt)]
        try:
            await asyncio.get_running_loop().run_in_executor(
                None, self._deliver, envelope.mail_from, local, envelope.original_content)
        except (OSError, smtplib.SMTPException) as error:
            log.error("LMTP delivery to %s failed: %r", local, error)
            return f"451 4.3.0 Local delivery failed: {error}"
        self._spool(server, session, envelope, local)
        if self.options.take("drop_after_data"):
            log.info("dropping the connection instead of answering DATA, as configured")
            server.transport.abort()
            return "250 2.0.0 OK (never sent: the connection is gone)"
        return f"250 2.0.0 OK queued as {self.sequence:06d}"

    def _deliver(self, sender: str, recipients: list[str], content: bytes) -> None:
        if not recipients or self.lmtp is None:
            return
        for recipient in recipients:  # one transaction each: LMTP answers DATA per recipient
            with smtplib.LMTP(*self.lmtp, timeout=10) as lmtp:
                lmtp.sendmail(sender, [recipient], content)

    def _spool(self, server, session, envelope, delivered: list[str]) -> None:
        self.sequence += 1
        stem = self.spool / f"{self.sequence:06d}"
        stem.with_suffix(".eml").write_bytes(envelope.original_content)
        record = {
            "sequence": self.sequence,
            "listener": server.tamago_listener,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "auth_user": session.auth_data if isinstance(session.auth_data, str) else None,
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "delivered": delivered,
        }
        temporary = stem.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(record))
        os.replace(temporary, stem.with_suffix(".json"))  # the .json appears last, complete


class OAuthHandler(Handler):
    """Handler plus AUTH XOAUTH2 / OAUTHBEARER (aiosmtpd finds `auth_*` methods on the handler)."""

    def __init__(self, *args, introspection_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.introspection_url = introspection_url

    def _active_for(self, user: str, token: str) -> bool:
        data = urllib.parse.urlencode({"token": token}).encode()
        request = urllib.request.Request(self.introspection_url, data=data)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=5) as response:
            answer = json.loads(response.read())
        return answer.get("active") is True and str(answer.get("username", "")).lower() == user.lower()

    async def _message(self, server, args) -> bytes | None:
        if len(args) > 1:
            try:
                return base64.b64decode(args[1], validate=True)
            except binascii.Error:
                return None
        blob = await server.challenge_auth("")
        return None if blob is MISSING else blob

    async def _check(self, server, mechanism: str, user: str, token: str, error: dict) -> AuthResult:
        try:
            ok = bool(user and token) and await asyncio.get_running_loop().run_in_executor(
                None, self._active_for, user, token)
        except OSError as exc:
            log.error("introspection failed: %r", exc)
            return AuthResult(success=False, handled=False, message="454 4.7.0 Temporary authentication failure")
        if ok:
            return AuthResult(success=True, auth_data=user.lower())
        log.info("AUTH %s refused for %r", mechanism, user)
        # RFC 7628 3.2.2 / Google's XOAUTH2: a JSON error challenge, then the verdict.
        if await server.challenge_auth(json.dumps(error)) is MISSING:
            return AuthResult(success=False, handled=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")

    async def auth_XOAUTH2(self, server, args) -> AuthResult:
        message = await self._message(server, args)
        if message is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        fields = dict(part.split("=", 1) for part in message.decode("utf-8", "replace").split("\x01")
                      if "=" in part)
        token = fields.get("auth", "")
        token = token[7:] if token.lower().startswith("bearer ") else ""
        return await self._check(server, "XOAUTH2", fields.get("user", ""), token,
                                 {"status": "401", "schemes": "bearer", "scope": "mail"})

    async def auth_OAUTHBEARER(self, server, args) -> AuthResult:
        message = await self._message(server, args)
        if message is None:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Can't decode base64")
        gs2, _, rest = message.decode("utf-8", "replace").partition("\x01")
        user = ""
        for part in gs2.split(","):
            if part.startswith("a="):
                user = part[2:].replace("=2C", ",").replace("=3D", "=")
        fields = dict(part.split("=", 1) for part in rest.split("\x01") if "=" in part)
        token = fields.get("auth", "")
        token = token[7:] if token.lower().startswith("bearer ") else ""
        return await self._check(server, "OAUTHBEARER", user, token,
                                 {"status": "invalid_token", "scope": "mail"})


def make_authenticator(users: Users):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        if users.check(login, password):
            return AuthResult(success=True, auth_data=login.lower())
        log.info("AUTH %s failed for %r", mechanism, login)
        return AuthResult(success=False, handled=False)
    return authenticator


class ControlServer:
    def __init__(self, options: Options, spool: Path):
        self.options = options
        self.spool = spool

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(json.dumps(self.answer(line)).encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()

    def answer(self, line: bytes) -> dict:
        try:
            request = json.loads(line)
            op = request.pop("op")
            if op == "configure":
                self.options.configure(request)
            elif op == "reset":
                self.options.values = Options().values
                for path in self.spool.iterdir():
                    path.unlink()
            elif op != "state":
                raise ValueError(f"unknown op {op!r}")
            return {"ok": True, "options": self.options.values}
        except (ValueError, KeyError, TypeError) as error:
            return {"ok": False, "error": str(error)}


async def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())
    # The implicit-TLS listener requires AUTH without aiosmtpd's STARTTLS check, on purpose.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.basicConfig(level=logging.INFO, stream=sys.stdout,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = Options()
    users = Users(Path(config["passwd_dir"]))
    spool = Path(config["spool"])
    spool.mkdir(exist_ok=True)
    lmtp = tuple(config["lmtp"]) if config.get("lmtp") else None
    if config.get("oauth2_introspection_url"):
        handler = OAuthHandler(options, users, lmtp, spool,
                               introspection_url=config["oauth2_introspection_url"])
    else:
        handler = Handler(options, users, lmtp, spool)
    authenticator = make_authenticator(users)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(config["cert"], config["key"])
    loop = asyncio.get_running_loop()

    def factory(listener: str):
        def make() -> SMTP:
            smtp = SMTP(
                handler,
                hostname="localhost",
                ident="tamago test SMTP",
                tls_context=tls if listener == "submission" else None,
                require_starttls=False,
                # implicit TLS: the whole connection is encrypted, which aiosmtpd cannot see
                auth_require_tls=listener != "smtps",
                auth_required=True,
                authenticator=authenticator,
                data_size_limit=options.values["size_limit"] or None,
                enable_SMTPUTF8=True,
                timeout=60,
            )
            smtp.tamago_listener = listener
            return smtp
        return make

    ports = {}
    servers = []
    for listener, port in config["ports"].items():
        server = await loop.create_server(
            factory(listener), config["host"], port, ssl=tls if listener == "smtps" else None)
        servers.append(server)
        ports[listener] = server.sockets[0].getsockname()[1]
    control = ControlServer(options, spool)
    servers.append(await asyncio.start_unix_server(control.serve, path=config["control"]))

    ready = Path(config["ready"])
    ready.with_suffix(".tmp").write_text(json.dumps({"ports": ports, "pid": os.getpid()}))
    os.replace(ready.with_suffix(".tmp"), ready)
    log.info("listening on %s", ports)
    await asyncio.Event().wait()  # until SIGTERM


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1]))
    except KeyboardInterrupt:
        pass
