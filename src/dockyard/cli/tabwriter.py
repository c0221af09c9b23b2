"""Go's text/tabwriter as Docker configures it: NewWriter(out, 10, 1, 3, ' ', 0).

A column block is a run of consecutive lines that all have a tab-terminated cell in that column;
its width is the widest cell plus padding, at least ``minwidth``. The last cell of each line is
not part of any column and is written as is.
"""

from __future__ import annotations


def tabwrite(text: str, *, minwidth: int = 10, padding: int = 3) -> str:
    """Align the tab-separated cells of ``text`` the way Go's tabwriter does."""
    trailing_newline = text.endswith("\n")
    raw_lines = text[:-1].split("\n") if trailing_newline else text.split("\n")
    lines = [line.split("\t") for line in raw_lines]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for i in range(line0, line1):
            parts: list[str] = []
            cells = lines[i]
            for j, cell in enumerate(cells):
                if j < len(widths):
                    parts.append(cell + " " * max(0, widths[j] - len(cell)))
                else:
                    parts.append(cell)
            out.append("".join(parts))

    def format_block(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    format_block(0, len(lines))
    return "\n".join(out) + ("\n" if trailing_newline else "")


__all__ = ["tabwrite"]
