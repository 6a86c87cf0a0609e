"""The training loop: events in order, stop and pause flags, targets, determinism, and that it learns."""

from __future__ import annotations

import math
import platform
import resource
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cnndesk.engine import (
    MODELS,
    BatchMetrics,
    CnndeskError,
    EpochMetrics,
    FitInfo,
    FitResult,
    TrainConfig,
    TrainingCallback,
    TrainingControl,
    build_model,
    evaluate,
    fit,
)
from cnndesk.engine.train import augment_batch, sampling_grid


def small_config(**overrides) -> TrainConfig:
    """A quick run: LeNet5 on 320 images, 5 batches of 64, tested on 200."""
    settings = {"epochs": 1, "batch_size": 64, "train_samples": 320, "test_samples": 200, "device": "cpu"}
    settings.update(overrides)
    return TrainConfig(**settings)


@dataclass
class Recorder(TrainingCallback):
    """Keeps every event in the order the loop sent it."""

    events: list[tuple[str, object]] = field(default_factory=list)

    def on_fit_start(self, info: FitInfo) -> None:
        self.events.append(("start", info))

    def on_batches(self, batches) -> None:
        self.events.append(("batches", list(batches)))

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        self.events.append(("epoch", metrics))

    def on_fit_end(self, result: FitResult) -> None:
        self.events.append(("end", result))

    @property
    def batches(self) -> list[BatchMetrics]:
        return [b for kind, group in self.events if kind == "batches" for b in group]

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


# ---------------------------------------------------------------- events


def test_callbacks_come_in_order_with_every_batch_once(mnist):
    recorder = Recorder()
    result = fit(small_config(epochs=2), callbacks=[recorder], splits=mnist)

    kinds = recorder.kinds
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("start") == 1 and kinds.count("end") == 1
    assert kinds.count("epoch") == 2

    info = recorder.events[0][1]
    assert (info.train_samples, info.test_samples, info.batches_per_epoch) == (320, 200, 5)
    assert info.params == 61_706
    assert info.device == torch.device("cpu")

    # Every batch is reported exactly once, steps 1..N with no gaps across reports, before its epoch ends.
    batches = recorder.batches
    assert [b.step for b in batches] == list(range(1, 11))
    assert [(b.epoch, b.batch) for b in batches] == [(e, b) for e in (1, 2) for b in range(1, 6)]
    assert all(b.batches_per_epoch == 5 for b in batches)
    for kind, group in recorder.events:
        if kind == "batches":  # at each report, the samples seen so far
            assert group[-1].samples_seen == 64 * group[-1].step
    assert all(math.isfinite(b.loss) and b.loss > 0 for b in batches)
    assert all(math.isnan(b.eta) or b.eta >= 0 for b in batches)  # NaN: still estimating
    seen_before_epoch_end = []
    for kind, payload in recorder.events:
        if kind == "batches":
            seen_before_epoch_end += [b.step for b in payload]
        elif kind == "epoch":
            assert seen_before_epoch_end[-1] == payload.epoch * 5

    epochs = [payload for kind, payload in recorder.events if kind == "epoch"]
    assert [m.epoch for m in epochs] == [1, 2]
    assert all(0.0 <= m.test_accuracy <= 1.0 and 0.0 <= m.train_accuracy <= 1.0 for m in epochs)

    assert recorder.events[-1][1] is result
    assert result.history == epochs
    assert result.epochs_completed == 2
    assert not result.stopped and not result.reached_target
    assert result.test_accuracy == epochs[-1].test_accuracy


def test_every_batch_reported_separately_with_zero_interval(mnist):
    recorder = Recorder()
    fit(small_config(), callbacks=[recorder], splits=mnist, report_interval=0.0)
    groups = [payload for kind, payload in recorder.events if kind == "batches"]
    assert [[b.step for b in g] for g in groups] == [[1], [2], [3], [4], [5]]


def test_each_batch_counts_the_samples_seen_up_to_it(mnist):
    recorder = Recorder()
    fit(small_config(epochs=2), callbacks=[recorder], splits=mnist, report_interval=3600.0)
    assert [b.samples_seen for b in recorder.batches] == [64 * step for step in range(1, 11)]


