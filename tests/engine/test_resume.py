"""Resumable runs: every epoch autosaves optimizer and schedule state; resuming matches an uninterrupted run."""

import pytest
import torch

from cnndesk.cli import main
from cnndesk.engine import (
    CnndeskError,
    TrainConfig,
    TrainingCallback,
    fit,
    load_model,
    load_resume_state,
    read_metadata,
    resume_point,
    save_checkpoint,
)
from cnndesk.locations import pretrained_path


def small_config(**overrides) -> TrainConfig:
    settings = {"epochs": 3, "batch_size": 64, "train_samples": 512, "test_samples": 200, "device": "cpu"}
    return TrainConfig.for_model("lenet5", **{**settings, **overrides})


class StopAfterEpoch(TrainingCallback):
    def __init__(self, control, epoch: int) -> None:
        self.control, self.epoch = control, epoch

    def on_epoch_end(self, metrics) -> None:
        if metrics.epoch == self.epoch:
            self.control.stop()


def test_resuming_an_interrupted_run_gives_the_uninterrupted_weights(tmp_path):
    full = fit(small_config())

    from cnndesk.engine import TrainingControl

    control = TrainingControl()
    path = tmp_path / "run.safetensors"
    partial = fit(small_config(), callbacks=[StopAfterEpoch(control, 1)], control=control, autosave_path=path)
    assert partial.epochs_completed == 1
    assert read_metadata(path)["resume"]["epochs_completed"] == 1

    resumed = fit(small_config(), resume_from=path, autosave_path=path)
    assert resumed.epochs_completed == 3 and [h.epoch for h in resumed.history] == [1, 2, 3]
    for key, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=1e-6)
    assert read_metadata(path)["resume"]["epochs_completed"] == 3


def test_autosave_writes_a_loadable_model_after_each_epoch(tmp_path):
    path = tmp_path / "auto.safetensors"
    seen = []

    class Watch(TrainingCallback):
        def on_epoch_end(self, metrics) -> None:
            seen.append(read_metadata(path)["resume"]["epochs_completed"])

    fit(small_config(epochs=2), callbacks=[Watch()], autosave_path=path)
    assert seen == [1, 2]
    _model, meta = load_model(path)  # the optimizer tensors do not get in the way of a plain load
    assert meta["model"]["name"] == "lenet5"
    _, _, state = load_resume_state(path, small_config(epochs=2), 8)  # every tensor checked against the run
    assert state["optimizer"]["state"] and state["scheduler"]["total_steps"] == 2 * 8


def test_a_weights_only_checkpoint_cannot_be_resumed(tmp_path):
    result = fit(small_config(epochs=1))
    from cnndesk.engine import save_checkpoint

    path = save_checkpoint(result.model, tmp_path / "plain.safetensors", result.config.to_dict())
    with pytest.raises(CnndeskError, match="cannot be resumed"):
        fit(small_config(), resume_from=path)


def test_cli_resume_continues_the_run(tmp_path, capsys):
    path = tmp_path / "cli.safetensors"
    control_args = ["train", "--model", "lenet5", "--epochs", "2", "--train-samples", "256", "--batch-size", "64",
                    "--out", str(path), "--json"]
    assert main(control_args) == 0
    meta = read_metadata(path)
    assert meta["resume"]["epochs_completed"] == 2
    before = path.read_bytes()
    capsys.readouterr()
    # Nothing left to train: refused as the window refuses it, and the file stays as it was.
    assert main(["train", "--resume", str(path), "--json"]) == 2
    assert "already finished all 2 epochs" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_resume_point_reads_a_run_from_its_header(tmp_path):
    path = pretrained_path("lenet5")
    epochs = read_metadata(path)["training"]["epochs"]  # the bundled run's own length
    point = resume_point(path)
    assert point.config.model == "lenet5" and point.config.epochs == epochs
    assert point.epochs_completed == epochs and point.finished
    assert [h.epoch for h in point.history] == list(range(1, epochs + 1))


def test_resume_point_refuses_a_weights_only_checkpoint(trained_lenet, tmp_path):
    path = save_checkpoint(trained_lenet.model, tmp_path / "plain.safetensors", trained_lenet.config.to_dict())
    with pytest.raises(CnndeskError, match="cannot be resumed"):
        resume_point(path)
