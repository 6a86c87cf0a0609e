"""Presentation mode (F11), the enlarged map and the theme: what a teacher in front of a projector relies on."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QSplitter, QTabBar, QWidget

from cnndesk.locations import pretrained_path
from cnndesk.ui.activations import MAP_ROW_HEIGHT
from cnndesk.ui.enlarged_map import EnlargedMap
from cnndesk.ui.panels.presentation import PresentationPanel
from cnndesk.ui.presentation import LINE_BOOST, MIN_PLOT_CONTRAST, contrast_ratio, presentation
from cnndesk.ui.theme import DARK, LIGHT, SYSTEM
from tests.ui.test_experiments_view import tiny
from tests.ui.test_health_view import show_health_tab, synthetic

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")

THREE = [(80, 60), (190, 60), (130, 130), (200, 190), (140, 240), (80, 220)]


def panel_of(window) -> PresentationPanel:
    return next(p for p in window.panels if isinstance(p, PresentationPanel))


def settle(qtbot, ms: int = 50) -> None:
    qtbot.wait(ms)
    QApplication.processEvents()


@pytest.fixture(autouse=True)
def light_afterwards():
    """The palette, the font and presentation mode are the application's: leave them as they were."""
    font = QApplication.font()
    yield
    from cnndesk.ui.theme import apply_theme

    apply_theme(LIGHT)
    QApplication.setFont(font)
    presentation().set_state(False, presentation().zoom)


def splitter_states(window) -> dict[str, list[int]]:
    """Where each splitter's handles are (a hidden pane counts 0, as the user sees it)."""
    return {s.objectName(): s.sizes() for s in window.findChildren(QSplitter) if s.objectName()}


def widget_geometries(window) -> dict[str, QRect]:
    """Where each visible widget of the window's areas is, by its place in the widget tree."""
    found = {}

    def walk(widget: QWidget, path: str) -> None:
        for index, child in enumerate(visible_children(widget)):
            name = f"{path}/{index}:{child.objectName() or type(child).__name__}"
            found[name] = QRect(child.geometry())
            walk(child, name)

    walk(window.centralWidget(), "central")
    return found


def test_f11_enters_full_screen_and_f11_or_esc_restores_the_window_exactly(window, qtbot, stroke):
    stroke(window.canvas, THREE)
    settle(qtbot, 200)
    picture = window.grab().toImage()  # (first: grabbing lays out the pages not shown too)
    geometry, splitters, font = QRect(window.geometry()), splitter_states(window), QApplication.font()
    widgets = widget_geometries(window)
    QTest.keyClick(window, Qt.Key.Key_F11)
    settle(qtbot)
    assert window.isFullScreen() and panel_of(window).presentAction.isChecked()
    assert QApplication.font().pointSizeF() == pytest.approx(font.pointSizeF() * 1.5)  # the default zoom
    QTest.keyClick(window, Qt.Key.Key_F11)
    settle(qtbot)
    assert not window.isFullScreen()
    assert window.geometry() == geometry and splitter_states(window) == splitters
    assert QApplication.font() == font
    # Every widget where it was (the training form kept its presentation width once), and no stale hint.
    moved = {name: (before, widget_geometries(window).get(name)) for name, before in widgets.items()
             if widget_geometries(window).get(name) != before}
    assert not moved, moved
    assert "F11" not in window.statusBar().currentMessage()
    # ...and inside the plots too (axes, legends, the model input's steps kept presentation mode's room): the
    # window looks exactly as it did, pixel for pixel.
    settle(qtbot, 200)
    after = window.grab().toImage()
    assert after == picture, "the window does not look as it did before presentation mode"

    window.presentAction.trigger()
    settle(qtbot)
    assert window.isFullScreen()
    QTest.keyClick(window, Qt.Key.Key_Escape)  # Esc leaves too, and does not clear the drawing meanwhile
    settle(qtbot)
    assert not window.isFullScreen() and window.geometry() == geometry and QApplication.font() == font


def test_esc_clears_the_canvas_again_once_presentation_mode_is_left(window, qtbot, stroke):
    window.presentAction.trigger()
    stroke(window.canvas, THREE)
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert not window.canvas.is_empty()  # it left presentation mode instead
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert window.canvas.is_empty()


def map_row_height(window) -> int:
    """The height of conv1's row of feature maps, in pixels."""
    return round(window.activations.row_rect("conv1").height())