def test_last_batch_may_be_smaller(mnist):
    recorder = Recorder()
    fit(small_config(train_samples=150, batch_size=64), callbacks=[recorder], splits=mnist)
    batches = recorder.batches
    assert [b.batch for b in batches] == [1, 2, 3]
    assert batches[-1].samples_seen == 150


def test_with_batchnorm_a_single_last_image_joins_the_batch_before(mnist):
    """BatchNorm cannot normalise one image after an fc layer: 129 images in batches of 64 train as 64 + 65."""
    recorder = Recorder()
    config = small_config(model="mlp", train_samples=129, batch_size=64)
    config.model_options = {"batchnorm": True}
    result = fit(config, callbacks=[recorder], splits=mnist)
    assert [(b.batch, b.batches_per_epoch, b.samples_seen) for b in recorder.batches] == [(1, 2, 64), (2, 2, 129)]
    assert result.epochs_completed == 1
    # Without BatchNorm nothing changes: the single image is a batch of its own.
    recorder = Recorder()
    fit(small_config(model="mlp", train_samples=129, batch_size=64), callbacks=[recorder], splits=mnist)
    assert [b.samples_seen for b in recorder.batches] == [64, 128, 129]


def test_batchnorm_with_batches_of_one_is_a_clear_error(mnist):
    config = small_config(model="lenet5-classic", train_samples=16, batch_size=1)
    config.model_options = {"batchnorm": True}
    with pytest.raises(CnndeskError, match="BatchNorm needs batches of at least 2 images"):
        fit(config, splits=mnist)


def test_batch_size_larger_than_the_data_is_one_batch(mnist):
    recorder = Recorder()
    fit(small_config(train_samples=100, batch_size=1000), callbacks=[recorder], splits=mnist)
    assert [(b.batch, b.batches_per_epoch, b.samples_seen) for b in recorder.batches] == [(1, 1, 100)]


# ---------------------------------------------------------------- stop, pause, target


class StopAfter(Recorder):
    def __init__(self, control: TrainingControl, steps: int) -> None:
        super().__init__()
        self.control = control
        self.steps = steps

    def on_batches(self, batches) -> None:
        super().on_batches(batches)
        if batches[-1].step >= self.steps:
            self.control.stop()


def test_stop_flag_ends_the_run_after_the_current_batch(mnist):
    control = TrainingControl()
    recorder = StopAfter(control, steps=3)
    result = fit(small_config(epochs=3), callbacks=[recorder], control=control, splits=mnist, report_interval=0.0)
    assert result.stopped
    assert [b.step for b in recorder.batches] == [1, 2, 3]  # a full run has 15
    assert "epoch" not in recorder.kinds  # a partial epoch gets no epoch entry
    assert recorder.kinds[-1] == "end"
    assert result.epochs_completed == 0
    assert 0.0 <= result.test_accuracy <= 1.0  # the stopped model is still evaluated


def test_stop_at_an_epoch_end_keeps_that_epoch(mnist):
    control = TrainingControl()

    class StopAtEpochEnd(Recorder):
        def on_epoch_end(self, metrics):
            super().on_epoch_end(metrics)
            control.stop()

    recorder = StopAtEpochEnd()
    result = fit(small_config(epochs=3), callbacks=[recorder], control=control, splits=mnist)
    assert result.stopped
    assert result.epochs_completed == 1
    assert [b.step for b in recorder.batches] == [1, 2, 3, 4, 5]
    assert result.test_accuracy == result.history[0].test_accuracy


def test_stop_before_the_first_batch_trains_nothing(mnist):
    control = TrainingControl()
    control.stop()
    recorder = Recorder()
    result = fit(small_config(), callbacks=[recorder], control=control, splits=mnist)
    assert result.stopped
    assert recorder.batches == []
    assert result.epochs_completed == 0
    assert recorder.kinds == ["start", "end"]


class Gate(Recorder):
    """Holds the loop inside its first report until the test has paused the run."""

    def __init__(self) -> None:
        super().__init__()
        self.first_report = threading.Event()
        self.go_on = threading.Event()

    def on_batches(self, batches) -> None:
        super().on_batches(batches)
        if not self.first_report.is_set():
            self.first_report.set()
            self.go_on.wait(10)


