import sys

import pytest


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch):  # TEMPORARY: until backend.smtp / backend.imap land from diagnostics
    from tests.integration import stand_ins

    try:
        import tamago_tui.backend.smtp  # noqa: F401
    except ImportError:
        monkeypatch.setitem(sys.modules, "tamago_tui.backend.smtp", stand_ins.smtp_module)
        monkeypatch.setitem(sys.modules, "tamago_tui.backend.imap", stand_ins.imap_module)
