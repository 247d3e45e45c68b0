"""`tamago doctor` and `tamago accounts` as subprocesses, against loopback stand-ins.

The real-server versions live in test_cli_servers.py; these cover the contract
(JSON shape, exit codes, never printing or storing the password) without them.
"""

from __future__ import annotations

import json

from tests.diagnostics.clihelp import assert_doctor_shape, home_files_contain, tamago

PASSWORD = "Cli-Secret-pw-9931"


def test_doctor_json_closed_ports(closed_port):
    done = tamago("doctor", "user@example.test", "--imap-host", "127.0.0.1", "--imap-port", str(closed_port),
                  "--smtp-host", "127.0.0.1", "--smtp-port", str(closed_port), "--timeout", "2", "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert_doctor_shape(data)
    assert data["ok"] is False
    assert data["category"] == "connection_refused"
    assert {s["protocol"] for s in data["steps"]} == {"imap", "smtp"}


def test_doctor_only_limits_to_one_protocol(closed_port):
    done = tamago("doctor", "user@example.test", "--only", "smtp", "--smtp-host", "127.0.0.1",
                  "--smtp-port", str(closed_port), "--timeout", "2", "--json")
    data = json.loads(done.stdout)
    assert {s["protocol"] for s in data["steps"]} == {"smtp"}


def test_doctor_human_output_is_a_checklist(closed_port):
    done = tamago("doctor", "user@example.test", "--only", "imap", "--imap-host", "127.0.0.1",
                  "--imap-port", str(closed_port), "--timeout", "2")
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("[ ok ] IMAP DNS resolution")
    assert lines[1].startswith("[FAIL] IMAP TCP connect") and "connection_refused" in lines[1]
    result = next(i for i, line in enumerate(lines) if line.startswith("Result: "))
    assert lines[result] == "Result: IMAP failed at 'TCP connect' (category: connection_refused)."
    assert lines[result + 1].startswith("Fix: ")  # the troubleshooting guide follows
    assert lines[result + 3].startswith("  1. ")


def test_doctor_never_sends_or_prints_the_password_without_starttls(listen, fakes, tamago_home):
    imap = listen(fakes.imap_without_starttls)
    smtp = listen(fakes.smtp_without_starttls)
    done = tamago("doctor", "user@example.test", "--imap-host", "127.0.0.1", "--imap-port", str(imap.port),
                  "--imap-security", "starttls", "--smtp-host", "127.0.0.1", "--smtp-port", str(smtp.port),
                  "--smtp-security", "starttls", "--password-stdin", "--timeout", "3", "--json",
                  stdin=PASSWORD + "\n")
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["category"] == "starttls_unavailable"
    failures = [s for s in data["steps"] if s["status"] == "fail"]
    assert [(s["protocol"], s["name"]) for s in failures] == [("imap", "STARTTLS"), ("smtp", "STARTTLS")]
    assert PASSWORD not in done.stdout + done.stderr
    assert PASSWORD.encode() not in bytes(imap.received) + bytes(smtp.received)
    assert home_files_contain(tamago_home, PASSWORD) == []


def test_doctor_usage_errors_exit_2(nxdomain_server):
    assert tamago("doctor", "not-an-address", "--imap-host", "h", "--smtp-host", "h").returncode == 2
    # No host options, and the (loopback) DNS knows nothing: the lookup fails clearly.
    missing_host = tamago("doctor", "user@example.test", "--only", "imap", "--nameserver", nxdomain_server)
    assert missing_host.returncode == 2
    assert "email administrator" in missing_host.stderr and "--imap-host" in missing_host.stderr
    # There is no way to pass a password in argv.
    assert tamago("doctor", "user@example.test", "--password", PASSWORD).returncode == 2
    assert tamago("doctor", "user@example.test", "--imap-host", "h", "--imap-pin", "xyz",
                  "--only", "imap").returncode == 2


def test_accounts_add_refuses_to_save_after_a_failed_test(closed_port, tamago_home):
    done = tamago("accounts", "add", "user@example.test", "--imap-host", "127.0.0.1", "--imap-port",
                  str(closed_port), "--smtp-host", "127.0.0.1", "--smtp-port", str(closed_port), "--timeout", "2",
                  "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 1
    assert "Not saved" in done.stderr
    assert json.loads(tamago("accounts", "list", "--json").stdout) == []
    assert PASSWORD not in done.stdout + done.stderr
    assert home_files_contain(tamago_home, PASSWORD) == []


def test_accounts_add_needs_a_password_to_test():
    done = tamago("accounts", "add", "user@example.test", "--imap-host", "h", "--smtp-host", "h")
    assert done.returncode == 2
    assert "password" in done.stderr.lower()


def test_accounts_lifecycle_with_a_password_command(closed_port, tamago_home, tmp_path):
    secret_file = tmp_path / "secret.txt"  # outside TAMAGO_HOME, like a pass(1) store
    secret_file.write_text(PASSWORD + "\n")
    command = f"cat {secret_file}"
    added = tamago("accounts", "add", "user@example.test", "--name", "work", "--imap-host", "127.0.0.1",
                   "--imap-port", str(closed_port), "--smtp-host", "127.0.0.1", "--smtp-port", str(closed_port),
                   "--password-command", command, "--no-test", "--folder", "INBOX")
    assert added.returncode == 0, added.stderr
    listed = json.loads(tamago("accounts", "list", "--json").stdout)
    assert [(a["name"], a["status"]) for a in listed] == [("work", "never_tested")]

    tested = tamago("accounts", "test", "work", "--timeout", "2", "--json")
    assert tested.returncode == 1
    data = json.loads(tested.stdout)
    assert_doctor_shape(data)
    assert data["category"] == "connection_refused"
    assert PASSWORD not in tested.stdout + tested.stderr
    listed = json.loads(tamago("accounts", "list", "--json").stdout)
    assert listed[0]["status"] == "failing" and listed[0]["category"] == "connection_refused"
    assert "TCP connect" in listed[0]["last_error"]

    pinned = tamago("accounts", "pin", "work", "imap", "AB" * 32)
    assert pinned.returncode == 0, pinned.stderr
    config = (tamago_home / "config.toml").read_text()
    assert 'pinned_sha256 = "' + "ab" * 32 + '"' in config
    assert PASSWORD not in config  # only the command is stored, never its output
    assert home_files_contain(tamago_home, PASSWORD) == []

    removed = tamago("accounts", "remove", "work")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(tamago("accounts", "list", "--json").stdout) == []
    assert tamago("accounts", "remove", "work").returncode == 1
