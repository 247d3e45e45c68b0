"""When a sent-mail placeholder counts as overdue (sentcopy._copy_overdue), on canned folder states."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from tamago_tui.backend.index import FolderState
from tamago_tui.backend.sentcopy import _copy_overdue

NOW = datetime(2024, 6, 30, 12, 0, tzinfo=timezone.utc)
PLACEHOLDER = {"id": 1, "folder": "Sent Items", "message_id": "a@b", "date": "2024-06-01T09:00:00+00:00", "bcc": "[]"}
SENT = FolderState("work", "Sent Items", special_use="\\Sent", selected=True, complete=True,
                   oldest_date="2024-01-01", last_sync_at="2024-06-29T08:00:00+00:00")


def test_overdue_when_a_sent_folder_covering_the_date_was_synced_long_after():
    assert _copy_overdue(PLACEHOLDER, [SENT], NOW)
    all_mail = replace(SENT, name="[Gmail]/All Mail", special_use="\\All")
    assert _copy_overdue(PLACEHOLDER, [all_mail], NOW)


def test_not_overdue_while_young_or_while_no_sync_could_have_seen_the_copy():
    young = dict(PLACEHOLDER, date="2024-06-28T09:00:00+00:00")
    assert not _copy_overdue(young, [SENT], NOW)
    synced_soon_after = replace(SENT, last_sync_at="2024-06-02T09:00:00+00:00")
    assert not _copy_overdue(PLACEHOLDER, [synced_soon_after], NOW)
    window_too_short = replace(SENT, oldest_date="2024-06-15")
    assert not _copy_overdue(PLACEHOLDER, [window_too_short], NOW)
    inbox = replace(SENT, name="INBOX", special_use="")
    assert not _copy_overdue(PLACEHOLDER, [inbox], NOW)
    assert not _copy_overdue(PLACEHOLDER, [], NOW)
    assert not _copy_overdue(dict(PLACEHOLDER, date=""), [SENT], NOW)
