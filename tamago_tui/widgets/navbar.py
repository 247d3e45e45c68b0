"""The top bar: where you are, and the function keys that go everywhere else."""

from __future__ import annotations

from textual.widgets import Static

from tamago_tui.widgets.markup import escape

TABS = [("f2", "contacts", "Contacts"), ("f3", "accounts", "Accounts"),
        ("f4", "troubleshoot", "Troubleshoot"), ("f5", "outbox", "Outbox")]


def layout(title: str, active: str | None, width: int) -> str:
    """Title left, tabs right, as console markup. When the bar is narrow the tabs go
    first, the active one last, and then the title is cut with an ellipsis."""
    tabs = [(key, mode, label) for key, mode, label in TABS]
    cell = lambda tab: len(f" {tab[0].upper()} {tab[2]} ")  # noqa: E731
    while tabs and len(title) + 1 + sum(cell(t) for t in tabs) > width:
        inactive = [t for t in tabs if t[1] != active]
        tabs.remove(inactive[-1] if inactive else tabs[-1])
    if not tabs and len(title) > width:
        title = title[: max(0, width - 1)].rstrip() + "…"
    plain = sum(cell(t) for t in tabs)
    nav = "".join(
        f"[reverse] {key.upper()} {label} [/]" if mode == active else f" {key.upper()} {label} "
        for key, mode, label in tabs
    )
    gap = max(1, width - len(title) - plain) if tabs else 0
    return f"[b]{escape(title)}[/b]{' ' * gap}{nav}"


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

    def on_resize(self) -> None:
        self.update(layout(self.title_text, self.active, self.content_size.width))

    def set_title(self, title: str) -> None:
        self.title_text = title
        self.update(layout(title, self.active, self.content_size.width))