def steps_now(recorder: Recorder) -> int:
    return len(recorder.batches)


def start_in_thread(config, recorder, control, splits):
    outcome: dict[str, FitResult] = {}

    def run():
        outcome["result"] = fit(config, callbacks=[recorder], control=control, splits=splits, report_interval=0.0)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_pause_from_another_thread_holds_the_loop_and_resume_finishes(mnist):
    control = TrainingControl()
    gate = Gate()
    config = small_config(epochs=2)
    started = time.perf_counter()
    thread, outcome = start_in_thread(config, gate, control, mnist)
    try:
        assert gate.first_report.wait(30)
        control.pause()
        assert control.paused
        gate.go_on.set()
        time.sleep(0.4)
        held = steps_now(gate)
        time.sleep(0.4)
        assert steps_now(gate) == held == 1  # no batch ran while paused
        assert thread.is_alive()
    finally:
        control.resume()
        gate.go_on.set()
    thread.join(60)
    wall = time.perf_counter() - started
    assert not thread.is_alive()
    result = outcome["result"]
    assert not result.stopped
    assert [b.step for b in gate.batches] == list(range(1, 11))
    assert result.epochs_completed == 2
    assert result.train_seconds <= wall - 0.5  # the ~0.8 s pause is not counted as training time


def test_stop_wakes_a_paused_run(mnist):
    control = TrainingControl()
    gate = Gate()
    thread, outcome = start_in_thread(small_config(epochs=2), gate, control, mnist)
    try:
        assert gate.first_report.wait(30)
        control.pause()
        gate.go_on.set()
        time.sleep(0.2)
        assert thread.is_alive()
        control.stop()
    finally:
        control.resume()
        gate.go_on.set()
    thread.join(30)
    assert not thread.is_alive()
    assert outcome["result"].stopped
    assert [b.step for b in gate.batches] == [1]


def test_control_flags():
    control = TrainingControl()
    assert not control.paused and not control.stopped
    assert control.wait_while_paused() == 0.0
    control.pause()
    assert control.paused
    threading.Timer(0.2, control.resume).start()
    assert control.wait_while_paused() > 0.0
    assert not control.paused
    control.pause()
    control.stop()
    assert control.stopped and not control.paused  # stopping wakes a paused loop


def test_target_accuracy_stops_after_the_epoch_that_reaches_it(mnist):
    config = TrainConfig.for_model("lenet5", epochs=4, batch_size=64, train_samples=2000, test_samples=500,
                                   target_accuracy=0.5)
    result = fit(config, splits=mnist)
    assert result.reached_target
    assert not result.stopped
    assert result.epochs_completed < config.epochs
    accuracies = [m.test_accuracy for m in result.history]
    assert accuracies[-1] >= 0.5
    assert all(a < 0.5 for a in accuracies[:-1])
    assert result.test_accuracy == accuracies[-1]


def test_near_the_target_an_epoch_is_tested_at_each_quarter_and_stops_there(mnist, monkeypatch):
    import cnndesk.engine.train as train_module

    def config(target: float | None) -> TrainConfig:
        return TrainConfig.for_model("lenet5", epochs=3, batch_size=64, train_samples=2000, test_samples=500,
                                     device="cpu", target_accuracy=target)

    first_epoch = fit(config(None), splits=mnist).history[0].test_accuracy
    evaluations = []
    evaluate = train_module.evaluate
    monkeypatch.setattr(train_module, "evaluate", lambda *a, **k: evaluations.append(1) or evaluate(*a, **k))

    far = fit(config(0.999), splits=mnist)  # never within a point of it: tested once an epoch only
    assert not far.reached_target and len(evaluations) == 3 and far.epochs_trained == 3

    evaluations.clear()
    target = first_epoch + 0.002  # one test image more than epoch 1 got right
    near = fit(config(target), splits=mnist)
    assert near.reached_target and near.test_accuracy >= target
    assert near.epochs_completed == 1 and 1 < near.epochs_trained < 2  # stopped inside epoch 2
    assert near.epochs_trained * 4 == int(near.epochs_trained * 4)  # at one of its quarters
    assert near.resume_state is None  # mid-epoch: nothing to resume from
    assert len(evaluations) == 1 + round((near.epochs_trained - 1) * 4)


