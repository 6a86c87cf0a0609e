"""View → Language: the window in English or Simplified Chinese, or as the system's locale says (the default).

The choice is remembered in the settings and applied at start-up, before any widget is built
(``i18n.install_translations``), so that every text is made in that language. Changing it while the window is
open offers to restart cnndesk: the same command, started anew once this window has closed (and joined its
threads); "Later" keeps the choice for the next launch.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QLocale, QProcess
from PySide6.QtWidgets import QMessageBox

from cnndesk.locations import cnndesk_command

from ..i18n import CHINESE, ENGLISH, SYSTEM, installed_language, translation_language
from ..settings import save_language, saved_language
from .base import VIEW, Panel

# How the restart box names the language the window will be in: by its own name, so that a user who cannot
# read the current one still recognises it.
NATIVE_NAMES = {"": "English", CHINESE: "中文"}


def restart_command(arguments: list[str] | None = None) -> tuple[str, list[str]]:
    """The program and arguments that started this process, to start it again (with ``arguments`` instead of its
    own, if given)."""
    script = sys.argv[0] if sys.argv else ""
    arguments = sys.argv[1:] if arguments is None else arguments
    if getattr(sys, "frozen", False) or not script or Path(script).name == "__main__.py":
        program, *arguments = cnndesk_command(*arguments)  # the packaged app, or python -m cnndesk
        return program, arguments
    return sys.executable, [script, *arguments]


class LanguagePanel(Panel):
    area = ""

    def __init__(self, shell) -> None:
        super().__init__(shell)
        system = QLocale.system().nativeLanguageName() or QLocale.system().name()
        choices = ((SYSTEM, self.tr("System"), self.tr("The language of the system ({language})")
                    .format(language=system)),
                   (ENGLISH, self.tr("English"), ""),
                   (CHINESE, self.tr("中文 (简体)"), ""))
        # (a saved value from elsewhere: the system's is checked)
        self.languageMenu, self.languageGroup, _ = self.add_choice_menu(
            VIEW, self.tr("&Language"), choices, saved_language(), self.choose, name="languageMenu")

    def choose(self, language: str) -> None:
        """Remember ``language`` (SYSTEM, ENGLISH or CHINESE) and, if the window would change, offer to restart."""
        for action in self.languageGroup.actions():
            action.setChecked(action.data() == language)
        save_language(language)
        target = translation_language(QLocale(language) if language else QLocale.system())
        if target == installed_language():
            return
        if self.ask_restart(NATIVE_NAMES.get(target, target)):
            self.restart()

    def ask_restart(self, language: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, self.tr("Language"),
                          self.tr("cnndesk will be in {language} the next time it starts. Restart now?")
                          .format(language=language), parent=self.shell)
        restart = box.addButton(self.tr("Restart"), QMessageBox.ButtonRole.AcceptRole)
        box.addButton(self.tr("Later"), QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(restart)
        box.exec()
        return box.clickedButton() is restart

    def restart(self) -> bool:
        """Close the window (which saves the settings and joins its threads), then start cnndesk again — with the
        model it showed, where that is a cnndesk checkpoint of the user's (a run just trained, a file opened)."""
        current = self.session.model
        reopen = (current.path if current is not None and current.path is not None and current.saved
                  and not current.bundled and "foreign" not in current.meta and current.path.exists() else None)
        if not self.shell.close():
            return False
        program, arguments = restart_command(None if reopen is None else ["gui", "--checkpoint", str(reopen)])
        return QProcess.startDetached(program, arguments)[0]
