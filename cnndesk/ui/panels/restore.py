"""The offer to restore a run that cnndesk closed in the middle of (a crash, a kill, a power cut).

It floats over the window's bottom right corner, outside the layout: it appears once PyTorch has loaded, and in the
layout it would move the canvas someone may be drawing on.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Slot

from cnndesk.ui.restore_bar import RestoreBar

from .base import Panel

if TYPE_CHECKING:  # the markers read checkpoints: imported with PyTorch, once it has loaded
    from cnndesk.session.markers import InterruptedRun

RESTORE_BAR_WIDTH = 600  # px (less in a narrower window)


class RestorePanel(Panel):
    def __init__(self, shell, training, files) -> None:
        super().__init__(shell)
        self._training, self._files = training, files
        self.restoreBar = RestoreBar(shell)
        self._interrupted: list[InterruptedRun] = []
        self.restoreBar.resumeRequested.connect(self._restore_resume)
        self.restoreBar.openRequested.connect(self._restore_open)
        self.restoreBar.discardRequested.connect(self._restore_discard)
        shell.installEventFilter(self)  # follows the window's corner as it is resized

    def engine_ready(self) -> None:
        super().engine_ready()
        self.offer_restore()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.shell and event.type() == QEvent.Type.Resize and self.restoreBar.isVisible():
            self._place()
        return False

    def offer_restore(self) -> None:
        """Offer the runs that a crash or kill interrupted (their marker outlived their process), one at a time."""
        from cnndesk.session.markers import interrupted_runs

        self._interrupted = interrupted_runs()
        self._offer_next()

    def _offer_next(self) -> None:
        from cnndesk.session.markers import clear_marker

        while self._interrupted:
            run = self._interrupted[0]
            if run.point is not None:
                break
            # Nothing to restore: say so briefly and forget it.
            self._interrupted.pop(0)
            clear_marker(run.marker)
            self.shell.status(self.tr("cnndesk closed while training {model}; {problem}.").format(
                model=run.marker.model, problem=run.problem), 15000)
        else:
            self.restoreBar.hide()
            return
        point = run.point
        saved = self._clock(run.saved_at)
        if point.finished:
            text = self.tr("cnndesk closed while training {model}, after its last epoch ({done} of {epochs} saved "
                           "{when}).")
        else:
            text = self.tr("cnndesk closed while training {model} (epoch {done} of {epochs} saved {when}). "
                           "Restore it?")
        self.restoreBar.offer(text.format(model=run.marker.model, done=point.epochs_completed,
                                          epochs=point.config.epochs, when=saved), can_resume=not point.finished)
        self._place()

    def _place(self) -> None:
        shell, bar, margin = self.shell, self.restoreBar, 12
        width = min(shell.width() - 2 * margin, max(RESTORE_BAR_WIDTH, bar.minimumSizeHint().width()))
        height = max(bar.heightForWidth(width), bar.minimumSizeHint().height())
        status = shell.statusBar()
        bottom = status.geometry().top() if status.isVisible() else shell.height()
        bar.setGeometry(shell.width() - width - margin, bottom - height - margin, width, height)
        bar.raise_()

    def _take_offered(self) -> InterruptedRun | None:
        if not self._interrupted:
            return None
        from cnndesk.session.markers import clear_marker

        run = self._interrupted.pop(0)
        clear_marker(run.marker)  # the checkpoint stays in place; a resumed run marks itself again
        self._offer_next()
        return run

    @Slot()
    def _restore_resume(self) -> None:
        if self.shell.runner.is_running():  # keep the offer for when this run ends
            self.shell.show_error(self.tr("A run is in progress: stop it before resuming another."))
            return
        run = self._take_offered()
        if run is not None:
            self._training.resume_from(run.marker.checkpoint)

    @Slot()
    def _restore_open(self) -> None:
        run = self._take_offered()
        if run is not None:
            self._files.open_model(run.marker.checkpoint)

    @Slot()
    def _restore_discard(self) -> None:
        self._take_offered()

    def _clock(self, timestamp: float | None) -> str:
        """'at 14:05' today, 'on 3 Nov at 14:05' another day."""
        if timestamp is None:
            return ""
        when = time.localtime(timestamp)
        if time.strftime("%Y%m%d", when) == time.strftime("%Y%m%d"):
            return self.tr("at {time}").format(time=time.strftime("%H:%M", when))
        return self.tr("on {day} {month} at {time}").format(day=when.tm_mday, month=time.strftime("%b", when),
                                                            time=time.strftime("%H:%M", when))