# ---------------------------------------------------------------- determinism and config


def losses_of(config: TrainConfig, splits) -> tuple[list[float], dict[str, torch.Tensor]]:
    recorder = Recorder()
    result = fit(config, callbacks=[recorder], splits=splits)
    return [b.loss for b in recorder.batches], result.model.state_dict()


def test_same_seed_same_run(mnist):
    losses_a, weights_a = losses_of(small_config(seed=7), mnist)
    losses_b, weights_b = losses_of(small_config(seed=7), mnist)
    assert losses_a == losses_b
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)
    losses_c, _ = losses_of(small_config(seed=8), mnist)
    assert losses_c != losses_a


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"epochs": 0}, "Epochs"),
        ({"epochs": -2}, "Epochs"),
        ({"batch_size": 0}, "Batch size"),
        ({"optimizer": "rmsprop"}, "Unknown optimizer 'rmsprop'"),
        ({"schedule": "linear"}, "Unknown schedule 'linear'"),
        ({"lr": -0.01}, "learning rate"),
        ({"lr": 0.0}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": float("inf")}, "learning rate"),
        ({"target_accuracy": 1.5}, "target accuracy"),
        ({"target_accuracy": 0.0}, "target accuracy"),
        ({"target_accuracy": 99.0}, "target accuracy"),
        ({"model": "vgg16"}, "Unknown model 'vgg16'"),
    ],
)
def test_invalid_config_is_rejected_before_training(overrides, message, mnist):
    config = small_config(**overrides)
    with pytest.raises(CnndeskError, match=message):
        config.validate()
    recorder = Recorder()
    with pytest.raises(CnndeskError, match=message):
        fit(config, callbacks=[recorder], splits=mnist)
    assert recorder.events == []


@pytest.mark.parametrize("field_name", ["train_samples", "test_samples"])
def test_negative_sample_count_is_rejected(field_name):
    with pytest.raises(CnndeskError):
        small_config(**{field_name: -5}).validate()


@pytest.mark.parametrize(("epochs", "train_samples"), [(1, 256), (2, 128), (4, 64)])
def test_onecycle_run_of_four_steps_trains(epochs, train_samples, mnist):
    config = small_config(epochs=epochs, train_samples=train_samples, schedule="onecycle")
    recorder = Recorder()
    result = fit(config, callbacks=[recorder], splits=mnist)
    assert [b.step for b in recorder.batches] == [1, 2, 3, 4]
    assert result.epochs_completed == epochs


@pytest.mark.parametrize("steps", [1, 2, 3, 5])
def test_onecycle_runs_of_a_few_steps_train(steps, mnist):
    result = fit(small_config(train_samples=64 * steps, schedule="onecycle"), splits=mnist)
    assert result.epochs_completed == 1


def test_no_training_samples_is_an_error(mnist):
    with pytest.raises(CnndeskError, match="training images"):
        fit(small_config(train_samples=0), splits=mnist)


def test_unknown_or_missing_device_is_an_error(mnist):
    with pytest.raises(CnndeskError, match="Unknown device 'tpu'"):
        fit(small_config(device="tpu"), splits=mnist)
    if not torch.cuda.is_available():
        with pytest.raises(CnndeskError, match="no CUDA GPU"):
            fit(small_config(device="cuda"), splits=mnist)


def test_for_model_takes_the_recipe_then_the_overrides():
    recipe = MODELS["cnn1"].recipe
    config = TrainConfig.for_model("cnn1", epochs=2, lr=None, train_samples=500)
    assert config.model == "cnn1"
    assert config.epochs == 2
    assert config.lr == recipe["lr"]  # None means "the recipe's"
    assert config.batch_size == recipe["batch_size"]
    assert config.optimizer == recipe["optimizer"]
    assert config.schedule == recipe["schedule"]
    assert config.train_samples == 500
    config.validate()
    for name in MODELS:
        TrainConfig.for_model(name).validate()
    with pytest.raises(CnndeskError, match="Unknown model"):
        TrainConfig.for_model("nope")


