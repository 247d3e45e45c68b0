"""Add or edit a contact: name, addresses (one per line or comma-separated), organisation, notes."""

from __future__ import annotations

import re

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from tamago_tui.backend.contacts import ContactBook, sender_prefill
from tamago_tui.backend.errors import TamagoError
from tamago_tui.widgets.markup import escape


def edit_sender(app, sender: str, on_done=None) -> None:
    """"Add sender as contact": a new contact pre-filled from a From header, or the
    existing contact's editor when the address is already known."""
    name, address = sender_prefill(sender)
    if not address:
        app.notify("This message has no sender address to add.", severity="warning")
        return
    store = app.services.open_store()
    try:
        owners = ContactBook(store).owners_of(address)
    finally:
        store.close()
    if owners:
        app.notify(escape(f"{address} is already a contact; editing it."))
        app.push_screen(ContactEditor(owners[0]), on_done)
    else:
        app.push_screen(ContactEditor(None, emails=(address,), name=name), on_done)


def split_emails(text: str) -> list[str]:
    return [e for e in re.split(r"[,;\n]", text) if e.strip()]


class ContactEditor(ModalScreen[int | None]):
    # One line per field, as in the account editor (layout in app.tcss), so that two
    # shared-address warnings still leave room for the notes and the buttons at 80x24.
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="contact_editor.save", priority=True, tooltip="Save the contact"),
        Binding("escape", "cancel", "Cancel", id="contact_editor.cancel", tooltip="Close without saving"),
    ]

    def __init__(self, contact_id: int | None, emails: tuple[str, ...] = (), name: str = ""):
        super().__init__()
        self.contact_id = contact_id
        self.initial_emails = emails
        self.initial_name = name

    def compose(self) -> ComposeResult:
        contact = None
        if self.contact_id is not None:
            store = self.app.services.open_store()
            try:
                contact = ContactBook(store).get(self.contact_id)
            finally:
                store.close()
        title = "Edit contact" if contact else "New contact"
        with Vertical(classes="dialog"):
            yield Static(title, classes="screen-title")
            with Horizontal(classes="field-row"):
                yield Label("Name", classes="field-label")
                yield Input(contact.name if contact else self.initial_name, id="name", compact=True,
                            placeholder="first and last name")
            with Horizontal(classes="field-row"):
                yield Label("Emails", classes="field-label")
                yield Input(", ".join(contact.emails if contact else self.initial_emails), id="emails",
                            compact=True, placeholder="one or more addresses, comma-separated")
            yield Static("", id="shared-warning", classes="warning")
            with Horizontal(classes="field-row"):
                yield Label("Organisation", classes="field-label")
                yield Input(contact.organisation if contact else "", id="organisation", compact=True)
            with Vertical(classes="field-row"):
                yield Label("Notes", classes="field-label")
                yield TextArea(contact.notes if contact else "", id="notes")
            yield Static("", id="editor-error", classes="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        self.check_shared()
        self.query_one("#name", Input).focus()

    @on(Input.Submitted)
    def next_field(self) -> None:
        """Enter moves on to the next field; ctrl+s saves."""
        self.focus_next()

    @on(Input.Changed, "#emails")
    def check_shared(self) -> None:
        """Warn, as the person types, when an address is also on another contact."""
        emails = split_emails(self.query_one("#emails", Input).value)
        store = self.app.services.open_store()
        try:
            shared = ContactBook(store).shared_with(emails, exclude_id=self.contact_id)
        finally:
            store.close()
        self.shared = shared
        lines = [
            f"⚠ {address} is shared with " + ", ".join(name for _, name in owners)
            for address, owners in shared.items()
        ]
        if len(lines) > 2:  # keep the dialog within 24 rows
            lines = [lines[0], f"⚠ and {len(lines) - 1} more addresses other contacts also have"]
        warning = self.query_one("#shared-warning", Static)
        warning.update(Text("\n".join(lines)))  # names are not markup
        warning.display = bool(lines)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_save() if event.button.id == "save" else self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        name = self.query_one("#name", Input).value
        emails = split_emails(self.query_one("#emails", Input).value)
        org = self.query_one("#organisation", Input).value
        notes = self.query_one("#notes", TextArea).text
        store = self.app.services.open_store()
        try:
            book = ContactBook(store)
            if self.contact_id is None:
                contact = book.add(name, emails, organisation=org, notes=notes)
            else:
                contact = book.update(self.contact_id, name=name, emails=emails, organisation=org, notes=notes)
        except TamagoError as exc:
            self.query_one("#editor-error", Static).update(Text(str(exc)))
            return
        finally:
            store.close()
        self.dismiss(contact.id)
