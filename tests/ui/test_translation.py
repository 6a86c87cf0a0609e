"""Every text the window shows goes through Qt's translation, so that a translation (``.qm``) covers the whole app.

A pseudo-translator turns every source text into ``⟦text⟧``; the window is built under it, and a walk over all it
shows (labels, buttons, tabs, menus, combos, table headers, plot titles and axes, legends, tooltips, the status bar)
finds no text without the mark: one ``self.tr(`` left out fails it. The few texts that are rightly not translated
are in ``UNTRANSLATED`` and ``untranslated_allowed``, with the reason.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QCoreApplication, QLocale, Qt, QTranslator
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QGraphicsView,
    QHeaderView,
    QLabel,
    QListWidget,
    QMenu,
    QTabWidget,
    QWidget,
)

from cnndesk.engine import MODELS, BatchMetrics, EpochMetrics, FitInfo, ResumePoint, TrainConfig
from cnndesk.locations import pretrained_path
from cnndesk.ui.i18n import install_translations
from cnndesk.ui.plotting import pg

MARK = "⟦"
# Texts shown as they are in every language, each for its reason:
UNTRANSLATED = {
    *MODELS,  # the models' names (the model combo, the window title): identifiers, as on the command line
    *(f"{name} — {spec.description}" for name, spec in MODELS.items()),  # Open bundled model: the registry's own
    "CPU", "CUDA", "MPS",  # the devices' names (the device combo): names of the hardware ("Auto" is translated)
}
# Numbers, percentages and the prediction ("7  ·  98.6%"), "—" for no value: no words in them.
NO_WORDS = re.compile(r"[\d\s.,:%·×—+\-\[\]()]*")
HTML_TAG = re.compile(r"<[^>]+>")


class PseudoTranslator(QTranslator):
    """Translates every source text, of any context, to ``⟦text⟧``; the ``{placeholders}`` stay for ``.format``."""

    def translate(self, context: str, source_text: str, disambiguation: str | None = None, n: int = -1) -> str:
        return f"{MARK}{source_text}⟧" if source_text else source_text

    def isEmpty(self) -> bool:  # an empty translator is not consulted
        return False


@pytest.fixture
def pseudo(qapp):
    """The pseudo-translation, installed before the window is built (request it before ``make_window``)."""
    translator = PseudoTranslator()
    assert QCoreApplication.installTranslator(translator)
    assert QCoreApplication.translate("MainWindow", "&File") == "⟦&File⟧"
    yield translator
    QCoreApplication.removeTranslator(translator)


# -- the walk ---------------------------------------------------------------------------------------------------
def plain(text: str) -> str:
    return HTML_TAG.sub("", text).replace("&nbsp;", " ").strip()


def menu_texts(menu: QMenu, where: str) -> list[tuple[str, str]]:
    """A menu's title and its actions' texts and tips, submenus included."""
    found = [(f"{where} menu title", menu.title())]
    for action in menu.actions():
        if action.isSeparator():
            continue
        name = f"{where} › {action.text()!r}"
        found += [(name, action.text()), (f"{name} tooltip", action.toolTip()),
                  (f"{name} status tip", action.statusTip())]
        if action.menu() is not None:
            found += menu_texts(action.menu(), name)
    return found


def graphics_texts(view: QGraphicsView, where: str) -> list[tuple[str, str]]:
    """pyqtgraph's texts in a view: plot titles, axis labels, legend entries, free labels."""
    found = []
    scene = view.scene()
    for item in scene.items() if scene is not None else ():
        if isinstance(item, pg.PlotItem):
            found.append((f"{where} plot title", item.titleLabel.text))
            for side in ("left", "bottom", "right", "top"):
                axis = item.getAxis(side)
                if axis.isVisible() and axis.label.isVisible():
                    found.append((f"{where} {side} axis", axis.labelText))
        elif isinstance(item, pg.LegendItem):
            found += [(f"{where} legend", label.text) for _, label in item.items]
        elif isinstance(item, pg.LabelItem):
            found.append((f"{where} label", item.text))
    return found


LAYER_COMBOS = {"attributionLayer", "wantsLayer"}