def test_config_round_trips_through_a_dict():
    config = TrainConfig.for_model("mlp", epochs=3, seed=5, target_accuracy=0.9)
    assert TrainConfig.from_dict(config.to_dict()) == config
    # a config saved by a newer cnndesk with extra keys still loads
    assert TrainConfig.from_dict({**config.to_dict(), "from_the_future": 1}) == config


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "step", "constant"])
def test_every_optimizer_and_schedule_trains(optimizer, schedule, mnist):
    config = small_config(model="mlp", optimizer=optimizer, schedule=schedule, lr=0.01, augment=False)
    recorder = Recorder()
    result = fit(config, callbacks=[recorder], splits=mnist)
    losses = [b.loss for b in recorder.batches]
    assert len(losses) == 5 and all(math.isfinite(v) for v in losses)
    assert result.epochs_completed == 1


# ---------------------------------------------------------------- learning and evaluation


def test_lenet5_learns_far_above_chance(trained_lenet):
    """One epoch on 3,000 images: far better than the 10% of guessing (the exact figure does not matter)."""
    assert trained_lenet.epochs_completed == 1
    assert trained_lenet.test_accuracy > 0.6
    assert trained_lenet.history[0].train_loss < math.log(10)  # below the loss of a uniform guess
    assert trained_lenet.model.training is False  # handed back ready to predict


def test_evaluate_confusion_matrix_adds_up(trained_lenet, mnist):
    test = mnist.test.subset(1000)
    result = evaluate(trained_lenet.model, test)
    matrix = torch.tensor(result.confusion_matrix)
    assert matrix.shape == (10, 10)
    assert int(matrix.sum()) == len(test)
    assert matrix.sum(dim=1).tolist() == torch.bincount(test.labels, minlength=10).tolist()
    assert result.accuracy == pytest.approx(float(matrix.diag().sum()) / len(test))
    assert result.accuracy == pytest.approx(trained_lenet.test_accuracy)  # fit evaluated the same 1,000
    per_class = (matrix.diag().double() / matrix.sum(dim=1)).tolist()
    assert result.per_class_accuracy == pytest.approx(per_class)
    assert math.isfinite(result.loss) and result.loss > 0
    # the predicted column sums are what the model says on these images
    with torch.no_grad():
        predicted = trained_lenet.model(test.float_images()).argmax(1)
    assert matrix.sum(dim=0).tolist() == torch.bincount(predicted, minlength=10).tolist()


def test_evaluate_restores_the_training_mode(mnist):
    model = build_model("cnn2-bn").train()
    evaluate(model, mnist.test.subset(100))
    assert model.training
    model.eval()
    evaluate(model, mnist.test.subset(100))
    assert not model.training


def test_evaluate_batches_do_not_change_the_result(trained_lenet, mnist):
    test = mnist.test.subset(300)
    whole = evaluate(trained_lenet.model, test, batch_size=1000)
    pieces = evaluate(trained_lenet.model, test, batch_size=7)
    assert whole.confusion_matrix == pieces.confusion_matrix
    assert whole.accuracy == pieces.accuracy


@pytest.mark.parametrize(("height", "width"), [(28, 28), (20, 33)])
def test_affine_grid_matches_torch(height, width):
    """The augmentation's sampling grid is exactly torch's F.affine_grid (align_corners=False), only faster."""
    theta = torch.randn(16, 2, 3, generator=torch.Generator().manual_seed(1))
    expected = torch.nn.functional.affine_grid(theta, [16, 1, height, width], align_corners=False)
    torch.testing.assert_close(sampling_grid(theta, height, width), expected)


