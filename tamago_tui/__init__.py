"""tamago: a keyboard-driven terminal console for mail and contacts."""

__version__ = "0.1.0"
