"""Every key of the console, in one list: the key bar, the palette and the help are built from it.

Only keys that survive SSH and tmux: letters, F-keys, ctrl+letter. The first few are what a
narrow key bar shows, so they come first. The search screen (console/tui/search_screen.py) owns
them all but quit, which is the app's ("app.quit": it ends the app, or detaches it).
"""

from __future__ import annotations

from textual.binding import Binding

QUIT = "app.quit"

SCREEN_KEYS = [
    Binding("question_mark,f1", "help", "Help", tooltip="this key table"),
    Binding("p", "pause", "Pause", tooltip="pause: running trials finish, nothing new starts"),
    Binding("r", "resume", "Resume", tooltip="resume a paused or stopped search"),
    Binding(
        "i",
        "detail",
        "Detail",
        tooltip="detail of the selected trial (params, folds, error) or node (versions)",
    ),
    Binding("s", "sort", "Sort", tooltip="trials newest first / best score first / failed first"),
    Binding(
        "v",
        "next_param",
        "Param",
        tooltip="score by value: show the next parameter (the insight column, 120+ columns)",
        show=False,  # the footer is full; the panel's title says "v: next"
    ),
    Binding(
        "d",
        "drain",
        "Drain",
        tooltip="drain the selected node; again: undo (also releases a quarantined node)",
    ),
    Binding("f", "retry_failed", "Retry", tooltip="retry every failed trial"),
    Binding("n", "add_node", "+Node", tooltip="start one more local node"),
    Binding("k", "stop_node", "-Node", tooltip="stop the selected (or newest) local node"),
    Binding("e", "export", "Export", tooltip="export the best model to the object store"),
    Binding("w", "save", "Save", tooltip="checkpoint now"),
    Binding("a", "save_as", "SaveAs", tooltip="save the search with its results to a new file"),
    Binding("o", "open", "Open", tooltip="open another search file (this one is checkpointed)"),
    Binding(
        "f2", "save_screenshot", "Shot", tooltip="save an SVG screenshot next to the checkpoint"
    ),
    Binding("x", "stop", "Stop", tooltip="stop: cancel running trials, checkpoint"),
    Binding("q", QUIT, "Quit", tooltip="checkpoint, stop local nodes, quit (attached: detach)"),
]

# The app's own: from anywhere, even a text field; not shown twice in the key bar.
APP_KEYS = [Binding("ctrl+q,ctrl+c", "quit", "Quit", show=False, priority=True)]

ALL_KEYS = SCREEN_KEYS + APP_KEYS  # for the help screen
