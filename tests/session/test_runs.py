"""The run controller's one save rule — what is shown is what is saved — and the divergence guard, headless."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnndesk.engine import CnndeskError, TrainConfig, TrainingCallback, evaluate, load_model, load_splits, read_metadata
from cnndesk.session.runs import (
    DIVERGED,
    FINISHED,
    NOTHING_SAVED,
    STOPPED,
    RunController,
    new_run,
    resume_run,
)
from cnndesk.session.state import Session


@pytest.fixture(scope="module")
def mnist():
    return load_splits("mnist")


def small(**overrides) -> TrainConfig:
    """LeNet5 on 320 images: 5 batches of 64 an epoch, tested on 300 images."""
    settings = {"epochs": 3, "batch_size": 64, "train_samples": 320, "test_samples": 300, "device": "cpu"}
    settings.update(overrides)
    return TrainConfig.for_model("lenet5", **settings)


class StopAt(TrainingCallback):
    """Stops the controller's run once it has reported ``step``."""

    def __init__(self, controller: RunController, step: int) -> None:
        self.controller, self.step = controller, step

    def on_batches(self, batches) -> None:
        if batches[-1].step >= self.step:
            self.controller.stop()


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "checkpoints"
    path.mkdir()
    return path


def controller_in(folder: Path) -> RunController:
    return RunController(checkpoints=lambda: folder, mark_runs=False)


def test_a_finished_run_is_saved_under_a_name_that_says_what_it_holds(folder, mnist):
    outcome = controller_in(folder).run(new_run(small(epochs=1)), splits=mnist)
    assert outcome.status == FINISHED and outcome.checkpoint is not None
    assert list(folder.iterdir()) == [outcome.checkpoint]
    assert re.fullmatch(rf"lenet5-\d{{4}}-\d{{2}}-\d{{2}}-\d{{4}}-{outcome.test_accuracy * 100:.2f}\.safetensors",
                        outcome.checkpoint.name)
    saved, meta = load_model(outcome.checkpoint)
    assert same_weights(saved, outcome.model)
    assert meta["metrics"]["test_accuracy"] == outcome.test_accuracy


def test_out_naming_a_folder_saves_the_run_inside_it(folder, tmp_path, mnist):
    """(``--out DIR`` wrote ``DIR.safetensors`` beside the folder.)"""
    mine = tmp_path / "my-runs"
    mine.mkdir()
    outcome = controller_in(folder).run(new_run(small(epochs=1), out=mine), splits=mnist)
    assert outcome.checkpoint is not None and outcome.checkpoint.parent == mine
    assert list(mine.iterdir()) == [outcome.checkpoint] and not list(folder.iterdir())
    assert not (tmp_path / "my-runs.safetensors").exists()
    assert re.fullmatch(rf"lenet5-\d{{4}}-\d{{2}}-\d{{2}}-\d{{4}}-{outcome.test_accuracy * 100:.2f}\.safetensors",
                        outcome.checkpoint.name)


def test_a_place_that_cannot_be_written_is_refused_before_anything_trains(folder, tmp_path, mnist):
    """(``--out`` into an unwritable place failed only after a whole epoch of training.)"""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    steps = []

    class Count(TrainingCallback):
        def on_batches(self, batches) -> None:
            steps.extend(b.step for b in batches)

    with pytest.raises(CnndeskError, match="Nothing was trained"):
        controller_in(folder).run(new_run(small(epochs=1), out=blocker / "run.safetensors"), [Count()],
                                  splits=mnist)
    assert steps == [] and blocker.read_text() == "not a folder"


def test_stop_mid_epoch_shows_the_model_it_saved(folder, mnist):
    controller = controller_in(folder)
    # Step 7 is inside epoch 2 (5 batches an epoch): the file keeps epoch 1.
    outcome = controller.run(new_run(small()), callbacks=[StopAt(controller, 7)], splits=mnist, report_interval=0)
    assert outcome.status == STOPPED and outcome.epochs == 1 and outcome.resumable
    saved, meta = load_model(outcome.checkpoint)
    assert same_weights(saved, outcome.model)  # the model shown is the one in the file...
    assert not same_weights(saved, outcome.result.model)  # ...not the weights of the half-trained epoch
    # ...and the accuracy reported is that file's, as `cnndesk eval` would measure it.
    measured = evaluate(saved, mnist.test.subset(300)).accuracy
    assert outcome.test_accuracy == meta["metrics"]["test_accuracy"] == pytest.approx(measured)
    assert read_metadata(outcome.checkpoint)["resume"]["epochs_completed"] == 1
    assert resume_run(outcome.checkpoint).resume.epochs_completed == 1


def test_stop_in_the_first_epoch_writes_nothing_and_the_previous_model_stays(folder, mnist):
    controller = controller_in(folder)
    session = Session()
    previous, _ = load_model(None)
    session.set_model(previous, {"model": previous.config}, None)
    for _ in range(3):  # train/stop cycles leave no files behind
        outcome = controller.run(new_run(small()), callbacks=[StopAt(controller, 2)], splits=mnist,
                                 report_interval=0)
        assert outcome.status == NOTHING_SAVED and outcome.checkpoint is None and outcome.model is None
        assert not session.end_run(outcome)
        assert session.model.model is previous
    assert list(folder.iterdir()) == []
    assert "nothing was saved" in outcome.message