def test_augment_batch_keeps_shape_and_range_and_is_mild(mnist):
    x = mnist.test.float_images()[:200]
    out = augment_batch(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, x)
    again = augment_batch(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)

    # ±20° about the centre, ±10 % scale, ±2 px shift, slant, a 1 px elastic distortion: the digit moves a little
    def centre(t: torch.Tensor) -> torch.Tensor:
        grid = torch.arange(28.0)
        mass = t.sum(dim=(1, 2, 3))
        return torch.stack([(t.sum(dim=3)[:, 0] * grid).sum(1) / mass, (t.sum(dim=2)[:, 0] * grid).sum(1) / mass], 1)

    assert float((centre(out) - centre(x)).norm(dim=1).max()) < 5.0
    # ... and its strokes from half an erosion to a whole dilation thinner or thicker: the ink keeps its order of
    # magnitude (tests/engine/test_robustness.py checks each part)
    ratio = out.sum(dim=(1, 2, 3)) / x.sum(dim=(1, 2, 3))
    assert float(ratio.min()) > 0.4 and float(ratio.max()) < 3.0


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_training_on_the_cpu_reuses_freed_memory_instead_of_faulting_in_fresh_pages(mnist):
    fit(small_config(train_samples=64, test_samples=0))
    activations = torch.randn(256, 6, 28, 28)  # 4.8 MB: LeNet5's first feature maps for a batch of 256
    for _ in range(3):
        torch.relu(activations)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        torch.relu(activations)
    faults_per_tensor = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20
    # Fresh pages for each new 4.8 MB tensor would be ~1,200 page faults; reused memory needs none.
    assert faults_per_tensor < 100


def test_a_thread_limit_applies_from_the_next_batch_and_is_lifted_at_the_end(mnist):
    """limit_threads() (the GUI's "a pen is on the canvas") changes the loop's own thread count between batches."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    control = TrainingControl()
    used: list[int] = []

    class Threads(TrainingCallback):
        def on_batches(self, batches) -> None:
            used.append(torch.get_num_threads())  # called on the loop's thread, right after the batch
            if len(used) == 2:
                control.limit_threads(1)
            if len(used) == 4:
                control.limit_threads(None)

    try:
        fit(small_config(train_samples=6 * 64, test_samples=0), callbacks=[Threads()], control=control,
            report_interval=0)
        assert used == [2, 2, 1, 1, 2, 2]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_init_from_starts_from_another_models_weights(trained_lenet, mnist):
    """Fine-tuning: the run starts from the given weights (a stop before the first batch keeps them as they were)."""
    control = TrainingControl()
    control.stop()
    result = fit(small_config(), control=control, splits=mnist, init_from=trained_lenet.model)
    start = trained_lenet.model.state_dict()
    assert all(torch.equal(v.cpu(), start[k].cpu()) for k, v in result.model.state_dict().items())
    fresh = fit(small_config(), control=control, splits=mnist)
    assert not all(torch.equal(v.cpu(), start[k].cpu()) for k, v in fresh.model.state_dict().items())


def test_init_from_a_different_architecture_is_one_clear_error(trained_lenet, mnist):
    with pytest.raises(CnndeskError, match="architectures differ"):
        fit(small_config(model="mlp"), splits=mnist, init_from=trained_lenet.model)


def test_the_eta_waits_for_the_warm_up_then_counts_down_to_zero(mnist):
    """The first steps run slower than the rest: the time left is "still estimating" (NaN) until the steps after
    the warm-up have shown the run's speed, then a finite figure that reaches 0 at the last step."""
    from cnndesk.engine.train import ETA_WARMUP_MIN

    recorder = Recorder()
    fit(small_config(epochs=4, train_samples=64 * 10), callbacks=[recorder], splits=mnist, report_interval=0.0)
    etas = [b.eta for b in recorder.batches]
    warm = ETA_WARMUP_MIN  # of 40 steps, 2% is fewer than the minimum warm-up
    assert all(math.isnan(eta) for eta in etas[: warm + ETA_WARMUP_MIN - 1])
    assert all(math.isfinite(eta) and eta >= 0 for eta in etas[warm + ETA_WARMUP_MIN:])
    assert etas[-1] == 0.0


class FakeSteps:
    """Drives ThreadLimit as the loop does, with step times that depend on the thread count it set."""

    def __init__(self, limit, seconds_per_step) -> None:
        self.limit, self.seconds_per_step, self.now = limit, seconds_per_step, 0.0
        limit.clock = lambda: self.now

    def run(self, steps: int) -> list[int]:
        used = []
        for _ in range(steps):
            self.limit.on_batch_start(1)
            used.append(torch.get_num_threads())
            self.now += self.seconds_per_step(torch.get_num_threads())
            self.limit.on_batch_end(1)
        return used