def test_the_zoom_scales_the_font_and_the_maps_and_is_remembered(make_window, qtbot, stroke, monkeypatch):
    window = make_window()
    monkeypatch.setattr(panel_of(window), "screen_height", lambda: 1080)  # a projector's (offscreen: 800 px)
    stroke(window.canvas, THREE)
    settle(qtbot, 100)
    font, rows = QApplication.font().pointSizeF(), window.activations.rows
    assert rows[0].full_height == MAP_ROW_HEIGHT  # the most conv1's row takes (less where the column is narrow)
    window.zoomActions[2.0].trigger()  # View → Presentation zoom → ×2
    window.presentAction.trigger()
    settle(qtbot, 100)
    assert QApplication.font().pointSizeF() == pytest.approx(2 * font)
    assert window.activations.rows[0].full_height == 2 * MAP_ROW_HEIGHT
    assert window.predictionLabel.font().pointSizeF() == pytest.approx(56)
    window.zoomActions[1.25].trigger()  # changed while presenting: applied at once
    settle(qtbot)
    assert QApplication.font().pointSizeF() == pytest.approx(1.25 * font)
    assert window.activations.rows[0].full_height == round(1.25 * MAP_ROW_HEIGHT)
    window.presentAction.trigger()
    assert window.activations.rows[0].full_height == MAP_ROW_HEIGHT
    window.close()

    again = make_window()
    assert again.zoomActions[1.25].isChecked() and panel_of(again).zoom == 1.25


def test_a_zoom_too_large_for_the_screen_is_lowered_to_what_fits_and_said(window, qtbot, stroke, monkeypatch):
    """×2 on a 1280×720 screen is a 640×360 window's worth of room: it presents at ×1.5, which fits, and says so."""
    monkeypatch.setattr(panel_of(window), "screen_height", lambda: 720)
    font = QApplication.font().pointSizeF()
    present_at(window, qtbot, (1280, 720), zoom=2.0)
    stroke(window.canvas, THREE)
    settle(qtbot, 100)
    assert QApplication.font().pointSizeF() == pytest.approx(1.5 * font)
    assert "×1.5" in window.statusBar().currentMessage() and "×2" in window.statusBar().currentMessage()
    problems = layout_problems(window.centralWidget(), "central")
    assert not problems, "\n".join(problems)
    assert panel_of(window).zoom == 2.0  # the choice stays, for a larger screen


def visible_children(widget: QWidget) -> list[QWidget]:
    return [child for child in widget.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly)
            if child.isVisible() and not child.isWindow()]


def layout_problems(widget: QWidget, path: str = "") -> list[str]:
    """Visible widgets smaller than their minimum size hint (clipped), or overlapping a visible sibling. Qt's own
    inner parts (``qt_*``, a tab bar's scroll buttons) and what a scroll area scrolls are not judged."""
    problems = []
    children = [c for c in visible_children(widget) if not c.objectName().startswith("qt_")
                and not isinstance(widget, QTabBar)]
    scrolled = isinstance(widget.parentWidget(), QAbstractScrollArea)
    for index, child in enumerate(children):
        name = f"{path}/{child.objectName() or type(child).__name__}"
        hint, geometry = child.minimumSizeHint(), child.geometry()
        if hint.isValid() and (hint.width() > geometry.width() or hint.height() > geometry.height()):
            problems.append(f"{name} clipped: {geometry.width()}×{geometry.height()} < {hint.width()}×{hint.height()}")
        if not scrolled and not widget.rect().contains(geometry):
            problems.append(f"{name} outside its parent: {geometry} in {widget.rect()}")
        for other in children[index + 1:]:
            if geometry.intersects(other.geometry()):
                problems.append(f"{name} overlaps {other.objectName() or type(other).__name__}")
        problems += layout_problems(child, name)
    return problems


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_presentation_mode_fits_the_screen_without_clipping_or_overlaps(window, qtbot, stroke, size):
    window.presentAction.trigger()
    settle(qtbot)
    window.resize(*size)  # the offscreen screen is 800×800: the window is made the size of the projector's
    settle(qtbot, 100)
    stroke(window.canvas, THREE)
    settle(qtbot, 100)
    assert (window.width(), window.height()) == size
    problems = []
    for index in range(window.inspectTabs.count()):  # every view of the network, each shown in turn
        window.inspectTabs.setCurrentIndex(index)
        settle(qtbot, 50)
        problems += layout_problems(window.centralWidget(), f"central[{window.inspectTabs.tabText(index)}]")
    assert not problems, "\n".join(problems)
    columns = window.mainSplitter.widget(0)
    assert all(columns.widget(i).width() >= columns.widget(i).minimumSizeHint().width() for i in range(3))
    # At 1920×1080 the training tabs fit under the maps; at 1280×720 they give their room to the maps.
    assert window.bottomTabs.isVisible() == (size == (1920, 1080))
    window.presentAction.trigger()
    assert window.bottomTabs.isVisible()


