"""The window in the user's language: cnndesk's Qt Linguist translation for the locale, where one is bundled.

Every text the window shows goes through Qt's translation (``tr()``, ``QCoreApplication.translate``); the compiled
translations are ``resources/translations/cnndesk_<language>.qm`` (see the README there). Without one for the
user's locale the window stays in English, the language of its source texts.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from cnndesk.locations import resource_path

CATALOG = "cnndesk"  # cnndesk_zh_CN.qm, cnndesk_zh.qm, …


def translations_dir() -> Path:
    """The folder of the bundled ``.qm`` files."""
    return resource_path("translations")


def install_translations(app: QCoreApplication, locale: QLocale | None = None,
                         directory: str | Path | None = None) -> list[QTranslator]:
    """Install cnndesk's translation for ``locale`` (default: the user's) from ``directory`` (default: the bundled
    one), then Qt's own for the same language (the buttons of standard dialogs). Returns the translators installed:
    none where cnndesk has no translation for that locale, and then the window shows its English texts."""
    locale = QLocale() if locale is None else locale
    folder = str(translations_dir() if directory is None else directory)
    own = QTranslator(app)  # parented: it lives as long as the application
    if not own.load(locale, CATALOG, "_", folder):
        own.deleteLater()
        return []
    app.installTranslator(own)
    installed = [own]
    qt = QTranslator(app)
    if qt.load(locale, "qtbase", "_", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        installed.append(qt)
    else:
        qt.deleteLater()
    return installed