@pytest.fixture
def two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_on_a_free_machine_training_keeps_every_thread_after_one_short_comparison(two_threads):
    from cnndesk.engine.train import TUNE_AFTER, TUNE_BATCHES, ThreadLimit

    steps = FakeSteps(ThreadLimit(TrainingControl(), tune=True), lambda threads: {2: 1.0, 1: 1.6}[threads])
    used = steps.run(2000)
    probe = TUNE_BATCHES + 1
    assert used[TUNE_AFTER + probe: TUNE_AFTER + 2 * probe] == [1] * probe  # the comparison
    assert used.count(1) == probe and used[-1] == 2  # and nothing more: two threads are faster


def test_when_another_program_holds_a_core_training_moves_to_fewer_threads_and_back(two_threads):
    from cnndesk.engine.train import TUNE_EVERY, ThreadLimit

    busy = {"on": True}

    def seconds(threads: int) -> float:  # OpenMP's two threads wait for the one that shares its core
        return {2: 4.0, 1: 1.6}[threads] if busy["on"] else {2: 1.0, 1: 1.6}[threads]

    limit = ThreadLimit(TrainingControl(), tune=True)
    steps = FakeSteps(limit, seconds)
    used = steps.run(200)
    assert used[-100:] == [1] * 100  # contention: one thread trains faster
    busy["on"] = False
    used = steps.run(TUNE_EVERY + 50)
    assert used[-20:] == [2] * 20  # the machine is free again: back to both threads
    busy["on"] = True  # something starts using a core in the middle of the run
    used = steps.run(200)
    assert used[-50:] == [1] * 50
    limit.restore()
    assert torch.get_num_threads() == 2


def test_a_pen_on_the_canvas_wins_over_tuning_and_its_steps_are_not_compared(two_threads):
    from cnndesk.engine.train import TUNE_AFTER, ThreadLimit

    control = TrainingControl()
    limit = ThreadLimit(control, tune=True)
    steps = FakeSteps(limit, lambda threads: {2: 1.0, 1: 1.6}[threads])
    steps.run(TUNE_AFTER + 2)  # the comparison has begun
    control.limit_threads(1)
    assert set(steps.run(30)) == {1} and limit.probing is None  # abandoned: these steps say nothing
    control.limit_threads(None)
    used = steps.run(300)
    assert used[-1] == 2 and limit.tuned == 2


def test_per_sample_results_say_what_the_model_said_about_each_image(mnist):
    from cnndesk.engine import evaluate, load_model

    model, _ = load_model(None)
    test = mnist.test.subset(600)
    fractions: list[float] = []
    result = evaluate(model, test, batch_size=256, per_sample=True, progress=fractions.append)
    samples = result.samples
    with torch.no_grad():
        logits = model(test.images.float() / 255)
    np.testing.assert_array_equal(samples.predictions, logits.argmax(1).numpy())
    np.testing.assert_allclose(samples.confidences, torch.softmax(logits, 1).max(1).values.numpy(), atol=1e-6)
    np.testing.assert_allclose(samples.losses, F.cross_entropy(logits, test.labels, reduction="none").numpy(),
                               rtol=1e-5, atol=1e-6)
    assert fractions == pytest.approx([256 / 600, 512 / 600, 1.0])
    # A cell of the confusion matrix lists its images, most confident first.
    for label, predicted in ((3, 3), (4, 9)):
        found = samples.where(label=label, predicted=predicted)
        assert len(found) == result.confusion_matrix[label][predicted]
        assert np.all(np.diff(samples.confidences[found]) <= 0)
    assert len(samples.where(wrong_only=True)) == len(samples.misclassified())


def test_a_cancelled_evaluation_stops_with_one_clear_message(mnist):
    from cnndesk.engine import CnndeskError, evaluate, load_model

    model, _ = load_model(None)
    calls = []
    with pytest.raises(CnndeskError, match="cancelled"):
        evaluate(model, mnist.test, batch_size=1000, cancelled=lambda: calls.append(1) or len(calls) > 2)
    assert len(calls) == 3 and not model.training
