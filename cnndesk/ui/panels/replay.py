"""Replay the training: a timeline of the shown model's weight snapshots, from its first step to its last, beside
the bottom tabs' titles. Moving it shows the network as it was then — the prediction, the maps, the filters and the
test set's confusion matrix follow, as they follow a run's weights — and *Play* steps through it for a class.

It is there whenever the model shown has a history: a model trained in cnndesk (its checkpoint keeps the
snapshots), and a run while it trains. The slider's last position is the model's own, latest weights.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from .base import BOTTOM_CORNER, TRAINING, Panel

PLAY_INTERVAL_MS = 250  # four snapshots a second: a run's 64 in 16 s, slow enough to watch the filters form


class ReplayPanel(Panel):
    area = BOTTOM_CORNER

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.historyReplay: QWidget | None = None
        self.historySlider: QSlider | None = None
        self.playButton: QToolButton | None = None
        self.latestButton: QToolButton | None = None
        self.historyLabel: QLabel | None = None
        self._timer = QTimer(self, interval=PLAY_INTERVAL_MS)
        self._timer.timeout.connect(self._play_step)
        self.playAction = self.add_action(TRAINING, self.tr("&Replay the training"), self.toggle_play,
                                          ["Ctrl+Shift+R"], self.tr("Play the model's training from its first step"),
                                          needs_engine=True)
        self.add_action(TRAINING, self.tr("Earlier snapshot"), lambda: self.step(-1), ["Ctrl+Shift+Left"],
                        needs_engine=True)
        self.add_action(TRAINING, self.tr("Later snapshot"), lambda: self.step(1), ["Ctrl+Shift+Right"],
                        needs_engine=True)
        self.add_action(TRAINING, self.tr("Latest weights"), self.show_latest, ["Ctrl+Shift+End"],
                        needs_engine=True)

    def engine_ready(self) -> None:
        super().engine_ready()
        widget = self.historyReplay = QWidget(objectName="historyReplay")
        layout = QHBoxLayout(widget)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        title = QLabel(self.tr("Replay"))
        self.playButton = QToolButton(objectName="playHistoryButton", checkable=True, autoRaise=True)
        self.playButton.setIcon(self._icon(playing=False))
        self.playButton.setToolTip(self.tr("Play the training from its first snapshot (Ctrl+Shift+R)"))
        self.playButton.toggled.connect(self._set_playing)
        slider = self.historySlider = QSlider(Qt.Orientation.Horizontal, objectName="historySlider")
        slider.setMinimumWidth(180)
        slider.setPageStep(4)
        slider.setToolTip(self.tr("The model as it was during its training: drag to any snapshot "
                                  "(Ctrl+Shift+Left/Right); the right end is its final weights"))
        slider.valueChanged.connect(self._slider_moved)
        self.historyLabel = QLabel(objectName="historyLabel")
        self.historyLabel.setMinimumWidth(self.historyLabel.fontMetrics().horizontalAdvance("step 99,999 · "
                                                                                            "epoch 99.99 · 99.9%"))
        self.latestButton = QToolButton(objectName="latestWeightsButton", autoRaise=True)
        self.latestButton.setText(self.tr("Latest"))
        self.latestButton.setToolTip(self.tr("Back to the model's own, latest weights (Ctrl+Shift+End)"))
        self.latestButton.clicked.connect(self.show_latest)
        for child in (title, self.playButton, slider):
            layout.addWidget(child)
        layout.addWidget(self.historyLabel)
        layout.addWidget(self.latestButton)
        self.session.history_changed.connect(self._history_changed)
        self.session.snapshot_changed.connect(self._snapshot_changed)
        self._history_changed(self.session.history)

    def engine_widget(self) -> QWidget | None:
        return self.historyReplay

    # -- following the session ---------------------------------------------------------------------------
    def _history_changed(self, history) -> None:
        slider = self.historySlider
        shown = history is not None and len(history) > 1
        self.historyReplay.setVisible(shown)
        for action in self._engine_actions:
            action.setEnabled(shown)
        if not shown:
            self.playButton.setChecked(False)
            return
        at_end = slider.value() >= slider.maximum()
        slider.blockSignals(True)
        slider.setMaximum(len(history))  # the last position: the latest weights
        if self.session.snapshot is None and (at_end or not self.playButton.isChecked()):
            slider.setValue(len(history))
        slider.blockSignals(False)
        self._describe()

    def _snapshot_changed(self, index: int | None) -> None:
        slider = self.historySlider
        slider.blockSignals(True)
        slider.setValue(slider.maximum() if index is None else index)
        slider.blockSignals(False)
        self._describe()

    def _describe(self) -> None:
        history, index = self.session.history, self.session.snapshot
        if history is None:
            return
        if index is None:
            text = self.tr("latest weights") if self.session.following_run else self.tr("final weights")
            tip = self.tr("{count} snapshots kept of this training").format(count=len(history))
        else:
            snapshot = self.session.shown_snapshot
            text = self.tr("step {step} · epoch {epoch}").format(step=f"{snapshot.step:,}",
                                                                  epoch=f"{snapshot.epoch:.2f}")
            if snapshot.test_accuracy is not None:
                text += f" · {snapshot.test_accuracy:.1%}"
            tip = self.tr("Snapshot {index} of {count}; accuracy on the first {images} test images").format(
                index=index + 1, count=len(history), images=f"{history.test_images:,}")
        self.historyLabel.setText(text)
        self.historyLabel.setToolTip(tip)
        self.latestButton.setEnabled(index is not None)

    # -- the user's moves --------------------------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        history = self.session.history
        if history is None:
            return
        self.session.show_snapshot(None if value >= len(history) else value)

    def step(self, delta: int) -> None:
        if self.historySlider is not None and self.historyReplay.isVisible():
            self.playButton.setChecked(False)
            self.historySlider.setValue(self.historySlider.value() + delta)

    def show_latest(self) -> None:
        if self.historySlider is not None:
            self.playButton.setChecked(False)
            self.session.show_snapshot(None)

    def toggle_play(self) -> None:
        if self.playButton is not None and self.historyReplay.isVisible():
            self.playButton.toggle()

    def _set_playing(self, playing: bool) -> None:
        self.playButton.setIcon(self._icon(playing))
        if not playing:
            self._timer.stop()
            return
        if self.session.snapshot is None:  # from the start, as a demo does
            self.historySlider.setValue(0)
        self._timer.start()

    def _icon(self, playing: bool):
        return self.playButton.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause if playing
                                                    else QStyle.StandardPixmap.SP_MediaPlay)

    def _play_step(self) -> None:
        slider = self.historySlider
        if slider.value() >= slider.maximum():
            self.playButton.setChecked(False)
            return
        slider.setValue(slider.value() + 1)

    def shutdown(self) -> None:
        self._timer.stop()
