"""The top bar: where you are, and the function keys that go everywhere else."""

from __future__ import annotations

from textual.widgets import Static

TABS = [("f2", "contacts", "Contacts"), ("f3", "accounts", "Accounts"),
        ("f4", "troubleshoot", "Help"), ("f5", "outbox", "Outbox")]


class NavBar(Static):
    DEFAULT_CSS = """
    NavBar {
        height: 1;
        padding: 0 1;
        background: $boost;
    }
    """

    def __init__(self, title: str, active: str | None = None):
        super().__init__(classes="navbar")
        self.title_text = title
        self.active = active

    def on_mount(self) -> None:
        tabs = []
        for key, mode, label in TABS:
            text = f"{key.upper()} {label}"
            tabs.append(f"[reverse] {text} [/]" if mode == self.active else f" {text} ")
        nav = "".join(tabs)
        # Title left, tabs right; the tabs are dropped first when the screen is narrow.
        width = self.app.size.width - 2
        if len(self.title_text) + len(" ".join(t for _, _, t in TABS)) + 16 > width:
            self.update(f"[b]{self.title_text}[/b]")
            return
        plain_nav = "".join(f" {k.upper()} {t} " for k, _, t in TABS)
        gap = max(1, width - len(self.title_text) - len(plain_nav))
        self.update(f"[b]{self.title_text}[/b]{' ' * gap}{nav}")