def double_click(widget: QWidget, point) -> None:
    """What a hand sends: press, release, press (a double-click), release. (QTest.mouseDClick sends no release,
    and pyqtgraph reports a click on the release.)"""
    for send in (QTest.mouseClick, QTest.mouseDClick, QTest.mouseRelease):
        send(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def enlarged() -> list[EnlargedMap]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, EnlargedMap) and w.isVisible()]


def test_double_click_enlarges_a_feature_map_and_esc_closes_it_while_click_still_explains(window, qtbot, stroke):
    stroke(window.canvas, THREE)
    settle(qtbot, 100)
    graphics = window.activations.graphics
    rect = window.activations.row_rect("conv1")
    # The second map of conv1's row, a little inside it.
    point = graphics.mapFromScene(QPointF(rect.left() + rect.width() * (1.5 / 6), rect.center().y()))
    QTest.mouseClick(graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    settle(qtbot)
    assert window.session.selection is not None and window.session.selection.layer == "conv1"  # the explainer
    assert window.cellExplainer.isVisible() and not enlarged()
    double_click(graphics.viewport(), point)
    settle(qtbot)
    [dialog] = enlarged()
    channel = window.session.selection.cell[0]
    assert dialog.values.shape == (28, 28) and f"channel {channel}" in dialog.title.text  # LeNet5 pads conv1
    assert (dialog.values == window.inspection.layers[0].output[channel]).all()
    screen = dialog.screen().availableGeometry()
    assert dialog.height() >= 0.6 * screen.height()
    assert dialog.bar.levels() == pytest.approx(window.activations.rows[0].image.getLevels())  # its colour scale
    QTest.keyClick(dialog, Qt.Key.Key_Escape)
    settle(qtbot)
    assert not enlarged() and not window.isFullScreen()


def test_kernels_and_attributions_enlarge_too(window, qtbot, stroke):
    stroke(window.canvas, THREE)
    settle(qtbot, 100)
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i).replace("&", "") for i in range(tabs.count())].index("Filters"))
    settle(qtbot, 100)
    view = window.filtersView
    first_kernel = view.rows[0].view.mapViewToScene(QPointF(2.5, 2.5))  # the middle of conv1's first 5×5 kernel
    double_click(view.graphics.viewport(), view.graphics.mapFromScene(first_kernel))
    settle(qtbot)
    [dialog] = enlarged()
    assert dialog.values.shape == (5, 5) and "conv1[0, 0]" in dialog.title.text
    dialog.close()
    settle(qtbot)
    window.attributionView.show_attribution(None, None)
    window.attributionView.enlarge()  # nothing to show: nothing opens
    assert not enlarged()


def test_the_dark_theme_darkens_the_window_the_plots_and_the_canvas_and_is_remembered(make_window, qtbot, stroke):
    window = make_window()
    assert window.themeActions[SYSTEM].isChecked()  # offscreen, the system scheme is Unknown: light
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 128
    window.themeActions[DARK].trigger()
    settle(qtbot)
    palette = QApplication.palette()
    assert palette.color(QPalette.ColorRole.Window).lightness() < 80
    assert palette.color(QPalette.ColorRole.WindowText).lightness() > 200
    disabled = palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText)
    assert 90 < disabled.lightness() < 170  # readable, and plainly not enabled text
    # A menu's check box (View → Presentation mode): Fusion fills it with Base and edges it in Window darkened by
    # 140%; on the dark menu the two must differ enough to see the box.
    menu = window.menus["view"].palette()
    assert menu.color(QPalette.ColorRole.Base).lightness() - \
        menu.color(QPalette.ColorRole.Window).darker(140).lightness() >= 25
    assert window.probabilities.backgroundBrush().color().lightness() < 80
    assert window.probabilities.getAxis("bottom").textPen().color().lightness() > 200
    # The canvas shows the digit as MNIST has it: white ink on black.
    stroke(window.canvas, THREE)
    settle(qtbot)
    picture = window.canvas.grab().toImage()
    corner = picture.pixelColor(picture.width() // 2, picture.height() // 2 - min(picture.width(),
                                                                                  picture.height()) // 2 + 4)
    assert corner.lightness() < 60
    window.close()
    again = make_window()
    assert again.themeActions[DARK].isChecked()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 80
    again.themeActions[LIGHT].trigger()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 128
    assert again.probabilities.backgroundBrush().color().lightness() == 255


