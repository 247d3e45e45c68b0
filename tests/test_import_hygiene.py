"""The backend must stay UI-free: importing any backend module loads neither textual nor rich."""

import pkgutil
import subprocess
import sys

import tamago_tui.backend as backend


def test_backend_modules_never_import_textual_or_rich():
    modules = [m.name for m in pkgutil.iter_modules(backend.__path__, "tamago_tui.backend.")]
    assert "tamago_tui.backend.store" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"backend pulled in: {result.stdout}"
