"""Light or dark: the system's colour scheme (Qt 6.5+), or the one chosen in View → Theme.

On Linux without a desktop that says otherwise the scheme is Unknown, read as light. Dark is the Fusion style with
a dark palette (every platform style draws it the same, and Fusion honours every role); light is the platform's own
style and palette, as before cnndesk had themes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

SYSTEM, LIGHT, DARK = "system", "light", "dark"
THEMES = (SYSTEM, LIGHT, DARK)
THEME_KEY = "view/theme"  # in the settings: one of THEMES

WINDOW = QColor(53, 53, 53)
BASE = QColor(35, 35, 35)
MENU_CHECK_BOX = QColor(72, 72, 72)  # menus (Fusion fills them and their check boxes with Base)
TEXT = QColor(230, 230, 230)
# Disabled text: a mid grey that still reads on the dark window (contrast ~3:1) yet is plainly not enabled text.
# Fusion's dark palette (Qt 6.5+) uses the same idea; Qt's default disabled colours, derived for a light palette,
# would be dark grey on dark grey here.
DISABLED_TEXT = QColor(128, 128, 128)
HIGHLIGHT = QColor(42, 130, 218)
LINK = QColor(90, 160, 240)

_light: tuple[str, QPalette] | None = None  # the platform's style name and palette, before any theme was applied


def system_is_dark() -> bool:
    """The desktop asks for dark colours (Unknown, as on a bare Linux, is light)."""
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    """A dark palette for the Fusion style, disabled colours included."""
    palette = QPalette(WINDOW, WINDOW)  # button and window: Qt derives light, mid, dark and shadow from them
    for role, colour in ((QPalette.ColorRole.WindowText, TEXT), (QPalette.ColorRole.Text, TEXT),
                         (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.BrightText, QColor(255, 90, 90)),
                         (QPalette.ColorRole.Base, BASE), (QPalette.ColorRole.AlternateBase, QColor(45, 45, 45)),
                         (QPalette.ColorRole.ToolTipBase, QColor(25, 25, 25)), (QPalette.ColorRole.ToolTipText, TEXT),
                         (QPalette.ColorRole.Highlight, HIGHLIGHT),
                         (QPalette.ColorRole.HighlightedText, QColor(255, 255, 255)),
                         (QPalette.ColorRole.Link, LINK), (QPalette.ColorRole.LinkVisited, QColor(170, 130, 230)),
                         (QPalette.ColorRole.PlaceholderText, QColor(150, 150, 150))):
        palette.setColor(role, colour)
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.HighlightedText, QPalette.ColorRole.PlaceholderText):
        palette.setColor(disabled, role, DISABLED_TEXT)
    palette.setColor(disabled, QPalette.ColorRole.Base, WINDOW)  # a disabled field looks flat, not like an input
    palette.setColor(disabled, QPalette.ColorRole.Highlight, QColor(80, 80, 80))
    palette.setColor(disabled, QPalette.ColorRole.Light, WINDOW)  # no etched white shadow under disabled text
    return palette


def dark_menu_palette() -> QPalette:
    """The dark palette for menus: Fusion draws a menu's check box filled with Base and edged in a darker Window, so
    on the dark menu an unchecked box (View → Presentation mode) all but vanished; a lighter Base shows it."""
    palette = dark_palette()
    palette.setColor(QPalette.ColorRole.Base, MENU_CHECK_BOX)
    return palette


def wants_dark(choice: str) -> bool:
    return choice == DARK or (choice not in (LIGHT, DARK) and system_is_dark())


def apply_theme(choice: str) -> bool:
    """Apply SYSTEM, LIGHT or DARK to the application; True if it is dark now."""
    global _light
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return False
    if _light is None:
        _light = (app.style().name(), QPalette(app.palette()))
    dark = wants_dark(choice)
    if dark:
        if app.style().name().lower() != "fusion":
            app.setStyle("Fusion")
        app.setPalette(dark_palette())
        app.setPalette(dark_menu_palette(), "QMenu")
    else:
        style, palette = _light
        if app.style().name().lower() != style.lower():
            app.setStyle(style)
        app.setPalette(palette)
        app.setPalette(palette, "QMenu")
    return dark


__all__ = ["DARK", "LIGHT", "SYSTEM", "THEMES", "THEME_KEY", "apply_theme", "dark_palette", "system_is_dark",
           "wants_dark"]
