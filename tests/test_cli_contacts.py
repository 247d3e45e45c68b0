"""`tamago contacts ...` as a subprocess: JSON shapes and exit codes (0 ok, 1 diagnosed, 2 usage)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "contacts"
ROOT = Path(__file__).resolve().parent.parent
CONTACT_KEYS = {"id", "name", "emails", "organisation", "notes"}


@pytest.fixture
def tamago(tamago_home):
    def run(*args: str, ok: int | None = 0):
        env = {**os.environ, "TAMAGO_HOME": str(tamago_home)}
        result = subprocess.run(
            [sys.executable, "-m", "tamago_tui", "contacts", *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
        )
        if ok is not None:
            assert result.returncode == ok, (result.returncode, result.stdout, result.stderr)
        return result

    def run_json(*args: str):
        return json.loads(run(*args, "--json").stdout)

    run.json = run_json
    return run


def test_add_show_list_edit_delete(tamago):
    ada = tamago.json("add", "Ada Lovelace", "--email", "ada@example.org", "--email", "Countess <Countess@Example.org>",
                      "--org", "Analytical Engines", "--notes", "First programmer")
    assert set(ada) == CONTACT_KEYS
    assert ada["emails"] == ["ada@example.org", "Countess@Example.org"]
    assert (ada["organisation"], ada["notes"]) == ("Analytical Engines", "First programmer")

    for key in (str(ada["id"]), "COUNTESS@example.org", "ada lovelace"):
        assert tamago.json("show", key) == ada

    tamago.json("add", "Alan Turing", "--email", "alan@bletchley.example")
    listed = tamago.json("list")
    assert [c["name"] for c in listed] == ["Ada Lovelace", "Alan Turing"]
    assert all(set(c) == CONTACT_KEYS for c in listed)
    assert [c["name"] for c in tamago.json("list", "--filter", "bletchley")] == ["Alan Turing"]
    assert tamago.json("list", "--filter", "nobody at all") == []

    edited = tamago.json("edit", "Ada Lovelace", "--add-email", "ada@home.example", "--remove-email", "countess@example.org",
                         "--org", "Royal Society")
    assert edited["emails"] == ["ada@example.org", "ada@home.example"]
    assert edited["organisation"] == "Royal Society" and edited["id"] == ada["id"]

    deleted = tamago("delete", str(ada["id"]))
    assert "Deleted Ada Lovelace" in deleted.stdout
    assert [c["name"] for c in tamago.json("list")] == ["Alan Turing"]


def test_usage_errors_exit_2_and_not_found_exits_1(tamago):
    assert tamago("add", "Nobody", ok=2).stderr  # --email is required
    assert "not an email address" in tamago("add", "X", "--email", "not-an-address", ok=2).stderr
    assert tamago("frobnicate", ok=2).returncode == 2
    missing = tamago("show", "nobody@example.org", ok=1)
    assert "No contact matches" in missing.stderr
    tamago.json("add", "Sam", "--email", "sam1@example.org")
    tamago.json("add", "Sam", "--email", "sam2@example.org")
    assert "2 contacts are named" in tamago("show", "Sam", ok=2).stderr
    assert tamago("import", str(DATA / "nope.vcf"), ok=1).returncode == 1
    assert tamago("edit", "sam1@example.org", "--remove-email", "zz@example.org", ok=2).returncode == 2


def test_import_reports_counts_and_merges_known_addresses(tamago, tmp_path):
    tamago.json("add", "Grace Hopper", "--email", "grace@navy.example")
    report = tamago.json("import", str(DATA / "google.csv"))
    assert report == {
        "file": str(DATA / "google.csv"), "format": "csv/google",
        "created": 4, "updated": 1, "skipped": 0, "same_name": 0, "warnings": [],
    }
    again = tamago.json("import", str(DATA / "google.csv"))
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 5)

    outlook = tamago.json("import", str(DATA / "outlook.csv"))
    assert outlook["format"] == "csv/outlook" and len(outlook["warnings"]) == 1

    # A file with another extension is recognised by its content, or told with --format.
    vcf = tmp_path / "cards.txt"
    vcf.write_bytes((DATA / "android_21.vcf").read_bytes())
    assert tamago.json("import", str(vcf))["format"] == "vcard"
    as_csv = tamago("import", str(vcf), "--format", "csv", ok=1)
    assert "Unrecognised CSV" in as_csv.stderr

    bad = tmp_path / "phones.csv"
    bad.write_text("Phone,Street\n123,Main St\n")
    assert "Unrecognised CSV" in tamago("import", str(bad), ok=1).stderr


def test_export_formats(tamago, tmp_path):
    tamago.json("import", str(DATA / "apple_icloud.vcf"))
    for fmt, name, marker in [("vcard", "a.vcf", "VERSION:4.0"), ("vcard3", "b.vcf", "VERSION:3.0"),
                              ("csv", "c.csv", "name,emails,organisation,notes")]:
        out = tmp_path / name
        result = tamago.json("export", str(out), "--format", fmt)
        assert result == {"file": str(out), "format": fmt, "exported": 2}
        assert marker in out.read_text(encoding="utf-8")
    by_name = tamago.json("export", str(tmp_path / "d.csv"))
    assert by_name["format"] == "csv"
    assert "--format" in tamago("export", str(tmp_path / "e.bin"), ok=2).stderr


def test_merge_and_duplicates(tamago):
    a = tamago.json("add", "Ada Lovelace", "--email", "ada@example.org")
    b = tamago.json("add", "Lovelace, Ada", "--email", "countess@example.org", "--email", "ADA@example.org",
                    "--notes", "from the old phone")
    dups = tamago.json("duplicates")
    assert dups["duplicates"] == [{
        "keep": {"id": a["id"], "name": "Ada Lovelace"},
        "other": {"id": b["id"], "name": "Lovelace, Ada"},
        "reasons": ["same address ada@example.org", "same name"],
    }]
    assert dups["shared_addresses"] == [{
        "address": "ada@example.org",
        "contacts": [{"id": a["id"], "name": "Ada Lovelace"}, {"id": b["id"], "name": "Lovelace, Ada"}],
    }]
    text = tamago("show", str(a["id"])).stdout
    assert "shared with Lovelace, Ada" in text

    merged = tamago.json("merge", str(a["id"]), "countess@example.org")
    assert merged["id"] == a["id"]
    assert merged["emails"] == ["ada@example.org", "countess@example.org"]
    assert merged["notes"] == "from the old phone"
    assert tamago.json("duplicates") == {"duplicates": [], "shared_addresses": []}
    assert tamago("merge", str(a["id"]), "ada@example.org", ok=2).returncode == 2
    assert tamago("merge", str(a["id"]), "999", ok=1).returncode == 1
