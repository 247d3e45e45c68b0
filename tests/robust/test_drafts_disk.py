"""Drafts on a disk that fills up or turns read-only, for real (a 1 MiB tmpfs).

A save that cannot be written raises a DraftError that says why, and the
previous version of the draft is still there, whole, afterwards.
"""

from __future__ import annotations

import subprocess

import pytest

from tamago_tui.backend.compose import Draft
from tamago_tui.backend.config import Config
from tamago_tui.backend.drafts import DraftError, DraftKeeper
from tamago_tui.backend.paths import Paths
from tamago_tui.backend.services import Services


def services_on(disk, tmp_path) -> Services:
    paths = Paths(config_dir=tmp_path / "config", data_dir=disk.path / "data", log_dir=tmp_path / "log")
    return Services(paths, Config(), log_to_file=False)


def draft(body: str) -> Draft:
    return Draft(sender="jane@example.org", to=("ada@example.org",), subject="Engines", body=body)


def test_full_disk_keeps_the_previous_draft(small_disk, tmp_path):
    services = services_on(small_disk, tmp_path)
    keeper = DraftKeeper(services.drafts)
    keeper.save(keeper.next_snapshot(), "work", draft("the first version"))
    small_disk.fill()
    with pytest.raises(DraftError) as caught:
        keeper.save(keeper.next_snapshot(), "work", draft("x" * 300_000))  # more than the disk holds
    assert "The disk is full" in str(caught.value)
    assert caught.value.title == "Draft not saved"
    small_disk.free()
    assert [d.draft.body for d in services.drafts.list()] == ["the first version"]
    # The next save (the editor still holds the text) goes through into the same draft.
    keeper.save(keeper.next_snapshot(), "work", draft("x" * 300_000))
    [saved] = services.drafts.list()
    assert saved.id == keeper.draft_id and len(saved.draft.body) == 300_000
    store = services.open_store()
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def _remount(path, mode: str) -> None:
    done = subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_read_only_disk_keeps_the_previous_draft(small_disk, tmp_path):
    services = services_on(small_disk, tmp_path)
    saved = services.drafts.save("work", draft("kept"))
    _remount(small_disk.path, "ro")
    try:
        with pytest.raises(DraftError) as caught:
            services.drafts.save("work", draft("changed"), draft_id=saved.id)
        assert "read-only" in str(caught.value).lower()
        assert caught.value.title == "Draft not saved"
    finally:
        _remount(small_disk.path, "rw")
    assert services.drafts.get(saved.id).draft.body == "kept"
