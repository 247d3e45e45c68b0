"""Table columns that fit the terminal: fixed columns, and one that takes the rest."""

from __future__ import annotations

from textual.widgets import DataTable


def rest_width(total: int, fixed: list[int], minimum: int = 12) -> int:
    """The width left for the flexible column. Every column pads one cell either side,
    and 2 more are kept for the vertical scrollbar, so no horizontal scrollbar appears."""
    return max(minimum, total - sum(fixed) - 2 * (len(fixed) + 1) - 2)


def set_columns(table: DataTable, columns: list[tuple[str, str, int | None]], total: int) -> bool:
    """(label, key, width) columns, the one with width None taking what is left of `total`.
    Rebuilds the columns (dropping the rows) only when a width changed; returns whether it did."""
    fixed = [w for _, _, w in columns if w is not None]
    widths = [w if w is not None else rest_width(total, fixed) for _, _, w in columns]
    current = [c.width for c in table.columns.values()]
    if current == widths:
        return False
    table.clear(columns=True)
    for (label, key, _), width in zip(columns, widths):
        table.add_column(label, key=key, width=width)
    return True
