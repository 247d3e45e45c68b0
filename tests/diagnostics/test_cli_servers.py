"""`tamago doctor` and `tamago accounts` as subprocesses against the real servers.

Every test checks the exit code and, where a password was given, that it
appears neither in the output nor in any file under TAMAGO_HOME.
"""

from __future__ import annotations

import json
import tomllib

import pytest

from tests.diagnostics.clihelp import assert_doctor_shape, home_files_contain, tamago
from tests.diagnostics.serverhelp import assert_no_login_attempt, imap_login_log_since, leaf_fingerprint, log_size

pytestmark = pytest.mark.servers

# The encrypted secret store is what a headless machine uses (the tests' keyring is the fail backend).
MASTER = {"TAMAGO_MASTER_PASSWORD": "master-passphrase-for-tests"}


def server_options(dovecot, smtp_server, *, imap="imaps", smtp="submission") -> list[str]:
    imap_security = {"imaps": "ssl", "imap": "starttls"}[imap]
    smtp_security = {"smtps": "ssl", "submission": "starttls", "plain": "starttls"}[smtp]
    return [
        "--imap-host", "localhost", "--imap-port", str(dovecot.ports[imap]), "--imap-security", imap_security,
        "--smtp-host", "localhost", "--smtp-port", str(smtp_server.ports[smtp]), "--smtp-security", smtp_security,
    ]


def assert_secret_kept(done, home, password: str) -> None:
    assert password not in done.stdout
    assert password not in done.stderr
    assert home_files_contain(home, password) == []


