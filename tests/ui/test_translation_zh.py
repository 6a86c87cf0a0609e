"""The Simplified Chinese window: every text the code shows has a finished translation that keeps its
``{placeholders}``, the committed ``.qm`` is compiled from the committed ``.ts``, the bundled font draws every
character of it, and the window comes up in Chinese when chosen (View → Language) or when the system says so.

The catalogue is made fresh from the sources here (pyside6-lupdate, as scripts/translations.py runs it): a text
added with ``tr()`` and not translated fails the first test, named.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QProcess
from PySide6.QtGui import QFont, QRawFont, QTextLayout

from cnndesk.locations import resource_path
from cnndesk.ui import i18n
from cnndesk.ui.settings import saved_language

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("cnndesk_translations", REPO / "scripts" / "translations.py")
translations = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)  # (its dataclass needs it there)
_spec.loader.exec_module(translations)


@pytest.fixture(scope="module")
def fresh_catalogue(tmp_path_factory) -> list:
    """The committed .ts brought up to date with the sources in a temp copy: new texts come in unfinished."""
    copy = tmp_path_factory.mktemp("ts") / translations.TS_FILE.name
    shutil.copy(translations.TS_FILE, copy)
    translations.lupdate(copy)
    return translations.read_messages(copy)


def test_every_text_of_the_window_has_a_chinese_translation(fresh_catalogue):
    assert len(fresh_catalogue) > 400  # lupdate found the sources' texts
    found = translations.problems(fresh_catalogue)
    assert not found, ("texts without a finished zh_CN translation, or whose translation lost a {placeholder} "
                       "(python scripts/translations.py lists them):\n" + "\n".join(found))


def test_a_translation_that_drops_a_placeholder_is_caught():
    message = translations.Message("MainWindow", "Saved {path}", "已保存", True)
    assert translations.problems([message]) == ["placeholders differ: [MainWindow] 'Saved {path}' → '已保存'"]


def test_the_committed_qm_is_compiled_from_the_committed_ts():
    assert translations.qm_is_current(), "run python scripts/translations.py to compile cnndesk_zh_CN.qm"


def test_the_bundled_font_draws_every_character_of_the_translation(qapp):
    font = QRawFont(str(translations.FONT_FILE), 12)
    assert font.isValid() and font.familyName() == translations.FONT_FAMILY
    characters = translations.translated_characters(translations.read_messages(translations.TS_FILE))
    assert "卷" in characters and "积" in characters
    missing = sorted(char for char in characters if not font.supportsCharacter(ord(char)))  # (a str: Latin-1 only)
    assert not missing, f"not in {translations.FONT_FILE.name} (python scripts/translations.py --font): {missing}"


@pytest.fixture
def chinese(qapp):
    """The zh_CN translation installed (and the font fallback, where needed), removed afterwards."""
    font = QFont(qapp.font())
    installed = i18n.install_translations(qapp, QLocale("zh_CN"))
    yield installed
    for translator in installed:
        QCoreApplication.removeTranslator(translator)
    i18n._installed.pop(id(qapp), None)
    qapp.setFont(font)
    for family in QFont.substitutions():
        QFont.removeSubstitutions(family)


def test_the_window_in_chinese_has_chinese_menus(chinese, make_window):
    assert chinese, "the bundled cnndesk_zh_CN.qm did not load"
    assert i18n.installed_language() == "zh_CN"
    assert i18n.has_chinese_font() or translations.FONT_FAMILY in QCoreApplication.instance().font().families()
    window = make_window(load_engine=False)
    titles = [action.text() for action in window.menuBar().actions()]
    assert titles[:3] == ["文件(&F)", "编辑(&E)", "视图(&V)"]
    assert window.statusBar().currentMessage() == "正在加载 PyTorch…"
    language = window.languageMenu
    assert language.title() == "语言(&L)" and language.menuAction() in window.menus["view"].actions()
    assert [action.text() for action in language.actions()] == ["跟随系统", "English", "中文 (简体)"]


def test_the_bundled_font_draws_chinese_where_the_system_has_no_font_for_it(qapp, monkeypatch):
    font = QFont(qapp.font())
    monkeypatch.setattr(i18n, "has_chinese_font", lambda: False)
    try:
        assert i18n.ensure_chinese_font(qapp) == translations.FONT_FAMILY
        assert i18n.ensure_chinese_font(qapp) == translations.FONT_FAMILY  # again: registered once, named once
        assert qapp.font().families().count(translations.FONT_FAMILY) == 1
        for family in (qapp.font(), QFont("monospace")):  # the application's font, and one a widget sets itself
            layout = QTextLayout("卷积层 conv1", family)
            layout.beginLayout()
            layout.createLine()
            layout.endLayout()
            faces = {run.rawFont().familyName().casefold() for run in layout.glyphRuns()}
            assert translations.FONT_FAMILY.casefold() in faces, faces  # the Chinese glyphs come from the bundled font
            # ...and only they: Latin text keeps the system's font and its line height (from the subset, pyqtgraph
            # dropped the probability bars' digits, which no longer fitted under the bars).
            latin = QTextLayout("Ready 0123", family)
            latin.beginLayout()
            latin.createLine()
            latin.endLayout()
            assert all(run.rawFont().familyName().casefold() != translations.FONT_FAMILY.casefold()
                       for run in latin.glyphRuns())
    finally:
        qapp.setFont(font)
        for name in QFont.substitutions():
            QFont.removeSubstitutions(name)


def test_an_english_window_draws_the_language_menu_s_chinese_name_too(qapp, monkeypatch):
    """View → Language offers "中文 (简体)" in every language: without a system font it would show as boxes."""
    font = QFont(qapp.font())
    monkeypatch.setattr(i18n, "has_chinese_font", lambda: False)
    try:
        assert i18n.install_translations(qapp, QLocale("en_US")) == []  # English: no translator...
        assert translations.FONT_FAMILY in qapp.font().families()  # ...but the font for 中文
    finally:
        qapp.setFont(font)
        for name in QFont.substitutions():
            QFont.removeSubstitutions(name)


def test_choosing_chinese_is_remembered_and_offers_a_restart(make_window, monkeypatch):
    from cnndesk.ui.panels.language import LanguagePanel

    window = make_window(load_engine=False)
    panel = next(p for p in window.panels if isinstance(p, LanguagePanel))
    asked = []
    monkeypatch.setattr(panel, "ask_restart", lambda language: asked.append(language) or False)
    assert saved_language() == ""  # follows the system until chosen
    chinese = next(a for a in panel.languageGroup.actions() if a.data() == i18n.CHINESE)
    chinese.trigger()
    assert saved_language() == "zh_CN" and chinese.isChecked()
    assert asked == ["中文"]  # the window is in English: it will change at the next start
    assert i18n.chosen_locale().name() == "zh_CN"  # what install_translations uses at the next start
    panel.choose(i18n.ENGLISH)  # already English: nothing to restart for
    assert asked == ["中文"] and saved_language() == "en"


def test_restart_closes_the_window_then_starts_the_same_command(make_window, monkeypatch):
    from cnndesk.ui.panels import language

    window = make_window(load_engine=False)
    panel = next(p for p in window.panels if isinstance(p, language.LanguagePanel))
    started = []
    monkeypatch.setattr(QProcess, "startDetached",
                        lambda program, arguments: started.append((program, arguments, window.isVisible())) or
                        (True, 1))
    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/cnndesk", "model.safetensors"])
    assert panel.restart()
    assert started == [(sys.executable, ["/opt/venv/bin/cnndesk", "model.safetensors"], False)]
    monkeypatch.setattr(sys, "argv", ["/src/cnndesk/__main__.py"])
    assert language.restart_command() == (sys.executable, ["-m", "cnndesk"])


def test_restart_reopens_the_model_the_user_trained(make_window, monkeypatch, tmp_path):
    """A run just trained (saved in its checkpoint) is what the restarted window shows, not the starting model."""
    from cnndesk.engine import build_model, save_checkpoint
    from cnndesk.ui.panels import language

    path = tmp_path / "mine.safetensors"
    save_checkpoint(build_model("lenet5"), path)
    window = make_window(checkpoint=str(path))
    panel = next(p for p in window.panels if isinstance(p, language.LanguagePanel))
    started = []
    monkeypatch.setattr(QProcess, "startDetached", lambda program, arguments: started.append(arguments) or (True, 1))
    monkeypatch.setattr(sys, "argv", ["/opt/venv/bin/cnndesk"])
    assert panel.restart()
    assert started == [["/opt/venv/bin/cnndesk", "gui", "--checkpoint", str(path)]]


def test_a_chinese_system_locale_shows_the_window_in_chinese(tmp_path):
    """``LANG=zh_CN.UTF-8 cnndesk``: the application made as run_app makes it translates into Chinese."""
    env = {**os.environ, "LANG": "zh_CN.UTF-8", "LANGUAGE": "", "CNNDESK_SETTINGS": str(tmp_path / "s.ini"),
           "QT_QPA_PLATFORM": "offscreen"}
    env.pop("LC_ALL", None)
    env.pop("LC_MESSAGES", None)
    script = ("from PySide6.QtCore import QCoreApplication as C; from cnndesk.ui.app import make_application; "
              "make_application(); print(C.translate('MainWindow', '&File'))")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "文件(&F)"
    assert resource_path("fonts", i18n.CJK_FONT).exists()  # shipped with the package, beside the translations


def test_no_text_is_translated_inside_an_f_string():
    """lupdate does not look inside f-strings: a tr() there is never extracted, and shows in English whatever the
    language (the guide's "Keyboard shortcuts" did)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "cnndesk"
    hidden = []
    for source in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and getattr(inner.func, "attr", getattr(inner.func, "id", "")) \
                            in ("tr", "translate"):
                        hidden.append(f"{source.relative_to(root.parent)}:{inner.lineno}")
    assert not hidden, hidden
