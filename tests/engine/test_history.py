"""Training history: a run keeps weight snapshots from its first step to its last; its checkpoint stores them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from cnndesk.cli import main
from cnndesk.engine import (
    MAX_SNAPSHOTS,
    CnndeskError,
    FitResult,
    TrainConfig,
    TrainingCallback,
    TrainingControl,
    build_model,
    fit,
    load_history,
    load_model,
    read_metadata,
    resume_point,
    save_checkpoint,
)
from cnndesk.engine.history import MAX_HISTORY_BYTES, snapshot_budget, snapshot_bytes, snapshot_steps
from cnndesk.session.runs import RunController, new_run

BATCHES = 8  # 512 training images in batches of 64


def small(model: str = "lenet5", **overrides) -> TrainConfig:
    settings = {"epochs": 2, "batch_size": 64, "train_samples": 512, "test_samples": 200, "device": "cpu"}
    return TrainConfig.for_model(model, **{**settings, **overrides})


@pytest.fixture(scope="module")
def run(mnist) -> FitResult:
    """Two epochs of LeNet5 on 512 images, autosaved: 16 steps, every snapshot measured on 200 test images."""
    return fit(small(), splits=mnist)


@pytest.fixture(scope="module")
def saved(run, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("history") / "run.safetensors"
    return save_checkpoint(run.model, path, run.config.to_dict(), run.metrics(), snapshots=run.snapshots)


def steps(history) -> list[int]:
    return [snapshot.step for snapshot in history]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# The schedule.


def test_a_run_keeps_its_first_step_every_epoch_end_and_more_snapshots_early(run):
    history = run.snapshots
    assert 2 < len(history) <= MAX_SNAPSHOTS
    assert history[0].step == 0 and history[0].epoch == 0.0
    assert {BATCHES, 2 * BATCHES} <= set(steps(history))
    assert steps(history) == sorted(set(steps(history)))
    assert [s.index for s in history] == list(range(len(history)))
    assert all(s.epoch == s.step / BATCHES for s in history)
    first, second = (sum(1 for s in history if lo < s.step <= hi) for lo, hi in ((0, 8), (8, 16)))
    assert first > second  # learning is fastest early: the first epoch is watched more closely
    assert history.model_config == run.model.config and history.test_images == 200
    for snapshot in history:
        assert snapshot.confusion.shape == (10, 10) and snapshot.confusion.sum() == 200
        assert snapshot.test_accuracy == pytest.approx(np.trace(snapshot.confusion) / 200)


def test_the_last_snapshot_is_the_final_model(run):
    assert_same_weights(run.snapshots[-1].weights, run.model.state_dict())
    assert not any(w.is_floating_point() and w.data_ptr() == p.data_ptr()  # copies, not the live tensors
                   for w, p in zip(run.snapshots[-1].weights.values(), run.model.state_dict().values(), strict=True))


def test_accuracy_rises_from_the_first_snapshot_to_the_last(run):
    first, last = run.snapshots[0].test_accuracy, run.snapshots[-1].test_accuracy
    assert first < 0.25  # untrained: about chance
    assert last > first + 0.3
    assert run.snapshots[-1].test_accuracy == pytest.approx(run.test_accuracy)  # same 200 images


def test_the_plan_is_bounded_and_log_spaced_at_the_start():
    plan = snapshot_steps(2, 469)  # LeNet5's recipe on MNIST
    assert plan[0] == 0 and {469, 938} <= set(plan) and len(plan) <= MAX_SNAPSHOTS
    early = [step for step in plan if 0 < step < 469]
    gaps = np.diff(early)
    assert early[0] == 1 and all(gaps > 0) and gaps[-1] > 10 * gaps[0]  # denser at the start
    many = snapshot_steps(200, 10)  # more epochs than snapshots: thinned, the last epoch kept
    assert len(many) == MAX_SNAPSHOTS and many[0] == 0 and many[-1] == 2000
    assert len(snapshot_steps(3, 100, budget=10)) == 10


def test_a_large_model_keeps_fewer_snapshots_and_a_huge_one_none():
    lenet, convnet3 = build_model("lenet5"), build_model("convnet3")  # 0.25 MB and 2.5 MB of weights
    assert snapshot_budget(lenet) == MAX_SNAPSHOTS
    assert 2 <= snapshot_budget(convnet3) < MAX_SNAPSHOTS
    assert snapshot_budget(convnet3) * snapshot_bytes(convnet3) <= MAX_HISTORY_BYTES
    assert snapshot_budget(lenet, max_bytes=3 * snapshot_bytes(lenet)) == 3
    assert snapshot_budget(lenet, max_bytes=snapshot_bytes(lenet)) == 0  # start and end would not both fit


# The run itself.


class Listener(TrainingCallback):
    def __init__(self) -> None:
        self.seen: list[int] = []
        self.histories: list[int] = []
        self.loop = None

    def on_fit_start(self, info) -> None:
        self.loop = info.loop

    def on_snapshot(self, snapshot) -> None:
        self.seen.append(snapshot.index)
        self.histories.append(len(self.loop.recorder.history))


def test_callbacks_hear_each_snapshot_and_recording_leaves_the_run_as_it_was(mnist):
    # BatchNorm (running statistics) and dropout (random draws): evaluating mid-run must disturb neither.
    config = small("cnn2-bn", epochs=1)
    config.model_options = {"dropout": 0.3}
    listener = Listener()
    recorded = fit(config, callbacks=[listener], splits=mnist)
    plain = fit(config, splits=mnist, record_history=False)
    assert plain.snapshots is None
    assert_same_weights(recorded.model.state_dict(), plain.model.state_dict())
    assert listener.seen == list(range(len(recorded.snapshots)))
    assert listener.histories == [i + 1 for i in listener.seen]  # the history so far includes the snapshot told


class StopAfterEpoch(TrainingCallback):
    def __init__(self, control: TrainingControl, epoch: int) -> None:
        self.control, self.epoch = control, epoch

    def on_epoch_end(self, metrics) -> None:
        if metrics.epoch == self.epoch:
            self.control.stop()


def test_a_resumed_run_continues_its_history(run, mnist, tmp_path):
    path = tmp_path / "resumed.safetensors"
    control = TrainingControl()
    fit(small(), callbacks=[StopAfterEpoch(control, 1)], control=control, splits=mnist, autosave_path=path)
    kept = load_history(path)
    assert max(steps(kept)) == BATCHES  # the file's snapshots end with its weights (epoch 1)
    assert_same_weights(kept[-1].weights, load_model(path)[0].state_dict())

    listener = Listener()
    resumed = fit(small(), callbacks=[listener], splits=mnist, resume_from=path, autosave_path=path)
    assert steps(resumed.snapshots) == steps(run.snapshots)  # as if it had never stopped, no step twice
    assert listener.seen == list(range(len(resumed.snapshots)))  # the earlier snapshots are told first
    for a, b in zip(resumed.snapshots, run.snapshots, strict=True):
        assert a.test_accuracy == b.test_accuracy
    assert steps(load_history(path)) == steps(run.snapshots)
    assert resume_point(path).epochs_completed == 2


def test_the_run_controller_saves_the_history_with_the_model(mnist, tmp_path):
    outcome = RunController(mark_runs=False).run(new_run(small(epochs=1), out=tmp_path / "c.safetensors"),
                                                 splits=mnist)
    history = load_history(outcome.checkpoint)
    assert steps(history) == steps(outcome.result.snapshots)
    assert_same_weights(history[-1].weights, load_model(outcome.checkpoint)[0].state_dict())


class StopAtStep(TrainingCallback):
    def __init__(self, step: int) -> None:
        self.step, self.loop = step, None

    def on_fit_start(self, info) -> None:
        self.loop = info.loop

    def on_batch_end(self, batch: int) -> None:
        if self.loop.step == self.step:
            self.loop.request_stop("stopped")


def test_a_run_stopped_mid_epoch_saves_no_snapshot_later_than_its_file(mnist, tmp_path):
    outcome = RunController(mark_runs=False).run(new_run(small(), out=tmp_path / "s.safetensors"),
                                                 callbacks=[StopAtStep(BATCHES + 3)], splits=mnist)
    result = outcome.result
    assert outcome.status == "stopped" and result.snapshots[-1].step == BATCHES + 3  # the run's own: to its end
    assert_same_weights(result.snapshots[-1].weights, result.model.state_dict())
    history = load_history(outcome.checkpoint)  # the file's: up to the epoch it holds
    assert steps(history) == [s for s in steps(result.snapshots) if s <= BATCHES]
    assert_same_weights(history[-1].weights, outcome.model.state_dict())


# The checkpoint.


def test_save_then_load_gives_the_same_history(run, saved, mnist):
    loaded = load_history(saved)
    assert len(loaded) == len(run.snapshots)
    assert loaded.model_config == run.model.config and loaded.test_images == 200
    for a, b in zip(loaded, run.snapshots, strict=True):
        assert (a.index, a.step, a.epoch, a.test_accuracy) == (b.index, b.step, b.epoch, b.test_accuracy)
        assert np.array_equal(a.confusion, b.confusion) and a.confusion.dtype == np.int64
        assert_same_weights(a.weights, b.weights)
    x = mnist.test.float_images()[:32]
    early = loaded.model_at(3)
    assert not early.training and next(early.parameters()).device.type == "cpu"
    model, _ = load_model(saved)
    loaded.load_into(model, 3)
    with torch.no_grad():
        assert torch.equal(model(x), early(x))
    assert loaded.summary()[3] == {"index": 3, "step": 3, "epoch": round(3 / BATCHES, 4),
                                   "test_accuracy": run.snapshots[3].test_accuracy}
    json.dumps(loaded.summary(), allow_nan=False)


def test_load_model_reads_only_the_model(run, saved, mnist):
    model, meta = load_model(saved)
    assert_same_weights(model.state_dict(), run.model.state_dict())
    assert meta["history"]["test_images"] == 200 and read_metadata(saved)["model"] == run.model.config
    with safe_open(str(saved), framework="pt") as handle:
        assert sum(key.startswith("history.") for key in handle.keys()) == len(run.snapshots) * len(model.state_dict())  # noqa: SIM118


def test_a_checkpoint_without_history_has_none(run, tmp_path):
    assert load_history(save_checkpoint(run.model, tmp_path / "plain.safetensors")) is None


def test_a_history_of_another_model_is_not_saved_with_it(run, tmp_path):
    with pytest.raises(CnndeskError, match="training history is of a lenet5"):
        save_checkpoint(build_model("mlp"), tmp_path / "mixed.safetensors", snapshots=run.snapshots)


def rewrite(path: Path, out: Path, header=None, tensors=None) -> Path:
    """A copy of a checkpoint with its cnndesk header and/or tensors changed in place."""
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["cnndesk"])
    weights = load_file(str(path))
    if header is not None:
        header(meta)
    if tensors is not None:
        tensors(weights)
    save_file(weights, str(out), metadata={"cnndesk": json.dumps(meta)})
    return out


def entry(meta: dict, index: int = 2) -> dict:
    return meta["history"]["snapshots"][index]


DAMAGES = {
    "history not a table": lambda m: m.update(history=[1, 2]),
    "step is text": lambda m: entry(m).update(step="three"),
    "steps out of order": lambda m: entry(m).update(step=0),
    "index mismatch": lambda m: entry(m).update(index=7),
    "accuracy above 1": lambda m: entry(m).update(test_accuracy=7),
    "accuracy a bool": lambda m: entry(m).update(test_accuracy=True),
    "epoch missing": lambda m: entry(m).pop("epoch"),
    "confusion not 10×10": lambda m: entry(m).update(confusion=[[1, 2], [3, 4]]),
    "confusion counts other images": lambda m: entry(m)["confusion"][0].__setitem__(0, 10_000),
    "test_images negative": lambda m: m["history"].update(test_images=-1),
    "too many snapshots": lambda m: m["history"].update(snapshots=[entry(m)] * (MAX_SNAPSHOTS + 1)),
}


@pytest.mark.parametrize("damage", list(DAMAGES), ids=list(DAMAGES))
def test_a_damaged_history_header_is_one_clear_error(saved, tmp_path, damage):
    path = rewrite(saved, tmp_path / "damaged.safetensors", header=DAMAGES[damage])
    with pytest.raises(CnndeskError, match="damaged training history"):
        load_history(path)
    load_model(path)  # the model itself still loads


def test_snapshot_tensors_that_do_not_fit_the_model_are_refused(saved, tmp_path):
    def wrong_shape(weights):
        weights["history.1.conv1.weight"] = torch.zeros(3, 3)

    def missing(weights):
        del weights["history.1.fc1.bias"]

    def stray(weights):
        weights["history.99.conv1.weight"] = weights["history.1.conv1.weight"].clone()

    def not_numbers(weights):
        weights["history.1.conv1.bias"] = torch.full_like(weights["history.1.conv1.bias"], float("nan"))

    for change, message in ((wrong_shape, "has shape"), (missing, "has no 'fc1.bias'"),
                            (stray, "names no snapshot"), (not_numbers, "not numbers")):
        path = rewrite(saved, tmp_path / f"{change.__name__}.safetensors", tensors=change)
        with pytest.raises(CnndeskError, match=message):
            load_history(path)


# The command line.


def test_cli_history_lists_the_snapshots(run, saved, capsys):
    assert main(["history", str(saved), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["checkpoint"] == str(saved) and payload["model"] == "lenet5" and payload["test_images"] == 200
    assert payload["snapshots"] == run.snapshots.summary()
    assert main(["history", str(saved)]) == 0
    assert f"lenet5: {len(run.snapshots)} snapshots" in capsys.readouterr().out


def test_cli_history_of_a_model_without_one_says_so(capsys, tmp_path):
    assert main(["history"]) == 2
    err = capsys.readouterr().err
    assert "bundled LeNet5" in err and "has no training history" in err
    assert main(["predict", "--snapshot", "0", str(tmp_path / "x.png")]) == 2
    assert "has no training history" in capsys.readouterr().err


def test_cli_predict_at_the_first_snapshot_is_chance_and_at_the_last_learned(saved, mnist, write_png, capsys):
    images = [write_png(mnist.test.float_images()[i, 0].numpy(), name=f"{i}.png") for i in range(8)]
    labels = mnist.test.labels[:8].tolist()

    def predict(k: int) -> list[dict]:
        assert main(["predict", *map(str, images), "--checkpoint", str(saved), "--snapshot", str(k), "--json"]) == 0
        return json.loads(capsys.readouterr().out.strip().splitlines()[-1])["predictions"]

    untrained, trained = predict(0), predict(-1)
    assert max(max(p["probabilities"]) for p in untrained) < 0.3  # no opinion yet: about a tenth each
    assert sum(p["label"] == label for p, label in zip(trained, labels, strict=True)) >= 6
    assert main(["predict", str(images[0]), "--checkpoint", str(saved), "--snapshot", "99"]) == 2
    assert "--snapshot is a snapshot number from 0 to" in capsys.readouterr().err


def test_cli_train_records_history(mnist, tmp_path, capsys):
    path = tmp_path / "cli.safetensors"
    assert main(["train", "--epochs", "1", "--train-samples", "128", "--batch-size", "64", "--out", str(path)]) == 0
    history = load_history(path)
    assert steps(history) == [0, 1, 2]
