from textual.content import Content

from tamago_tui.widgets.markup import escape


def test_server_text_keeps_its_brackets():
    reply = "NO [ALERT] Application-specific password required [b]not bold[/b]"
    assert Content.from_markup(escape(reply)).plain == reply
