"""The Training tab: the form, Train / Resume / Pause / Stop, the live curves, and how a run's end is shown.

Runs go through the session's RunController (in the shell's ``TrainingRunner``), the same as ``cnndesk train``:
while one trains, the session's predictor follows its weights; when it ends, the session makes the model it saved
current — or keeps the previous one if it saved none — and this panel says which.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QWidget

from cnndesk.errors import CnndeskError

from .base import BOTTOM, TRAINING, Panel

if TYPE_CHECKING:
    from cnndesk.engine import TrainConfig
    from cnndesk.session.runs import RunOutcome, RunPlan
    from cnndesk.ui.training_panel import TrainingPanel


class TrainingTab(Panel):
    area = BOTTOM

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.trainingPanel: TrainingPanel | None = None
        self._prepared: RunPlan | None = None  # the run whose form and curves were set up when it was asked for
        self.dialog: QWidget | None = None  # the Resume run… dialog last opened
        self._starting: RunPlan | None = None  # the run being checked and started in the training thread
        self._curves_saved_to: Path | None = None  # the checkpoint of the run the curves show, once it ended
        self.trainAction = self.add_action(TRAINING, self.tr("&Train"), self._click_train, ["Ctrl+T"],
                                           needs_engine=True)
        self.resumeRunAction = self.add_action(TRAINING, self.tr("&Resume training…"), self.resume_dialog,
                                               ["Ctrl+Shift+T"], self.tr("Continue a saved run from its checkpoint"),
                                               needs_engine=True)
        self.pauseAction = self.add_action(TRAINING, self.tr("&Pause / resume"), self._toggle_pause, ["Ctrl+P"],
                                           needs_engine=True)
        self.stopAction = self.add_action(TRAINING, self.tr("&Stop"), self._stop, ["Ctrl+."], needs_engine=True)

    def title(self) -> str:
        return self.tr("Training")

    def engine_ready(self) -> None:
        from cnndesk.ui.training_panel import TrainingPanel

        self.trainingPanel = panel = TrainingPanel()
        runner = self.shell.runner
        # Drawing comes first: while the pen is down, training leaves a core to the GUI thread.
        self.shell.canvas.penDown.connect(runner.set_interactive)
        panel.startRequested.connect(self.start_training)
        panel.pauseToggled.connect(self._pause)
        panel.stopRequested.connect(runner.stop)
        panel.resumeRequested.connect(self.resume_dialog)
        runner.runStarted.connect(self._on_run_started)
        runner.started.connect(self._on_training_started)
        runner.metrics.connect(self._on_metrics)
        runner.epochDone.connect(panel.add_epoch)
        runner.weights.connect(self.session.load_weights)
        runner.finished.connect(self._on_run_finished)
        runner.history.connect(self.session.run_history)
        self.session.snapshot_changed.connect(self._mark_snapshot)
        self.session.model_changed.connect(self._show_record)
        runner.runningChanged.connect(self._update_controls)
        super().engine_ready()

    def _show_record(self, current) -> None:
        """A model opened (not the one a run just trained, whose live curves stay): its training record from its
        checkpoint, so that its curves — and the replay's marks on them — are there after a restart too."""
        from cnndesk.engine import EpochMetrics

        if self.session.following_run or self.shell.runner.is_running() or \
                (current.path is not None and current.path == self._curves_saved_to):
            return
        epochs = []
        for entry in current.meta.get("metrics", {}).get("history") or []:
            try:
                epochs.append(EpochMetrics(**entry))
            except TypeError:  # a record of another shape: not shown
                epochs = []
                break
        history = self.session.history
        last = history[-1] if history else None
        steps_per_epoch = round(last.step / last.epoch) if last is not None and last.epoch > 0 else None
        self.trainingPanel.show_record(current.name, epochs, steps_per_epoch)
        self._curves_saved_to = current.path if epochs else None
        self._mark_snapshot(None)

    def engine_widget(self) -> QWidget | None:
        return self.trainingPanel

    def shutdown(self) -> None:
        if self.trainingPanel is not None:
            self.shell.runner.shutdown()

    # -- starting runs -------------------------------------------------------------------------------------
    def _click_train(self) -> None:
        if self.trainingPanel is not None:
            self.trainingPanel.trainButton.click()

    def _toggle_pause(self) -> None:
        if self.trainingPanel is not None:
            self.trainingPanel.pauseButton.toggle()

    def _stop(self) -> None:
        self.shell.runner.stop()

    @Slot(object)
    def start_training(self, config: TrainConfig) -> None:
        """Train a new run of ``config``."""
        from cnndesk.session.runs import new_run

        if self.shell.runner.is_running():
            return
        try:
            plan = new_run(config)
        except CnndeskError as exc:
            self.shell.show_error(str(exc))
            return
        self.trainingPanel.reset_curves()
        self._prepared = plan
        self.shell.runner.start(plan)
        self.shell.status(self.tr("Preparing {model}…").format(model=config.model))

    def resume_from(self, path: str | Path) -> bool:
        """Continue the run a checkpoint holds, with its own settings; it goes on saving into the same file.

        False, with a message, if it cannot be resumed (weights only, already finished, damaged, a run going on).
        """
        from cnndesk.session.runs import resume_run

        if self.shell.runner.is_running():
            self.shell.show_error(self.tr("A run is in progress: stop it before resuming another."))
            return False
        try:
            # The device is the one setting that belongs to this machine, not to the run.
            plan = resume_run(path, device=self.trainingPanel.deviceCombo.currentData())
        except CnndeskError as exc:
            self.shell.show_error(str(exc))
            return False
        point = plan.resume
        # The form and the plots show the run once it has passed every check and starts (_on_training_started).
        self.shell.runner.start(plan)
        self.shell.status(self.tr("Resuming {model} at epoch {epoch} of {epochs}…").format(
            model=plan.config.model, epoch=point.epochs_completed + 1, epochs=plan.config.epochs))
        return True

    def resume_dialog(self) -> None:
        """The saved runs (model, epochs, accuracy, when), or any other file; the one picked resumes."""
        from cnndesk.ui.resume_dialog import ResumeDialog

        if self.shell.runner.is_running():
            return
        dialog = ResumeDialog(self.shell)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: dialog.chosen is not None and self.resume_from(dialog.chosen))
        self.dialog = dialog  # for tests
        dialog.open()  # not exec(): nothing blocks the event loop

    # -- the run in progress ---------------------------------------------------------------------------------
    def _update_controls(self, *_: object) -> None:
        busy = self.shell.runner.is_running()
        self.trainingPanel.set_running(busy)
        self.resumeRunAction.setEnabled(not busy)

    @Slot(bool)
    def _pause(self, paused: bool) -> None:
        if paused:
            self.shell.runner.pause()
        else:
            self.shell.runner.resume()

    @Slot(object)
    def _on_run_started(self, plan: RunPlan) -> None:
        """A run of a queue (or a Train click, a queue of one) is about to be checked and trained."""
        self._starting = plan
        if plan is not self._prepared and plan.resume is None:
            self.trainingPanel.reset_curves()

    @Slot(object)
    def _on_training_started(self, info) -> None:
        from cnndesk.engine import build_model

        plan = self._starting
        if plan is not None and plan.resume is not None:
            # Only now, its checkpoint checked: its settings in the form, its earlier epochs in the plot.
            self.trainingPanel.prepare_resume(plan.resume)
        self.trainingPanel.on_started(info)
        config = info.config
        if plan is not None and plan.init_from is not None and plan is not self._prepared:
            # Started elsewhere (My digits' Fine-tune) with settings of its own: the form does not show them.
            label = self.trainingPanel.statusLabel
            label.setText(self.tr("Fine-tuning {checkpoint}: {epochs} epoch(s) at learning rate {lr}, {dataset}. "
                                  "{training}").format(checkpoint=plan.init_from.name, epochs=config.epochs,
                                                       lr=f"{config.lr:g}", dataset=config.dataset,
                                                       training=label.text()))
        # Watch the new network learn: the prediction follows its weight snapshots until the run ends.
        self.session.follow_run(build_model(config.model, **config.model_options))
        self.shell.status(self.tr("Training {model}; the prediction follows its weights live.").format(
            model=config.model))

    def _mark_snapshot(self, _index: int | None) -> None:
        model = self.session.model
        # Only on curves of that very run: the one training, or the one that saved the model shown.
        own_curves = self.session.following_run or (model is not None and model.path is not None
                                                    and model.path == self._curves_saved_to)
        snapshot = self.session.shown_snapshot if own_curves else None
        self.trainingPanel.mark_snapshot(None if snapshot is None else snapshot.step,
                                         None if snapshot is None else snapshot.epoch)

    @Slot(object)
    def _on_metrics(self, chunk) -> None:
        self.trainingPanel.add_losses(chunk.steps, chunk.losses, chunk.latest)

    @Slot(object)
    def _on_run_finished(self, outcome: RunOutcome) -> None:
        """What is shown is what is saved: the run's saved model becomes current, or the previous one returns."""
        from cnndesk.session.runs import DIVERGED, FAILED

        self._curves_saved_to = outcome.checkpoint  # the curves now show how that file's model was trained
        self.session.end_run(outcome)
        message = outcome.message
        self.trainingPanel.statusLabel.setText(message)
        if outcome.status in (FAILED, DIVERGED):
            self.shell.show_error(message)
        else:
            self.shell.status(message, 15000)
