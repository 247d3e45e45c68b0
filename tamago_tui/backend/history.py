"""A contact's mail history from the local header index: a local query, no network.

A message belongs to every contact whose address appears in From, To or Cc
(and Bcc for sent mail). The same message seen in several folders or accounts
is shown once, deduplicated by Message-ID; `matched` says why it matched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .contacts import normalise_address
from .store import Store


@dataclass(frozen=True)
class HistoryRow:
    rowid: int
    message_id: str
    account: str
    folder: str
    uid: int
    date: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    size: int
    has_attachments: bool
    flags: str
    matched: tuple[str, ...] = ()  # e.g. ("from jane@example.org",)
    also_in: tuple[str, ...] = field(default=(), compare=False)  # other account/folder copies

    def as_json(self) -> dict:
        return {
            "message_id": self.message_id,
            "account": self.account,
            "folder": self.folder,
            "uid": self.uid,
            "date": self.date,
            "from": self.sender,
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "size": self.size,
            "has_attachments": self.has_attachments,
        }


def local_history(store: Store, addresses, limit: int | None = None) -> list[HistoryRow]:
    wanted = sorted({normalise_address(a) for a in addresses if a})
    if not wanted:
        return []
    marks = ",".join("?" * len(wanted))
    sql = f"""
        SELECT m.id, m.message_id, m.account, m.folder, m.uid, m.date, m.sender, m.recipients,
               m.cc, m.subject, m.size, m.has_attachments, m.flags,
               group_concat(ma.role || ' ' || ma.address, '; '), m.gm_msgid
        FROM message_addresses ma JOIN messages m ON m.id = ma.message_rowid
        WHERE ma.address IN ({marks})
        GROUP BY m.id
        ORDER BY m.date DESC, m.id DESC
    """
    rows: list[HistoryRow] = []
    index: dict[str, int] = {}
    for (rowid, message_id, account, folder, uid, date, sender, to, cc, subject, size,
         attach, flags, matched, gm_msgid) in store.db.execute(sql, wanted):
        # One message under several Gmail labels has one X-GM-MSGID; elsewhere the Message-ID decides.
        key = message_id or (f"{account}#gm{gm_msgid}" if gm_msgid else f"{account}/{folder}/{uid}")
        if key in index:
            first = rows[index[key]]
            rows[index[key]] = _replace_also(first, f"{account}/{folder}")
            continue
        index[key] = len(rows)
        rows.append(
            HistoryRow(
                rowid=rowid, message_id=message_id or "", account=account, folder=folder, uid=uid,
                date=date or "", sender=sender or "", to=tuple(json.loads(to or "[]")),
                cc=tuple(json.loads(cc or "[]")), subject=subject or "", size=size or 0,
                has_attachments=bool(attach), flags=flags or "",
                matched=tuple(sorted(set((matched or "").split("; ")))),
            )
        )
        if limit and len(rows) >= limit:
            break
    return rows


def _replace_also(row: HistoryRow, location: str) -> HistoryRow:
    from dataclasses import replace

    return replace(row, also_in=row.also_in + (location,))