def test_a_diverging_run_stops_keeps_its_last_good_epoch_and_says_why(folder, mnist):
    class Explode(TrainingCallback):
        """From step 7 (inside epoch 2) on, the learning rate is absurd: the loss leaves the numbers."""

        def on_fit_start(self, info) -> None:
            self.loop = info.loop

        def on_batch_end(self, batch: int) -> None:
            if self.loop.step == 7:
                for group in self.loop.optimizer.param_groups:
                    group["lr"] = 1e12

    controller = controller_in(folder)
    outcome = controller.run(new_run(small(schedule="constant")), callbacks=[Explode()], splits=mnist,
                             report_interval=0)
    assert outcome.status == DIVERGED
    assert outcome.result.divergence.step > 7
    assert "diverged at step" in outcome.message and "lower the learning rate" in outcome.message
    saved, meta = load_model(outcome.checkpoint)
    assert meta["metrics"]["epochs_completed"] == 1
    assert all(torch.isfinite(p).all() for p in saved.parameters())
    assert same_weights(saved, outcome.model)


def test_a_run_that_diverges_at_once_saves_nothing(folder, mnist):
    outcome = controller_in(folder).run(new_run(small(optimizer="sgd", lr=1e6, schedule="constant")), splits=mnist)
    assert outcome.status == DIVERGED and outcome.checkpoint is None and outcome.model is None
    assert list(folder.iterdir()) == []
    assert math.isnan(outcome.result.test_accuracy)  # a diverged model is not evaluated


def test_the_command_line_reports_the_saved_model_when_stopped(tmp_path, monkeypatch, mnist):
    """`cnndesk train` stopped mid-run prints, and returns in its JSON, the checkpoint's own accuracy."""
    from cnndesk import cli
    from cnndesk.session import runs

    out = tmp_path / "run.safetensors"
    original = runs.RunController.run

    def run_with_a_stop(self, plan, callbacks=(), **kwargs):
        return original(self, plan, [*callbacks, StopAt(self, 7)], splits=mnist, report_interval=0)

    monkeypatch.setattr(runs.RunController, "run", run_with_a_stop)
    args = ["train", "--model", "lenet5", "--epochs", "3", "--batch-size", "64", "--train-samples", "320",
            "--device", "cpu", "--out", str(out), "--json"]
    import contextlib
    import io

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert cli.main(args) == 0
    # The terminal is told how to go on in its own words, not the window's.
    assert f"`cnndesk train --resume {out}` continues it." in stderr.getvalue()
    assert "Resume run…" not in stderr.getvalue()
    report = json.loads(stdout.getvalue().strip().splitlines()[-1])
    meta = read_metadata(out)
    assert report["status"] == "stopped" and report["epochs"] == 1 == meta["metrics"]["epochs_completed"]
    assert report["test_accuracy"] == meta["metrics"]["test_accuracy"]
    assert report["checkpoint"] == str(out)


def test_the_command_line_refuses_a_diverging_run_and_saves_no_nan_model(tmp_path):
    out = tmp_path / "nan.safetensors"
    env = {"CNNDESK_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "cnndesk", "train", "--lr", "1e6", "--optimizer", "sgd",
                           "--schedule", "constant", "--epochs", "1", "--train-samples", "512", "--device", "cpu",
                           "--out", str(out), "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("cnndesk: error:")]
    assert len(errors) == 1 and "diverged at step" in errors[0]
    report = json.loads(done.stdout.strip().splitlines()[-1])  # strict JSON: no bare NaN
    assert report["status"] == "diverged" and report["checkpoint"] is None and report["test_accuracy"] is None
    assert not out.exists()


def test_a_queue_of_plans_settles_each_run(folder, mnist):
    controller = controller_in(folder)
    plans = [new_run(small(epochs=1)), new_run(small(epochs=1, seed=1))]
    seen = []
    outcomes = controller.run_queue(plans, on_start=seen.append, splits=mnist)
    assert seen == plans
    assert [o.status for o in outcomes] == [FINISHED, FINISHED]
    assert len({o.checkpoint for o in outcomes}) == 2  # two runs in the same minute get two files


def test_weights_that_are_not_numbers_at_an_epochs_end_are_never_saved(folder, mnist):
    """The loss was still a number, but the last step of epoch 2 left NaN weights: epoch 1 stays in the file."""

    class Poison(TrainingCallback):
        def on_fit_start(self, info) -> None:
            self.loop = info.loop

        def on_batch_end(self, batch: int) -> None:
            if self.loop.step == 10:  # the last batch of epoch 2
                with torch.no_grad():
                    next(self.loop.model.parameters()).fill_(float("nan"))

    outcome = controller_in(folder).run(new_run(small()), callbacks=[Poison()], splits=mnist)
    assert outcome.status == DIVERGED
    meta = read_metadata(outcome.checkpoint)
    assert meta["metrics"]["epochs_completed"] == 1 and meta["resume"]["epochs_completed"] == 1
    saved, _ = load_model(outcome.checkpoint)
    assert all(torch.isfinite(p).all() for p in saved.parameters())