def present_at(window, qtbot, size: tuple[int, int], zoom: float = 1.5) -> None:
    """Presentation mode at ``zoom`` on a screen of ``size`` (the offscreen screen is 800×800: the window is made
    the projector's size)."""
    window.zoomActions[zoom].trigger()
    window.presentAction.trigger()
    settle(qtbot)
    window.resize(*size)
    settle(qtbot, 100)


def show_tab(tabs, title: str) -> None:
    tabs.setCurrentIndex([tabs.tabText(i).replace("&", "") for i in range(tabs.count())].index(title))


def test_rows_of_maps_are_as_tall_as_their_maps_with_no_gap_under_the_title(window, qtbot, stroke):
    present_at(window, qtbot, (1280, 720))
    stroke(window.canvas, THREE)
    settle(qtbot, 100)
    view = window.activations
    map_rows = [row for row in view.rows if row.bars is None]
    assert [row.name for row in map_rows][:3] == ["conv1", "pool1", "conv2"]
    for row in map_rows:
        maps, space = row.image.sceneBoundingRect(), row.view.sceneBoundingRect()
        # The maps fill their row's width and its height but for the view's padding: nothing empty above them.
        assert maps.width() > 0.95 * space.width(), row.name
        assert maps.height() > space.height() - 6, f"{row.name}: maps {maps.height():.0f} px in {space.height():.0f}"
        title = row.title.sceneBoundingRect()
        assert space.top() - title.bottom() < 15, f"{row.name}: a gap between its title and its maps"


def test_curves_follow_the_dark_theme_readably_and_their_legends_match(window, qtbot):

    panel = window.trainingPanel
    curves = {"raw": panel.rawLoss.item, "smoothed": panel.smoothLoss.item, "train": panel.trainAccuracy.item,
              "test": panel.testAccuracy.item}
    light = {name: curve.opts["pen"].color().name() for name, curve in curves.items()}
    window.themeActions[DARK].trigger()
    settle(qtbot)
    show_health_tab(window, qtbot)
    window.healthView.add_sample(synthetic(1))  # a run's lines, made after the theme was chosen
    settle(qtbot)
    health = window.healthView
    plotted = [(f"training {name}", panel.lossPlot, curve) for name, curve in curves.items()]
    plotted += [(f"health {name}", health.graphics, curve)
                for name, curve in zip(health.layer_names, health.mean_curves, strict=True)]
    plotted += [("health reference", health.graphics, health.referenceLine)]
    for name, plot, item in plotted:
        background = plot.backgroundBrush().color()
        assert background.lightness() < 80
        pen = item.pen if isinstance(item, type(health.referenceLine)) else item.opts["pen"]
        assert contrast_ratio(pen.color(), background) >= MIN_PLOT_CONTRAST, name
    # The smoothed loss stays the stronger of the two loss lines, as on white.
    background = panel.lossPlot.backgroundBrush().color()
    assert contrast_ratio(curves["smoothed"].opts["pen"].color(), background) > contrast_ratio(
        curves["raw"].opts["pen"].color(), background)
    # A legend draws each entry from its line: the training legend's samples are the curves themselves, and the
    # health legend's reference entry (a line in no plot) is drawn in the reference line's colour.
    legend = panel.lossPlot.plotItem.legend
    assert [sample.item for sample, _ in legend.items] == [curves["raw"], curves["smoothed"]]
    reference_sample = health.legend.items[-1][0].item
    assert reference_sample.opts["pen"].color() == health.referenceLine.pen.color()
    assert health.mean_curves[0].opts["symbolBrush"].color() == health.mean_curves[0].opts["pen"].color()
    window.themeActions[LIGHT].trigger()  # and back: the colours as designed for white
    settle(qtbot)
    assert {name: curve.opts["pen"].color().name() for name, curve in curves.items()} == light


def test_curves_a_run_makes_while_presenting_are_thick_from_the_start(window, qtbot):

    present_at(window, qtbot, (1920, 1080))
    show_health_tab(window, qtbot)
    window.healthView.add_sample(synthetic(1))
    assert {curve.opts["pen"].widthF() for curve in window.healthView.update_curves} == {2 * LINE_BOOST}
    view = window.experiments
    view.add_configs([tiny("mlp", images=128)])
    view.run_queue()
    qtbot.waitUntil(lambda: len(view.runs()) == 1, timeout=30000)
    [run] = view.runs()
    assert run.accuracy.item.opts["pen"].widthF() == 2 * LINE_BOOST  # before the run ends
    assert run.loss.item.opts["pen"].widthF() == 2 * LINE_BOOST
    qtbot.waitUntil(lambda: not view.is_active(), timeout=60000)
    view.table.selectRow(0)  # picked out: thicker still, in proportion
    assert run.loss.item.opts["pen"].widthF() == 3.5 * LINE_BOOST