def visible_texts(root: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every text ``root`` and its children show or may show (tooltips, tips, hidden bars)."""
    found: list[tuple[str, str]] = []
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        name = widget.objectName() or type(widget).__name__
        found += [(f"{name} tooltip", widget.toolTip()), (f"{name} status tip", widget.statusTip()),
                  (f"{name} what's this", widget.whatsThis())]
        if widget.isWindow():
            found.append((f"{name} window title", widget.windowTitle()))
        if isinstance(widget, QLabel):
            found.append((f"label {name}", widget.text()))
        elif isinstance(widget, QAbstractButton):
            found.append((f"button {name}", widget.text()))
            menu = getattr(widget, "menu", lambda: None)()
            if menu is not None:
                found += menu_texts(menu, f"button {name}")
        elif isinstance(widget, QTabWidget):
            for i in range(widget.count()):
                found += [(f"{name} tab {i}", widget.tabText(i)), (f"{name} tab {i} tooltip", widget.tabToolTip(i))]
        elif isinstance(widget, QComboBox) and widget.objectName() in LAYER_COMBOS:
            continue  # layers' names in the model ("conv2"), as the code names them
        elif isinstance(widget, QComboBox):
            registry = widget.objectName() == "modelCombo"  # the models' names, their descriptions as tooltips
            for i in range(widget.count()):
                found.append((f"{name} item {i}", widget.itemText(i)))
                if not registry:
                    found.append((f"{name} item {i} tooltip", widget.itemData(i, Qt.ItemDataRole.ToolTipRole) or ""))
        elif isinstance(widget, QHeaderView) and widget.orientation() == Qt.Orientation.Horizontal:
            model, table = widget.model(), widget.parent().objectName()
            for section in range(model.columnCount() if model is not None else 0):
                found.append((f"{table} header {section}",
                              model.headerData(section, Qt.Orientation.Horizontal) or ""))
        elif isinstance(widget, QListWidget):
            for i in range(widget.count()):
                found += [(f"{name} item {i}", widget.item(i).text()),
                          (f"{name} item {i} tooltip", widget.item(i).toolTip())]
        elif isinstance(widget, QGraphicsView):
            found += graphics_texts(widget, name)
    if hasattr(root, "menuBar"):
        for action in root.menuBar().actions():
            found += menu_texts(action.menu(), "menu bar")
        found.append(("status bar", root.statusBar().currentMessage()))
    return found


def untranslated_allowed(text: str, extra: set[str]) -> bool:
    return text in UNTRANSLATED or text in extra or bool(NO_WORDS.fullmatch(text))


def assert_translated(root: QWidget, extra: set[str] = frozenset()) -> int:
    """Every text under ``root`` went through the translator (``extra``: more texts that rightly did not)."""
    texts = [(where, plain(text)) for where, text in visible_texts(root)]
    missed = [f"{where}: {text!r}" for where, text in texts
              if text and MARK not in text and not untranslated_allowed(text, extra)]
    assert not missed, "texts shown without translation:\n" + "\n".join(missed)
    return sum(1 for _, text in texts if text)


def layer_titles(window) -> set[str]:
    """The layer rows' titles: a layer's name in the model ("conv1 · ReLU") and its shape, as the code names it."""
    return {f"{row.signature[0]}  {list(row.signature[1])}" for row in window.activations.rows}


# -- the window --------------------------------------------------------------------------------------------------
@pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")
def test_every_text_of_the_window_goes_through_the_translator(pseudo, make_window, stroke, qtbot, tmp_path):
    window = make_window(load_engine=False)
    # The first step, before PyTorch: the canvas, the prediction, the layer views, the menus, "Loading…".
    assert window.predictionLabel.text() == "⟦Loading…⟧"
    assert window.statusBar().currentMessage() == "⟦Loading PyTorch…⟧"
    assert assert_translated(window) > 40
    assert MARK in window.canvas.placeholder_text()  # painted, not a widget's text

    with qtbot.waitSignal(window.engineReady, timeout=30000):
        window.start_loading()
    qtbot.wait(50)
    # Ready: the Training and Experiments tabs, the bundled models, the model in the status bar.
    assert window.modelStatus.text().startswith("⟦Model: ")
    counted = assert_translated(window, layer_titles(window))
    assert counted > 200, f"the walk found only {counted} texts"
    assert [window.bottomTabs.tabText(i) for i in range(window.bottomTabs.count())] == [
        "⟦Training⟧", "⟦Experiments⟧", "⟦My digits⟧"]
    assert window.summaryView.item(window.summaryView.rowCount() - 1, 0).text() == "⟦total⟧"

    # A digit drawn: the prediction, its bars, the input's steps and every layer's row.
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: window.predictionLabel.text()[:1].isdigit(), timeout=5000)
    assert_translated(window, layer_titles(window))

    # The Test set tab, built when first shown, and evaluated.
    tabs = window.inspectTabs
    tabs.setCurrentWidget(window.findChild(QWidget, "testSet"))
    qtbot.waitUntil(lambda: window.testBrowser is not None, timeout=5000)
    window.evaluateButton.click()
    qtbot.waitUntil(lambda: window.session.evaluation is not None, timeout=30000)
    assert_translated(window, layer_titles(window))

    # Each model's form: the options it takes explain themselves, the others say why the model has none.
    panel = window.trainingPanel
    for index in range(panel.modelCombo.count()):
        panel.modelCombo.setCurrentIndex(index)
        assert_translated(panel)

    # A queued run: its line and its tooltip.
    window.experiments.add_current()
    assert window.experiments.queueList.count() == 1
    assert_translated(window.experiments)
    window.experiments.clear_queue()

    # The status bar's messages (empty once the window is ready): one of them, after a save.
    assert window.save_model_to(tmp_path / "saved.safetensors") is not None
    assert window.statusBar().currentMessage().startswith("⟦Saved ")


def test_the_training_panels_progress_goes_through_the_translator(pseudo, qtbot):
    from cnndesk.ui.training_panel import TrainingPanel

    panel = TrainingPanel()
    qtbot.addWidget(panel)
    config = TrainConfig.for_model("lenet5", epochs=3)
    history = [EpochMetrics(1, 0.3, 0.9, 0.95, 10.0, 5000.0)]
    shown = []
    panel.prepare_resume(ResumePoint(Path("run.safetensors"), config, 1, history))
    shown.append(panel.statusLabel.text())
    panel.on_started(FitInfo(config, None, torch.device("cpu"), 60000, 10000, 469, 61706))
    shown.append(panel.statusLabel.text())
    assert "61,706" in shown[-1] and "469" in shown[-1]  # the values, filled in after translating
    panel.set_running(True)
    panel.add_losses(np.array([470.0]), np.array([0.25]), BatchMetrics(2, 1, 469, 470, 0.25, 30000, 5000.0, 6.0,
                                                                       math.nan))
    shown.append(panel.statusLabel.text())
    assert "⟦estimating…⟧" in shown[-1]  # the session's sentences go through Qt's translator too
    panel.pauseButton.click()
    shown += [panel.statusLabel.text(), panel.pauseButton.text()]
    for text in shown:
        assert text.startswith(MARK), text
    assert_translated(panel)


def test_every_reason_a_model_lacks_an_option_is_marked_for_translation():
    """The engine imports no Qt: its reasons (ModelSpec.fixed, shown in the form's tooltips) are marked in the UI."""
    from cnndesk.ui.training_panel import FIXED_REASONS

    reasons = {reason for spec in MODELS.values() for _, reason in spec.fixed.values()}
    assert reasons <= set(FIXED_REASONS), f"add to training_panel.FIXED_REASONS: {reasons - set(FIXED_REASONS)}"


def test_the_resume_dialog_goes_through_the_translator(pseudo, qtbot, tmp_path):
    from cnndesk.ui.resume_dialog import ResumeDialog

    dialog = ResumeDialog(folder=tmp_path)
    qtbot.addWidget(dialog)
    assert_translated(dialog)


# -- loading a translation ------------------------------------------------------------------------------------
def test_a_locale_without_a_translation_keeps_the_english_texts(qapp, tmp_path):
    assert install_translations(qapp, QLocale(QLocale.Language.Chinese, QLocale.Country.China), tmp_path) == []
    assert QCoreApplication.translate("MainWindow", "&File") == "&File"
    # The user's own locale and the bundled folder (which may hold no .qm at all): no error either way.
    for translator in install_translations(qapp):
        QCoreApplication.removeTranslator(translator)


def test_the_application_installs_the_translation_once(qapp, monkeypatch):
    import cnndesk.ui.app as app_module

    calls = []
    monkeypatch.setattr(app_module, "_translated", set())
    monkeypatch.setattr(app_module, "install_translations", calls.append)  # not the user's locale in the tests
    assert app_module.make_application() is qapp
    assert app_module.make_application() is qapp
    assert calls == [qapp]


def test_a_translation_for_the_locale_is_installed(qapp, tmp_path):
    source = tmp_path / "cnndesk_fr.ts"
    source.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n<TS version="2.1" language="fr">\n'
                      "<context><name>MainWindow</name><message><source>&amp;File</source>"
                      "<translation>&amp;Fichier</translation></message></context>\n</TS>\n", encoding="utf-8")
    compiled = tmp_path / "cnndesk_fr.qm"
    lrelease = "import sys; from PySide6.scripts.pyside_tool import lrelease; sys.exit(lrelease())"
    done = subprocess.run([sys.executable, "-c", lrelease, str(source), "-qm", str(compiled)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0 or not compiled.exists():
        pytest.skip(f"pyside6-lrelease is not available: {done.stderr.strip()[:200]}")
    installed = install_translations(qapp, QLocale(QLocale.Language.French, QLocale.Country.France), tmp_path)
    try:
        assert installed
        assert QCoreApplication.translate("MainWindow", "&File") == "&Fichier"
    finally:
        for translator in installed:
            QCoreApplication.removeTranslator(translator)
    assert QCoreApplication.translate("MainWindow", "&File") == "&File"
