"""Layer health while training: what the monitor measures, the warnings it names, and that it changes nothing."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from cnndesk.engine import Splits, TrainConfig, TrainingCallback, build_model, fit
from cnndesk.engine.health import (
    HealthSample,
    HealthWarning,
    LayerHealth,
    LayerHealthMonitor,
    warnings,
)
from cnndesk.engine.train import FitInfo


def small_run(model: str = "lenet5", images: int = 640, **overrides) -> TrainConfig:
    """Ten batches of 64 (one epoch of ``images``), no test set unless asked: a run of a fraction of a second."""
    return TrainConfig.for_model(model, **{"epochs": 1, "batch_size": 64, "train_samples": images, "test_samples": 0,
                                           **overrides})


def kinds(sample: HealthSample) -> set[tuple[str, str]]:
    return {(warning.layer, warning.kind) for warning in warnings(sample)}


class StepReference(TrainingCallback):
    """Measures conv2's gradient norm and update ratio on every step, independently of the monitor."""

    def __init__(self) -> None:
        self.grad_norms: list[float] = []
        self.ratios: list[float] = []

    def on_fit_start(self, info: FitInfo) -> None:
        self.weight = info.model.conv2.weight

    def on_batch_start(self, batch: int) -> None:
        self.before = self.weight.detach().clone()

    def on_batch_end(self, batch: int) -> None:
        self.grad_norms.append(float(self.weight.grad.norm()))
        self.ratios.append(float((self.weight.detach() - self.before).norm() / self.before.norm()))