@pytest.mark.parametrize("imap,smtp", [("imaps", "smtps"), ("imap", "submission")])
def test_doctor_passes_in_both_tls_modes(dovecot, smtp_server, test_ca, tamago_home, imap, smtp):
    user = dovecot.alice
    done = tamago("doctor", user.address, *server_options(dovecot, smtp_server, imap=imap, smtp=smtp),
                  "--cafile", str(test_ca.cafile), "--password-stdin", "--json", stdin=user.password + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert_doctor_shape(data)
    assert data["ok"] is True and data["category"] is None
    logins = [s for s in data["steps"] if s["name"] == "Login"]
    assert [(s["protocol"], s["status"]) for s in logins] == [("imap", "ok"), ("smtp", "ok")]
    assert_secret_kept(done, tamago_home, user.password)


def test_doctor_prints_a_live_checklist(dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.alice
    done = tamago("doctor", user.address, *server_options(dovecot, smtp_server), "--cafile", str(test_ca.cafile),
                  "--password-stdin", stdin=user.password + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("[ ok ] IMAP TLS handshake  TLSv1.") for line in lines)
    assert any(line.startswith("[ ok ] SMTP STARTTLS  offered and used") for line in lines)
    assert any(line.startswith("[ ok ] IMAP Folders") and "\\Sent Sent" in line for line in lines)
    assert lines[-1] == "Result: all checks passed."
    assert_secret_kept(done, tamago_home, user.password)
    assert (tamago_home / "config.toml").exists() is False  # doctor saves nothing


def test_doctor_bad_password(dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.alice
    wrong = "definitely-wrong-" + user.password
    done = tamago("doctor", user.address, *server_options(dovecot, smtp_server), "--cafile", str(test_ca.cafile),
                  "--password-stdin", "--json", stdin=wrong + "\n")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["category"] == "invalid_credentials"
    failed = [s for s in data["steps"] if s["status"] == "fail"]
    assert [(s["protocol"], s["name"], s["category"]) for s in failed] == [
        ("imap", "Login", "invalid_credentials"), ("smtp", "Login", "invalid_credentials")]
    assert_secret_kept(done, tamago_home, wrong)


def test_doctor_without_a_password_stops_before_login(dovecot, smtp_server, test_ca):
    done = tamago("doctor", dovecot.alice.address, *server_options(dovecot, smtp_server),
                  "--cafile", str(test_ca.cafile), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    logins = {s["protocol"]: s for s in data["steps"] if s["name"] == "Login"}
    assert logins["imap"]["status"] == "skipped" and "no password" in logins["imap"]["detail"]
    assert logins["smtp"]["status"] == "skipped"


def test_doctor_looks_the_servers_up(dns_server, dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.alice
    done = tamago("doctor", user.address, "--nameserver", dns_server.nameserver, "--cafile", str(test_ca.cafile),
                  "--password-stdin", stdin=user.password + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("Servers: IMAP mail.example.test:") and "looked up" in first
    assert "hostname mail.example.test matches: yes" in done.stdout
    assert_secret_kept(done, tamago_home, user.password)


def test_doctor_untrusted_certificate_then_pinned(dovecot_factory, smtp_server, test_ca, tamago_home):
    server = dovecot_factory(cert="self_signed")
    user = server.alice
    fingerprint = leaf_fingerprint(test_ca, "self_signed")
    base = ["doctor", user.address, "--only", "imap", "--imap-host", "localhost",
            "--imap-port", str(server.ports["imaps"]), "--imap-security", "ssl", "--password-stdin"]
    failed = tamago(*base, stdin=user.password + "\n")
    assert failed.returncode == 1
    assert "(category: certificate_invalid)" in failed.stdout
    assert f"--imap-pin {fingerprint}" in failed.stdout  # the hint is ready to paste

    pinned = tamago(*base, "--imap-pin", fingerprint, "--json", stdin=user.password + "\n")
    assert pinned.returncode == 0, pinned.stdout
    assert json.loads(pinned.stdout)["ok"] is True
    assert_secret_kept(pinned, tamago_home, user.password)


def test_doctor_refuses_to_log_in_when_starttls_is_missing(dovecot_factory, test_ca, tamago_home):
    server = dovecot_factory(starttls=False)
    user = server.alice
    offset = log_size(server)
    done = tamago("doctor", user.address, "--only", "imap", "--imap-host", "localhost",
                  "--imap-port", str(server.ports["imap"]), "--imap-security", "starttls",
                  "--cafile", str(test_ca.cafile), "--password-stdin", "--json", stdin=user.password + "\n")
    assert done.returncode == 1
    assert json.loads(done.stdout)["category"] == "starttls_unavailable"
    assert_no_login_attempt(imap_login_log_since(server, offset))
    assert_secret_kept(done, tamago_home, user.password)


def test_doctor_times_out_on_a_server_that_never_greets(listen, fakes):
    listener = listen(fakes.silent)
    done = tamago("doctor", "someone@example.test", "--only", "smtp", "--smtp-host", "127.0.0.1",
                  "--smtp-port", str(listener.port), "--smtp-security", "starttls", "--timeout", "0.5", "--json")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["category"] == "timeout"
    assert [s["name"] for s in data["steps"] if s["status"] == "fail"] == ["Greeting"]


# ----- accounts ---------------------------------------------------------------------------------


def account_table(home, name: str) -> dict:
    config = tomllib.loads((home / "config.toml").read_text())
    return config["accounts"][name]


def test_accounts_add_test_and_remove(dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.alice
    added = tamago("accounts", "add", user.address, "--name", "alice", *server_options(dovecot, smtp_server),
                   "--cafile", str(test_ca.cafile), "--password-stdin", stdin=user.password + "\n", env=MASTER)
    assert added.returncode == 0, added.stdout + added.stderr
    assert "[ ok ] IMAP Login" in added.stdout
    table = account_table(tamago_home, "alice")
    assert table["folders"] == ["INBOX", "Sent"]
    assert table["imap"]["port"] == dovecot.ports["imaps"]
    assert_secret_kept(added, tamago_home, user.password)  # the store under TAMAGO_HOME is encrypted

    listed = json.loads(tamago("accounts", "list", "--json").stdout)
    assert [(a["name"], a["status"]) for a in listed] == [("alice", "connected")]

    tested = tamago("accounts", "test", "alice", "--json", env=MASTER)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    data = json.loads(tested.stdout)
    assert_doctor_shape(data)
    assert data["ok"] is True
    assert_secret_kept(tested, tamago_home, user.password)

    removed = tamago("accounts", "remove", "alice", env=MASTER)
    assert removed.returncode == 0, removed.stderr
    assert json.loads(tamago("accounts", "list", "--json").stdout) == []
    assert "alice" not in tomllib.loads((tamago_home / "config.toml").read_text()).get("accounts", {})


def test_accounts_add_gmail_like_picks_all_mail(dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.gmail
    added = tamago("accounts", "add", user.address, "--name", "g", *server_options(dovecot, smtp_server),
                   "--cafile", str(test_ca.cafile), "--password-stdin", stdin=user.password + "\n", env=MASTER)
    assert added.returncode == 0, added.stdout + added.stderr
    assert account_table(tamago_home, "g")["folders"] == ["[Gmail]/All Mail"]


def test_accounts_add_with_a_bad_password_saves_nothing(dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.alice
    wrong = "nope-" + user.password
    added = tamago("accounts", "add", user.address, *server_options(dovecot, smtp_server),
                   "--cafile", str(test_ca.cafile), "--password-stdin", "--json", stdin=wrong + "\n", env=MASTER)
    assert added.returncode == 1
    assert json.loads(added.stdout)["category"] == "invalid_credentials"
    assert json.loads(tamago("accounts", "list", "--json").stdout) == []
    assert not (tamago_home / "secrets.enc").exists()
    assert_secret_kept(added, tamago_home, wrong)


def test_accounts_test_records_a_failure(dovecot, smtp_server, test_ca, tamago_home):
    user = dovecot.alice
    wrong = "stale-" + user.password  # as if the password changed after the account was added
    added = tamago("accounts", "add", user.address, "--name", "stale", *server_options(dovecot, smtp_server),
                   "--cafile", str(test_ca.cafile), "--password-stdin", "--no-test", stdin=wrong + "\n", env=MASTER)
    assert added.returncode == 0, added.stderr
    tested = tamago("accounts", "test", "stale", env=MASTER)
    assert tested.returncode == 1
    assert "[FAIL] IMAP Login" in tested.stdout
    listed = json.loads(tamago("accounts", "list", "--json").stdout)
    assert listed[0]["status"] == "failing" and listed[0]["category"] == "invalid_credentials"
    assert listed[0]["last_error"].startswith("IMAP Login: ")
    assert_secret_kept(tested, tamago_home, wrong)


def test_accounts_pin_makes_a_saved_account_pass(dovecot_factory, smtp_server, test_ca, tamago_home):
    server = dovecot_factory(cert="wrong_host")
    user = server.alice
    added = tamago("accounts", "add", user.address, "--name", "w", "--imap-host", "localhost",
                   "--imap-port", str(server.ports["imaps"]), "--imap-security", "ssl",
                   "--smtp-host", "localhost", "--smtp-port", str(smtp_server.ports["submission"]),
                   "--cafile", str(test_ca.cafile), "--password-stdin", "--no-test",
                   stdin=user.password + "\n", env=MASTER)
    assert added.returncode == 0, added.stderr
    first = tamago("accounts", "test", "w", "--only", "imap", "--json", env=MASTER)
    assert json.loads(first.stdout)["category"] == "certificate_invalid"
    fingerprint = leaf_fingerprint(test_ca, "wrong_host")
    assert fingerprint in first.stdout
    assert tamago("accounts", "pin", "w", "imap", fingerprint).returncode == 0
    second = tamago("accounts", "test", "w", "--only", "imap", "--json", env=MASTER)
    assert second.returncode == 0, second.stdout
    assert json.loads(tamago("accounts", "list", "--json").stdout)[0]["status"] == "connected"
