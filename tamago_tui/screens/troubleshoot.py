"""Troubleshooting: paste an error and get the fix, see an account's last failure, browse guides.

Every failure the app shows links here. The classification and the guides come
from `tamago_tui.backend.troubleshoot`; this screen only draws them.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from tamago_tui.widgets.navbar import NavBar
from tamago_tui.screens.base import BaseScreen
from tamago_tui.widgets.markup import escape

PROVIDERS = [
    ("Any provider", ""), ("Gmail", "gmail"), ("Google Workspace", "google_workspace"),
    ("Outlook.com", "outlook"), ("Office 365", "office365"), ("Exchange", "exchange"),
    ("Yahoo", "yahoo"), ("AOL", "aol"), ("iCloud", "icloud"), ("Zoho", "zoho"),
    ("Fastmail", "fastmail"), ("GMX", "gmx"), ("Yandex", "yandex"),
]


def render_guide(explanation, heading: str = "") -> str:
    """The guide as console markup: title, cause, numbered steps and links."""
    from rich.markup import escape

    lines = []
    if heading:
        lines.append(f"[dim]{escape(heading)}[/]")
    lines.append(f"[b]{escape(explanation.title)}[/b]")
    lines.append(escape(explanation.cause))
    lines.append("")
    lines += [f"{n}. {escape(step)}" for n, step in enumerate(explanation.steps, 1)]
    if explanation.links:
        lines.append("")
        lines += [f"→ {escape(link)}" for link in explanation.links]
    return "\n".join(lines)


class TroubleshootScreen(BaseScreen):
    # Short descriptions fit the footer at 80 columns; the tooltips are what the palette shows.
    BINDINGS = [
        Binding("ctrl+e", "explain", "Explain", id="troubleshoot.explain", priority=True,
                tooltip="Explain the pasted error"),
        Binding("ctrl+b", "browse", "Guides", id="troubleshoot.browse", priority=True,
                tooltip="Browse the guides for the chosen provider (again: back to the pasted error)"),
        Binding("ctrl+y", "copy", "Copy", id="troubleshoot.copy", priority=True,
                tooltip="Copy the guide shown"),
        Binding("ctrl+l", "last_failure", "Last error", id="troubleshoot.accounts", priority=True,
                tooltip="Explain the last error of a failing account"),
    ]

    def compose(self) -> ComposeResult:
        yield NavBar("Troubleshooting", active="troubleshoot")
        with Horizontal(classes="field-row"):
            yield Label("Provider", classes="field-label")
            yield Select(PROVIDERS, value="", allow_blank=False, id="provider", compact=True)
        yield Static("Paste an error message, then press ctrl+e. ctrl+b browses the guides.",
                     id="troubleshoot-hint", classes="hint")
        yield TextArea(id="error-text", soft_wrap=True)
        yield OptionList(id="guide-list")
        with VerticalScroll(id="guide-scroll"):
            yield Static("", id="guide")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#guide-list").display = False
        self.query_one("#error-text").focus()
        self.current = None
        self.failure_index = -1  # ctrl+l: which failing account was shown last

    @property
    def provider(self) -> str | None:
        return str(self.query_one("#provider", Select).value) or None

    def show_text(self, text: str, provider: str | None = None, category: str | None = None) -> None:
        """Explain `text` (an account's last error, a failed test step) for `provider`."""
        if provider and provider in {p for _, p in PROVIDERS}:
            self.query_one("#provider", Select).value = provider
        self._set_browsing(False)
        self.query_one("#error-text", TextArea).text = text
        self.action_explain()

    def action_explain(self) -> None:
        from tamago_tui.backend.troubleshoot import explain

        text = self.query_one("#error-text", TextArea).text.strip()
        if not text:
            self.query_one("#guide", Static).update("Paste the error text first.")
            return
        self._set_browsing(False)
        result = explain(text, provider=self.provider)
        self.current = result
        confidence = f"{round(result.confidence * 100)}%"
        heading = f"Category: {result.category} · confidence {confidence}"
        if result.provider:
            heading += f" · {result.provider}"
        self.query_one("#guide", Static).update(render_guide(result, heading))

    @on(Select.Changed, "#provider")
    def provider_changed(self) -> None:
        if self.query_one("#guide-list").display:
            self.action_browse(stay=True)
        elif self.query_one("#error-text", TextArea).text.strip():
            self.action_explain()

    def _set_browsing(self, browsing: bool) -> None:
        self.query_one("#guide-list").display = browsing
        self.query_one("#error-text").display = not browsing
        hint = ("Guides for the chosen provider: up/down picks one, ctrl+b goes back to the error."
                if browsing else "Paste an error message, then press ctrl+e. ctrl+b browses the guides.")
        self.query_one("#troubleshoot-hint", Static).update(hint)

    def action_browse(self, stay: bool = False) -> None:
        from tamago_tui.backend.troubleshoot import guides_for_provider

        browsing = self.query_one("#guide-list").display
        if browsing and not stay:
            self._set_browsing(False)
            self.query_one("#error-text").focus()
            return
        self.guides = guides_for_provider(self.provider)
        options = self.query_one("#guide-list", OptionList)
        options.clear_options()
        options.add_options([Option(f"{g.title}  [dim]{g.category}[/]", id=g.category) for g in self.guides])
        self._set_browsing(True)
        options.focus()
        options.highlighted = 0

    @on(OptionList.OptionHighlighted, "#guide-list")
    def guide_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        guide = self.guides[event.option_index]
        self.current = guide
        self.query_one("#guide", Static).update(render_guide(guide, f"Category: {guide.category}"))

    def action_copy(self) -> None:
        if self.current is None:
            return
        guide = self.current
        text = "\n".join([guide.title, guide.cause, *[f"{n}. {s}" for n, s in enumerate(guide.steps, 1)],
                          *guide.links])
        self.app.copy_to_clipboard(text)
        self.notify("Guide copied to the clipboard.")

    def action_last_failure(self) -> None:
        """Pick a failing account and show the guide for its last error."""
        services = self.app.services
        store = services.open_store()
        try:
            failing = [(a, store.account_state(a.name)) for a in services.accounts()]
        finally:
            store.close()
        failing = [(a, s) for a, s in failing if s.get("status") == "failing"]
        if not failing:
            self.notify("No account is failing right now.")
            return
        # Each press shows the next failing account, so several can be gone through by key.
        self.failure_index = (self.failure_index + 1) % len(failing)
        account, state = failing[self.failure_index]
        self.show_text(state.get("last_error") or "", provider=account.provider)
        more = f" ({self.failure_index + 1} of {len(failing)}; ctrl+l again for the next)" if len(failing) > 1 else ""
        self.notify(escape(f"Last failure of {account.email}{more}."))
