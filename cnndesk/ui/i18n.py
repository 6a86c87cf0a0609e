"""The window in the user's language: cnndesk's Qt Linguist translation for the locale, where one is bundled.

Every text the window shows goes through Qt's translation (``tr()``, ``QCoreApplication.translate``); the compiled
translations are ``resources/translations/cnndesk_<language>.qm`` (see the README there). Without one for the
user's locale the window stays in English, the language of its source texts.

The language follows the system's locale unless one was chosen in View → Language (remembered in the settings).
Chinese needs a font with its characters: where the system has none (a bare Linux install), the bundled subset of
Noto Sans SC (``resources/fonts``) is registered and put behind the application's font, for the glyphs it lacks.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator
from PySide6.QtGui import QFont, QFontDatabase, QFontInfo, QGuiApplication

from cnndesk.locations import resource_path

from .settings import saved_language

CATALOG = "cnndesk"  # cnndesk_zh_CN.qm, cnndesk_zh.qm, …
SYSTEM, ENGLISH, CHINESE = "", "en", "zh_CN"  # the choices of View → Language, as saved in the settings
CJK_FONT = "NotoSansSC-cnndesk.otf"  # in resources/fonts

_bundled_family: str | None = None  # the bundled font's family, once registered
_installed: dict[int, str] = {}  # application id → the language of the translation installed ("" for English)


def translations_dir() -> Path:
    """The folder of the bundled ``.qm`` files."""
    return resource_path("translations")


def chosen_locale() -> QLocale:
    """The locale the window is shown in: the one chosen in View → Language, else the system's."""
    language = saved_language()
    return QLocale(language) if language else QLocale()


def translation_language(locale: QLocale, directory: str | Path | None = None) -> str:
    """The language of cnndesk's translation for ``locale`` ("zh_CN"), or "" where the window stays in English."""
    translator = QTranslator()
    if locale.language() == QLocale.Language.English or not translator.load(
            locale, CATALOG, "_", str(translations_dir() if directory is None else directory)):
        return ""
    return translator.language() or locale.name()


def installed_language(app: QCoreApplication | None = None) -> str:
    """The language of the translation ``install_translations`` installed in ``app`` ("" for none: English)."""
    app = app or QCoreApplication.instance()
    return _installed.get(id(app), "") if app is not None else ""


def install_translations(app: QCoreApplication, locale: QLocale | None = None,
                         directory: str | Path | None = None) -> list[QTranslator]:
    """Install cnndesk's translation for ``locale`` (default: the chosen one, see ``chosen_locale``) from
    ``directory`` (default: the bundled one), then Qt's own for the same language (the buttons of standard
    dialogs), and, where the system has none, a font that shows Chinese. Returns the translators installed: none
    where cnndesk has no translation for that locale (or it is English), and then the window shows its English
    texts."""
    locale = chosen_locale() if locale is None else locale
    folder = str(translations_dir() if directory is None else directory)
    if isinstance(app, QGuiApplication):  # in every language: View → Language names 中文 in its own script
        ensure_chinese_font(app)
    own = QTranslator(app)  # parented: it lives as long as the application
    # English is the source language: a system in English with other preferred UI languages listed after it
    # (QLocale.uiLanguages) must not fall through to one of them.
    if locale.language() == QLocale.Language.English or not own.load(locale, CATALOG, "_", folder):
        own.deleteLater()
        return []
    app.installTranslator(own)
    _installed[id(app)] = own.language() or locale.name()
    installed = [own]
    qt = QTranslator(app)
    if qt.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        installed.append(qt)
    else:
        qt.deleteLater()
    return installed


def has_chinese_font() -> bool:
    """Whether a font that writes Simplified Chinese is available (installed or registered)."""
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


def ensure_chinese_font(app: QGuiApplication, font_file: str | Path | None = None) -> str | None:
    """Where no font writes Simplified Chinese, register the bundled subset and make it the fallback of the
    application's font; returns its family, or None where the system has a Chinese font (it is used as it is)."""
    global _bundled_family
    if _bundled_family is None:
        if has_chinese_font():
            return None
        # Registered once. fontconfig does not file a few hundred characters under Chinese: has_chinese_font()
        # stays False after this, and Qt's fallback by script does not find the subset: the application font names it.
        font_id = QFontDatabase.addApplicationFont(str(resource_path("fonts", CJK_FONT) if font_file is None
                                                       else font_file))
        families = QFontDatabase.applicationFontFamilies(font_id) if font_id >= 0 else []
        if not families:
            return None
        _bundled_family = families[0]
    family = _bundled_family
    # The application's font keeps its Latin family first; the glyphs it lacks come from the subset. Widgets
    # that set a family of their own (monospace numbers, plot labels) get it through the substitution table.
    # Only real families are named: a substitute for a generic name ("Sans Serif", "monospace") replaces it
    # outright, and Latin text then came from the subset too, with its taller CJK line height (pyqtgraph dropped
    # the probability bars' digits, which no longer fitted under them).
    font = QFont(app.font())
    own = [QFontInfo(font).family()]
    font.setFamilies([*own, family])
    app.setFont(font)
    for generic in (QFont(), QFont("Sans Serif"), QFont("monospace"), QFont("DejaVu Sans")):
        name = QFontInfo(generic).family()
        if name != family:
            QFont.insertSubstitution(name, family)
    return family
