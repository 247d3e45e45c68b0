"""UI-free services shared by the TUI and the CLI. Never import textual or rich here."""