def test_every_step_is_measured_for_every_weighted_layer(mnist: Splits) -> None:
    monitor, reference = LayerHealthMonitor(every_s=0, keep=True), StepReference()
    result = fit(small_run(), callbacks=[monitor, reference], splits=mnist)
    samples = monitor.samples
    assert [s.step for s in samples] == list(range(1, 11))
    assert samples[-1].epoch == pytest.approx(1.0) and samples[4].epoch == pytest.approx(0.5)
    for sample in samples:
        assert [layer.name for layer in sample.layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"]
        assert [layer.activation for layer in sample.layers] == ["relu"] * 4 + ["none"]  # fc3: the logits
        for layer in sample.layers:
            assert math.isfinite(layer.act_mean) and layer.act_std > 0
            assert layer.grad_norm > 0 and math.isfinite(layer.grad_norm)
            assert 0 < layer.update_ratio < 1
            assert math.isnan(layer.saturated_fraction)  # no sigmoid or tanh in LeNet5
        relus = sample.layers[:4]
        assert all(0 <= layer.dead_fraction <= 1 and layer.act_mean > 0 for layer in relus)  # after the ReLU
        assert math.isnan(sample.layers[4].dead_fraction)
    # The numbers are the step's own: the gradient the optimizer used, the change it made.
    conv2 = [sample.layers[1] for sample in samples]
    assert [layer.grad_norm for layer in conv2] == pytest.approx(reference.grad_norms, rel=1e-5)
    assert [layer.update_ratio for layer in conv2] == pytest.approx(reference.ratios, rel=1e-4)
    # The hooks lived for the sampled steps only.
    assert not any(module._forward_hooks for module in result.model.modules())


def test_the_monitor_does_not_change_the_run(mnist: Splits) -> None:
    plain = fit(small_run(), splits=mnist).model.state_dict()
    monitor = LayerHealthMonitor(every_s=0, keep=True)
    watched = fit(small_run(), callbacks=[monitor], splits=mnist).model.state_dict()
    assert len(monitor.samples) == 10
    assert plain.keys() == watched.keys()
    for name in plain:
        assert torch.equal(plain[name], watched[name]), name


class EvaluatesEveryStep(TrainingCallback):
    """Tests the model after every step, as the target-accuracy check does near its target (before the monitor)."""

    def on_fit_start(self, info: FitInfo) -> None:
        self.loop = info.loop

    def on_batch_end(self, batch: int) -> None:
        self.loop.evaluate()


def test_an_evaluation_within_a_sampled_step_is_not_measured(mnist: Splits) -> None:
    def activation_means(callbacks: list[TrainingCallback]) -> list[list[float]]:
        monitor = LayerHealthMonitor(every_s=0, keep=True)
        fit(small_run(images=320, test_samples=200), callbacks=[*callbacks, monitor], splits=mnist)
        return [[layer.act_mean for layer in sample.layers] for sample in monitor.samples]

    assert activation_means([EvaluatesEveryStep()]) == activation_means([])


def test_a_layer_with_a_very_negative_bias_is_dead(mnist: Splits) -> None:
    net = build_model("lenet5")
    with torch.no_grad():
        net.conv2.bias.fill_(-100.0)  # every conv2 channel below zero for every image: the ReLU outputs 0
    monitor = LayerHealthMonitor(every_s=0, keep=True)
    fit(small_run(images=128), callbacks=[monitor], splits=mnist, init_from=net)
    first = monitor.samples[0]
    assert first.layers[1].dead_fraction == 1.0
    assert first.layers[0].dead_fraction < 0.5
    assert ("conv2", "dead") in kinds(first) and ("conv1", "dead") not in kinds(first)


def test_a_very_high_learning_rate_kills_relus_and_is_named(mnist: Splits) -> None:
    monitor = LayerHealthMonitor(every_s=0, keep=True)
    fit(small_run(optimizer="sgd", lr=5.0, schedule="constant"), callbacks=[monitor], splits=mnist)
    found = set().union(*(kinds(sample) for sample in monitor.samples))
    assert any(kind == "dead" for _, kind in found)
    assert any(kind == "exploding" for _, kind in found)  # steps of more than a tenth of the weights
    # The recipe's learning rate keeps LeNet5 alive.
    healthy = LayerHealthMonitor(every_s=0, keep=True)
    fit(small_run(), callbacks=[healthy], splits=mnist)
    assert not any(kind in ("dead", "exploding") for sample in healthy.samples for _, kind in kinds(sample))


def test_sigmoids_driven_to_their_tails_are_saturated(mnist: Splits) -> None:
    def first_sample(scale: float) -> HealthSample:
        net = build_model("lenet5-classic")
        with torch.no_grad():
            for name, parameter in net.named_parameters():
                if name.endswith("weight"):
                    parameter.mul_(scale)
        monitor = LayerHealthMonitor(every_s=0, keep=True)
        fit(small_run("lenet5-classic", images=64), callbacks=[monitor], splits=mnist, init_from=net)
        return monitor.samples[0]

    fresh, scaled = first_sample(1.0), first_sample(50.0)
    assert [layer.activation for layer in scaled.layers] == ["sigmoid"] * 4 + ["none"]
    assert all(layer.saturated_fraction > 0.5 for layer in scaled.layers[:4])
    assert math.isnan(scaled.layers[0].dead_fraction)
    assert ("conv1", "saturated") in kinds(scaled)
    assert all(layer.saturated_fraction < 0.1 for layer in fresh.layers[:4])
    assert not any(kind == "saturated" for _, kind in kinds(fresh))


def test_sampling_is_throttled_by_the_clock(mnist: Splits) -> None:
    # A step every 0.25 s on this clock, a sample every second: steps 1, 5, 9.
    ticks = itertools.count(0.0, 0.25)
    monitor = LayerHealthMonitor(every_s=1.0, keep=True, clock=lambda: next(ticks))
    fit(small_run(), callbacks=[monitor], splits=mnist)
    assert [sample.step for sample in monitor.samples] == [1, 5, 9]
    # On the real clock, a short run at one sample per 10 s measures its first step and little else.
    seen: list[HealthSample] = []
    fit(small_run(images=1920), callbacks=[LayerHealthMonitor(every_s=10, on_sample=seen.append)], splits=mnist)
    assert 1 <= len(seen) <= 2 and seen[0].step == 1


def layer(name: str, grad_norm: float = 0.1, update_ratio: float = 1e-3, dead: float = math.nan,
          saturated: float = math.nan) -> LayerHealth:
    return LayerHealth(name, "relu", 0.2, 0.3, dead, saturated, grad_norm, update_ratio)


def test_warnings_name_the_classic_signs() -> None:
    sample = HealthSample(40, 0.5, [
        layer("conv1", grad_norm=1e-5),  # a thousandth of the largest gradient: vanishing
        layer("conv2", dead=0.625),
        layer("fc1", update_ratio=0.3),
        layer("fc2", update_ratio=1e-6),
        layer("fc3", grad_norm=0.5, saturated=0.8),
    ], lr=0.004, base_lr=0.004)
    assert warnings(sample) == [
        HealthWarning("conv1", "vanishing", pytest.approx(2e-5)),
        HealthWarning("conv2", "dead", 0.625),
        HealthWarning("fc1", "exploding", 0.3),
        HealthWarning("fc2", "stalled", 1e-6),
        HealthWarning("fc3", "saturated", 0.8),
    ]
    # Small updates while a schedule holds the learning rate low are by design; a NaN gradient is not.
    warmup = HealthSample(1, 0.0, [layer("fc2", update_ratio=1e-6), layer("fc3", grad_norm=math.nan)],
                          lr=0.004 / 25, base_lr=0.004)
    assert kinds(warmup) == {("fc3", "exploding")}
    assert warnings(HealthSample(1, 0.0, [layer("conv1"), layer("fc1")])) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_the_monitor_measures_a_run_on_cuda(mnist: Splits) -> None:
    monitor = LayerHealthMonitor(every_s=0, keep=True)
    fit(small_run(device="cuda"), callbacks=[monitor], splits=mnist)
    assert len(monitor.samples) == 10
    for sample in monitor.samples:
        assert all(math.isfinite(x.grad_norm) and x.update_ratio > 0 and math.isfinite(x.act_mean)
                   for x in sample.layers)
