"""A crafted or damaged resumable checkpoint is refused with one clear CnndeskError, before any training step.

Each test rewrites a valid checkpoint (written by a real run) with one thing wrong and checks that the refusal
names that thing: the optimizer's tensors, its JSON settings, the schedule state, the training record, the epoch
count, the weights.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from cnndesk.engine import (
    CnndeskError,
    TrainConfig,
    TrainingCallback,
    TrainingControl,
    fit,
    load_resume_state,
    read_metadata,
    resume_point,
)

STEPS = 4  # batches per epoch: 256 training images in batches of 64
REPO = Path(__file__).resolve().parents[2]

Tensors = dict[str, torch.Tensor]
Header = dict[str, Any]


def small_config(**overrides: Any) -> TrainConfig:
    settings = {"epochs": 3, "batch_size": 64, "train_samples": 256, "test_samples": 100, "device": "cpu"}
    return TrainConfig.for_model("lenet5", **{**settings, **overrides})


class StopAfterFirstEpoch(TrainingCallback):
    def __init__(self, control: TrainingControl) -> None:
        self.control = control

    def on_epoch_end(self, metrics) -> None:
        self.control.stop()


def interrupted_run(path: Path, splits, **overrides: Any) -> Path:
    """A resumable checkpoint one epoch into a three-epoch run: the schedule and optimizer have work left."""
    control = TrainingControl()
    fit(small_config(**overrides), callbacks=[StopAfterFirstEpoch(control)], control=control, splits=splits,
        autosave_path=path)
    return path


@pytest.fixture(scope="module")
def adam_run(mnist, tmp_path_factory) -> Path:
    return interrupted_run(tmp_path_factory.mktemp("adam") / "run.safetensors", mnist)


@pytest.fixture(scope="module")
def sgd_run(mnist, tmp_path_factory) -> Path:
    return interrupted_run(tmp_path_factory.mktemp("sgd") / "run.safetensors", mnist, optimizer="sgd",
                           schedule="cosine")


@pytest.fixture(scope="module")
def step_run(mnist, tmp_path_factory) -> Path:
    return interrupted_run(tmp_path_factory.mktemp("step") / "run.safetensors", mnist, schedule="step")


def read(path: Path) -> tuple[Tensors, Header]:
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        header = json.loads(handle.metadata()["cnndesk"])
    return tensors, header


@pytest.fixture
def craft(adam_run: Path, tmp_path: Path) -> Callable[..., Path]:
    """``craft(edit, source=adam_run)``: a copy of ``source`` after ``edit(tensors, header)`` changed it."""

    def make(edit: Callable[[Tensors, Header], None], source: Path = adam_run) -> Path:
        tensors, header = read(source)
        edit(tensors, header)
        path = tmp_path / "run.safetensors"
        save_file(tensors, str(path), metadata={"cnndesk": json.dumps(header)})
        return path

    return make


def refused(path: Path, match: str, config: TrainConfig | None = None) -> CnndeskError:
    """The CnndeskError ``load_resume_state`` raises: one line, naming the file and matching ``match``."""
    with pytest.raises(CnndeskError, match=match) as info:
        load_resume_state(path, config or small_config(), STEPS)
    message = str(info.value)
    # (A field of the wrong type is refused as soon as the file is read, whatever it is read for.)
    assert message.startswith((f"{path.name} cannot be resumed: ", f"{path} has a damaged cnndesk header: ")) \
        and "\n" not in message
    return info.value


# A valid checkpoint.


def test_a_valid_checkpoint_gives_the_state_it_holds(adam_run):
    model, meta, state = load_resume_state(adam_run, small_config(), STEPS)
    header = read_metadata(adam_run)
    with safe_open(str(adam_run), framework="pt") as handle:
        stored = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    for key, value in model.state_dict().items():
        assert torch.equal(stored[key], value)
    assert state["epochs_completed"] == header["resume"]["epochs_completed"] == 1
    assert state["scheduler"] == header["resume"]["scheduler"] and state["scheduler"]["last_epoch"] == STEPS
    assert state["optimizer"]["param_groups"] == header["resume"]["optimizer"]["param_groups"]
    optimizer_keys = {key for key in stored if key.startswith("optimizer.")}
    assert optimizer_keys == {f"optimizer.{index}.{name}" for index, values in state["optimizer"]["state"].items()
                              for name in values if isinstance(values[name], torch.Tensor)}
    for index, values in state["optimizer"]["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                assert torch.equal(stored[f"optimizer.{index}.{name}"], value)
    assert meta["metrics"]["history"] == header["metrics"]["history"]
    point = resume_point(adam_run)
    assert point.config == small_config() and point.epochs_completed == 1 and not point.finished
    assert [h.epoch for h in point.history] == [1]


def test_a_valid_sgd_checkpoint_passes(sgd_run):
    config = small_config(optimizer="sgd", schedule="cosine")
    _, _, state = load_resume_state(sgd_run, config, STEPS)
    assert all(set(values) == {"momentum_buffer"} for values in state["optimizer"]["state"].values())


def test_the_trial_step_leaves_the_returned_state_as_saved(adam_run):
    _, _, state = load_resume_state(adam_run, small_config(), STEPS)
    tensors, _ = read(adam_run)
    assert torch.equal(state["optimizer"]["state"][0]["step"], tensors["optimizer.0.step"])
    assert torch.equal(state["optimizer"]["state"][0]["exp_avg"], tensors["optimizer.0.exp_avg"])


# The optimizer's tensors.


def test_optimizer_tensors_replaced_by_zeros_1_are_refused(craft):
    def zeros(tensors, header):
        for key in tensors:
            if key.startswith("optimizer."):
                tensors[key] = torch.zeros(1)

    refused(craft(zeros), r"'optimizer\.0\.step' has shape \[1\], where this run's optimizer keeps a single number "
                          r"\(shape \[\]\) for parameter 0 \(conv1\.weight\)")


def test_a_moment_replaced_by_zeros_1_is_refused(craft):
    def zeros(tensors, header):
        tensors["optimizer.0.exp_avg"] = torch.zeros(1)

    refused(craft(zeros), r"'optimizer\.0\.exp_avg' has shape \[1\], where this run's optimizer keeps shape "
                          r"\[6, 1, 5, 5\] for parameter 0")


def test_a_cut_moment_is_refused(craft):
    def cut(tensors, header):
        tensors["optimizer.2.exp_avg"] = tensors["optimizer.2.exp_avg"].flatten()[:10].clone()

    refused(craft(cut), r"'optimizer\.2\.exp_avg' has shape \[10\]")


def test_a_step_count_that_is_not_a_0d_tensor_is_refused(craft):
    def vector(tensors, header):
        tensors["optimizer.1.step"] = tensors["optimizer.1.step"].reshape(1)

    refused(craft(vector), r"'optimizer\.1\.step' has shape \[1\], where this run's optimizer keeps a single number")


def test_a_moment_of_another_dtype_is_refused(craft):
    def double(tensors, header):
        tensors["optimizer.0.exp_avg_sq"] = tensors["optimizer.0.exp_avg_sq"].double()

    refused(craft(double), r"'optimizer\.0\.exp_avg_sq' holds float64 values, but this run's optimizer keeps float32")


def test_a_cut_sgd_momentum_buffer_is_refused(craft, sgd_run):
    def cut(tensors, header):
        tensors["optimizer.3.momentum_buffer"] = tensors["optimizer.3.momentum_buffer"][:1].clone()

    refused(craft(cut, sgd_run), r"'optimizer\.3\.momentum_buffer' has shape \[1\]",
            small_config(optimizer="sgd", schedule="cosine"))


def test_sgd_state_in_an_adam_checkpoint_is_refused(craft, sgd_run):
    def to_adam(tensors, header):
        header["training"].update(optimizer="adam", schedule="onecycle")

    # The training record says adam: the momentum buffers are not what an Adam optimizer keeps.
    refused(craft(to_adam, sgd_run), "unknown setting|unknown entry 'momentum_buffer'")


def test_an_unknown_optimizer_tensor_is_refused(craft):
    def extra(tensors, header):
        tensors["optimizer.0.bogus"] = torch.zeros(6, 1, 5, 5)

    refused(craft(extra), r"parameter 0 \(.*\) has an unknown entry 'bogus'")


def test_optimizer_state_for_a_parameter_the_model_lacks_is_refused(craft):
    def extra(tensors, header):
        tensors["optimizer.99.exp_avg"] = torch.zeros(3)

    refused(craft(extra), "optimizer state for parameter 99, but the model has 10")


def test_an_optimizer_tensor_that_names_no_parameter_is_refused(craft):
    def odd(tensors, header):
        tensors["optimizer.x.exp_avg"] = tensors.pop("optimizer.0.exp_avg")

    refused(craft(odd), r"'optimizer\.x\.exp_avg', which names no parameter")


def test_a_missing_optimizer_tensor_is_refused(craft):
    def drop(tensors, header):
        del tensors["optimizer.4.exp_avg_sq"]

    refused(craft(drop), r"parameter 4 \(.*\) has no 'exp_avg_sq'")


def test_a_non_finite_moment_is_refused(craft):
    def nan(tensors, header):
        tensors["optimizer.0.exp_avg"][0, 0, 0, 0] = float("nan")

    refused(craft(nan), r"'optimizer\.0\.exp_avg' holds values that are not finite")


def test_a_negative_second_moment_is_refused(craft):
    def negative(tensors, header):
        tensors["optimizer.0.exp_avg_sq"][0, 0, 0, 0] = -1.0

    refused(craft(negative), r"'optimizer\.0\.exp_avg_sq' holds negative values")


def test_a_scalar_that_is_not_a_count_is_refused(craft):
    def scalar(tensors, header):
        del tensors["optimizer.0.step"]
        header["resume"]["optimizer"]["scalars"] = {"0": {"step": "4"}}

    refused(craft(scalar), r"parameter 0 \(.*\) has 'step' = '4', which is not the tensor")


# The optimizer's settings (JSON).


def test_a_missing_optimizer_record_is_refused(craft):
    def drop(tensors, header):
        del header["resume"]["optimizer"]

    refused(craft(drop), "no optimizer settings")


def edit_group(change: Callable[[dict[str, Any]], None]) -> Callable[[Tensors, Header], None]:
    def edit(tensors, header):
        change(header["resume"]["optimizer"]["param_groups"][0])

    return edit


def set_key(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda group: group.__setitem__(key, value)


@pytest.mark.parametrize(("change", "match"), [
    (set_key("lr", "0.004"), r"parameter group 1 has 'lr' = '0\.004', which is not a number"),
    (set_key("eps", True), "'eps' = true, which is not a number"),
    (set_key("betas", [0.9]), r"'betas' = \[0\.9\], which is not a list of 2"),
    (set_key("betas", [0.9, "0.999"]), r"'betas\[1\]' = '0\.999', which is not a number"),
    (set_key("weight_decay", -1.0), "'weight_decay' = -1.0, which is negative"),
    (set_key("max_lr", float("inf")), "'max_lr' = inf, which is not a finite number"),
    (set_key("amsgrad", "no"), "'amsgrad' = 'no', which is not true or false"),
    (set_key("amsgrad", True), "'amsgrad' = true, but this run's adam optimizer has false"),
    (set_key("fused", "yes"), "'fused' = 'yes', which is not true, false or null"),
    (set_key("betas", [1.5, 0.999]), "does not make a valid adam optimizer"),
    (set_key("nesterov", True), "unknown setting 'nesterov'"),
    (lambda group: group.pop("lr"), "parameter group 1 has no 'lr'"),
    (lambda group: group.pop("params"), "has 'params' = null, which is not a list of parameter numbers"),
    (set_key("params", "0-9"), "which is not a list of parameter numbers"),
    (set_key("params", [0, 1, 2, 3, 4, 5, 6, 7, 8, "9"]), "which is not a list of parameter numbers"),
    (set_key("params", [0, 1, 2, 3, 4, 5, 6, 7, 8, 99]), "lists parameter 99, but the model has 10"),
    (set_key("params", [0, 1, 2, 3, 4, 5, 6, 7, 8, 8]), "does not list each of the model's 10 parameters exactly"),
    (set_key("params", [1, 0, 2, 3, 4, 5, 6, 7, 8, 9]), "out of order"),
])
def test_garbage_param_groups_are_refused(craft, change, match):
    refused(craft(edit_group(change)), match)


@pytest.mark.parametrize(("groups", "match"), [
    ("adam", "'param_groups' is not a list of parameter groups"),
    (["adam"], "'param_groups' is not a list of parameter groups"),
    ([], "has 0 parameter groups where this run's has 1"),
])
def test_param_groups_that_are_not_a_list_of_groups_are_refused(craft, groups, match):
    def edit(tensors, header):
        header["resume"]["optimizer"]["param_groups"] = groups

    refused(craft(edit), match)


def test_fused_and_foreach_together_are_refused(craft):
    def both(group):
        group.update(fused=True, foreach=True)

    refused(craft(edit_group(both)), "does not make a valid adam optimizer")


# The schedule state.


def edit_scheduler(change: Callable[[Any], Any]) -> Callable[[Tensors, Header], None]:
    def edit(tensors, header):
        header["resume"]["scheduler"] = change(header["resume"]["scheduler"])

    return edit


def set_entry(key: str, value: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda state: {**state, key: value}


def rename_phase_setting(state: dict[str, Any]) -> dict[str, Any]:
    state["_schedule_phases"][0]["start_lr"] = "lr_of_my_choice"
    return state


@pytest.mark.parametrize(("change", "match"), [
    (lambda state: "onecycle", "schedule state is not a table"),
    (lambda state: [state], "schedule state is not a table"),
    (lambda state: None, "holds no state for its 'onecycle' learning-rate schedule"),
    (set_entry("total_steps", "12"), "has 'total_steps' = '12', which is not a number"),
    (set_entry("last_epoch", True), "has 'last_epoch' = true, which is not a number"),
    (set_entry("base_lrs", [0.1, 0.2]), r"has 'base_lrs' = \[0\.1, 0\.2\], which is not a list of 1"),
    (set_entry("_last_lr", ["0.1"]), r"has '_last_lr\[0\]' = '0\.1', which is not a number"),
    (set_entry("cycle_momentum", 1), "has 'cycle_momentum' = 1, which is not true or false"),
    (set_entry("_anneal_func_type", "wobble"), "has '_anneal_func_type' = 'wobble', which is not 'cos'"),
    (set_entry("surprise", 1), "has an unknown entry 'surprise'"),
    (lambda state: {k: v for k, v in state.items() if k != "total_steps"}, "has no 'total_steps'"),
    (rename_phase_setting, r"'_schedule_phases\[0\]\.start_lr' = 'lr_of_my_choice', which is not 'initial_lr'"),
    (set_entry("last_epoch", 999), "stands at step 999, but its epochs end at step 4"),
])
def test_garbage_scheduler_state_is_refused(craft, change, match):
    refused(craft(edit_scheduler(change)), match)


def test_schedule_state_for_a_run_without_a_schedule_is_refused(craft):
    def constant(tensors, header):
        header["training"]["schedule"] = "constant"
        for key in ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"):  # the schedule's own
            del header["resume"]["optimizer"]["param_groups"][0][key]

    refused(craft(constant), "holds learning-rate schedule state, but this run", small_config(schedule="constant"))


def test_a_schedule_that_would_fail_mid_run_is_refused_before_training(craft):
    def overlapping(tensors, header):
        # The warm-up phase ends where the run ends: the last phase has no length, and dividing by it fails.
        phases = header["resume"]["scheduler"]["_schedule_phases"]
        phases[0]["end_step"] = phases[1]["end_step"]

    refused(craft(overlapping), r"fail on a trial step \(ZeroDivisionError")


def test_a_schedule_whose_learning_rate_would_overflow_is_refused(craft, step_run):
    config = small_config(schedule="step")
    load_resume_state(step_run, config, STEPS)  # as saved, it passes

    def overflowing(tensors, header):
        # Finite numbers, each one allowed, but the step schedule's next decay multiplies them past the largest float.
        header["resume"]["optimizer"]["param_groups"][0]["lr"] = 10.0
        header["resume"]["scheduler"]["gamma"] = 1e308

    refused(craft(overflowing, step_run), "fail on a trial step .*the learning rate became non-finite", config)


def test_state_whose_next_step_makes_the_weights_infinite_is_refused(craft, sgd_run):
    def explosive(tensors, header):
        # Each number finite on its own; one SGD step moves a weight by lr × momentum buffer = 1e30 × 9e9 (> 3.4e38).
        header["resume"]["optimizer"]["param_groups"][0]["lr"] = 1e30
        tensors["optimizer.0.momentum_buffer"] = torch.full_like(tensors["optimizer.0.momentum_buffer"], 1e10)

    refused(craft(explosive, sgd_run), "a trial step with its optimizer state turns the weights into NaN or infinity",
            small_config(optimizer="sgd", schedule="cosine"))


# The training record and the epoch count.


@pytest.mark.parametrize(("key", "value", "match"), [
    ("lr", "0.004", r"its training record has 'lr' = '0\.004', which is not a number"),
    ("lr", float("nan"), "'lr' = nan, which is not a finite number"),
    ("epochs", "8", "'epochs' = '8', which is not a whole number"),
    ("epochs", 3.0, "'epochs' = 3.0, which is not a whole number"),
    ("batch_size", True, "'batch_size' = true, which is not a whole number"),
    ("augment", "yes", "'augment' = 'yes', which is not true or false"),
    ("optimizer", 1, "'optimizer' = 1, which is not text"),
    ("model_options", "relu", "'model_options' = 'relu', which is not a table of options"),
    ("target_accuracy", "0.9", "'target_accuracy' = '0.9', which is not a number"),
    ("train_samples", 12.5, "'train_samples' = 12.5, which is not a whole number"),
    ("optimizer", "rmsprop", "training record is not valid: unknown optimizer 'rmsprop'"),
])
def test_a_training_record_with_wrong_types_is_refused(craft, key, value, match):
    def edit(tensors, header):
        header["training"][key] = value

    path = craft(edit)
    with pytest.raises(CnndeskError, match=match):
        resume_point(path)
    refused(path, match)


def test_optional_training_fields_may_be_null_and_unknown_ones_are_ignored(craft):
    def edit(tensors, header):
        header["training"].update(target_accuracy=None, test_samples=None, from_the_future=[1, 2])

    assert resume_point(craft(edit)).config.target_accuracy is None


@pytest.mark.parametrize(("value", "match"), [
    (-5, "'epochs_completed' = -5, but a checkpoint is written after at least one whole epoch"),
    (0, "'epochs_completed' = 0, but a checkpoint is written after at least one whole epoch"),
    (True, "'epochs_completed' = true, which is not a whole number"),
    ("2", "'epochs_completed' = '2', which is not a whole number"),
    (2.0, "'epochs_completed' = 2.0, which is not a whole number"),
    (4, "'epochs_completed' = 4, more than the 3 epochs of its run"),
])
def test_a_wrong_epoch_count_is_refused(craft, value, match):
    def edit(tensors, header):
        header["resume"]["epochs_completed"] = value

    path = craft(edit)
    with pytest.raises(CnndeskError, match=match):
        resume_point(path)
    refused(path, match)


def test_a_missing_epoch_count_is_refused(craft):
    refused(craft(lambda tensors, header: header["resume"].pop("epochs_completed")), "no 'epochs_completed'")


def test_more_epochs_completed_than_this_run_trains_are_refused(craft):
    def finished(tensors, header):
        header["resume"]["epochs_completed"] = 3

    refused(craft(finished), "it records 3 epochs completed, more than the 2 this run trains", small_config(epochs=2))


@pytest.mark.parametrize(("entry", "match"), [
    ("epoch one", "record of epoch 1 is not a table"),
    ({"epoch": 1}, "record of epoch 1 has no 'train_loss'"),
    ({"epoch": 1, "train_loss": "0.5", "train_accuracy": 0.5, "test_accuracy": 0.5, "seconds": 1.0,
      "samples_per_second": 10.0}, "record of epoch 1 has 'train_loss' = '0.5', which is not a number"),
])
def test_a_damaged_history_is_refused(craft, entry, match):
    def edit(tensors, header):
        header["metrics"]["history"] = [entry]

    path = craft(edit)
    with pytest.raises(CnndeskError, match=match):
        resume_point(path)


def test_a_history_without_test_accuracy_keeps_its_nan(craft):
    def edit(tensors, header):
        header["metrics"]["history"][0]["test_accuracy"] = float("nan")

    assert math.isnan(resume_point(craft(edit)).history[0].test_accuracy)


# The model.


def test_non_finite_weights_are_refused(craft):
    def nan(tensors, header):
        key = next(k for k in tensors if not k.startswith("optimizer.") and k.endswith("weight"))
        tensors[key] = tensors[key].clone()
        tensors[key].view(-1)[0] = float("inf")

    # load_model refuses such weights for every use of a checkpoint, resuming included.
    with pytest.raises(CnndeskError, match=r"holds weights that are not numbers"):
        load_resume_state(craft(nan), small_config(), STEPS)


def test_a_checkpoint_of_another_model_is_refused(adam_run):
    refused(adam_run, "it holds a lenet5, not the cnn3-bn this run trains",
            TrainConfig.for_model("cnn3-bn", epochs=3, batch_size=64, train_samples=256))


# The command line, end to end.


def test_the_cli_refuses_zeroed_optimizer_tensors_with_one_line(craft, tmp_path):
    def zeros(tensors, header):
        for key in tensors:
            if key.startswith("optimizer."):
                tensors[key] = torch.zeros(1)

    path = craft(zeros)
    before = path.read_bytes()
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "CNNDESK_DATA_DIR": str(data)}
    done = subprocess.run([sys.executable, "-m", "cnndesk", "train", "--resume", str(path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("cnndesk: error:"), done.stderr
    assert "run.safetensors cannot be resumed" in lines[0] and "shape [1]" in lines[0]
    assert path.read_bytes() == before
