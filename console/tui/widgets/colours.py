"""The console's ANSI colours: what `yellow`, `red`... mean on screen, in every colour mode.

Textual draws Rich's ANSI colour names through an RGB theme (Monokai by default), then reduces
the result to what the terminal has. Monokai's "yellow" is orange (#fd971f), which 16 colours
round to bright red, and its red and magenta are one colour. So "running" came out red under
tmux's `TERM=screen`. These are chosen so each name stays itself in truecolor, in 256 colours and
in 16 (tests/tui_tests/test_tui_colours.py checks each one).
"""

from __future__ import annotations

from rich.terminal_theme import TerminalTheme

# The eight ANSI colours, then their bright forms, as RGB.
NORMAL = {
    "black": (0, 0, 0),
    "red": (215, 0, 0),
    "green": (0, 175, 0),
    "yellow": (215, 175, 0),
    "blue": (0, 95, 215),
    "magenta": (175, 0, 175),
    "cyan": (0, 175, 175),
    "white": (208, 208, 208),
}
BRIGHT = {
    "black": (128, 128, 128),
    "red": (255, 95, 95),
    "green": (95, 215, 95),
    "yellow": (255, 215, 95),
    "blue": (95, 135, 255),
    "magenta": (215, 95, 215),
    "cyan": (95, 215, 215),
    "white": (255, 255, 255),
}
# Plain names are drawn bright: the dark forms are hard to read on a dark background.
CONSOLE_ANSI = TerminalTheme(
    (12, 12, 12),
    (217, 217, 217),
    [BRIGHT[name] if name not in ("black", "white") else NORMAL[name] for name in NORMAL],
    list(BRIGHT.values()),
)
