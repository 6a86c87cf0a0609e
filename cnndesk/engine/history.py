"""Training history: weight snapshots a run keeps, so the app can replay how the network learned.

``HistoryRecorder`` (a ``TrainingCallback`` that ``fit`` adds) copies the weights at planned steps — the initial
weights, more often early in the run where learning is fastest, then a few per epoch and every epoch's end — and
measures each snapshot on a fixed subset of the run's test split (accuracy and confusion matrix, the same images
for every snapshot). A checkpoint stores the snapshots beside its weights (``history.{index}.{param}`` tensors, the
fields in the JSON header's ``history`` entry); ``load_history`` reads them back, every field and tensor checked.

Size: at most ``MAX_SNAPSHOTS`` snapshots and ``MAX_HISTORY_BYTES`` of weights per run, so a large model keeps
fewer (convnet3, 2.5 MB of weights: 26); a model whose two snapshots would not fit keeps none.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import torch
from safetensors import SafetensorError, safe_open

from .checkpoint import HISTORY_PREFIX  # the checkpoint's snapshot tensors: history.{index}.{param}
from .errors import CnndeskError
from .models import Network, build_model
from .train import TrainingCallback, evaluate

if TYPE_CHECKING:
    from .data import TensorDataset
    from .train import FitInfo, FitLoop

MAX_SNAPSHOTS = 64
MAX_HISTORY_BYTES = 64 << 20  # the snapshots' weights of one run, at most (in memory and in its checkpoint)
# Snapshots are measured on the first images of the run's test split: a forward pass over them in the middle of
# training, ~12 ms for 1,000 LeNet5 images on an idle 2-core CPU (2,000 took ~23 ms: 12% of LeNet5's first epoch
# with 16 early snapshots). 1,000 still resolve 0.1% of accuracy and ~100 images per row of the confusion matrix.
HISTORY_TEST_IMAGES = 1000
EARLY_SNAPSHOTS = 12  # log-spaced steps in the first epoch, where the weights change fastest
PER_EPOCH_SNAPSHOTS = 3  # evenly inside each later epoch (its quarters), besides its end
HISTORY_KEY = "history"  # the checkpoint header's entry
CLASSES = 10
_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")  # a snapshot number in a tensor name


@dataclass(frozen=True, eq=False)
class Snapshot:
    """The network at one step of its run (eq=False: it holds arrays and tensors; compare fields instead)."""

    index: int  # position in the run's history, 0 = the weights before the first step
    step: int  # optimizer steps taken when it was taken
    epoch: float  # epochs trained at that moment (step / batches per epoch), e.g. 0.25
    test_accuracy: float | None  # on the history's fixed test subset (None: the run has no test images)
    confusion: np.ndarray | None  # (10, 10) int64 on that same subset, rows = true label, cols = predicted
    weights: dict[str, torch.Tensor]  # the model's state_dict at that step, CPU, contiguous copies


class TrainingHistory(Sequence[Snapshot]):
    """A run's snapshots, ordered by step: an immutable view (appending makes a new history), so it can be handed
    to another thread as it is."""

    def __init__(self, model_config: dict[str, Any], test_images: int, snapshots: Sequence[Snapshot] = ()) -> None:
        self.model_config: dict[str, Any] = copy.deepcopy(model_config)  # Network.config of the model they fit
        self.test_images = test_images  # size of the test subset accuracy and confusion were measured on
        self._snapshots: tuple[Snapshot, ...] = tuple(snapshots)

    def __len__(self) -> int:
        return len(self._snapshots)

    @overload
    def __getitem__(self, index: int) -> Snapshot: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Snapshot, ...]: ...

    def __getitem__(self, index: int | slice) -> Snapshot | tuple[Snapshot, ...]:
        return self._snapshots[index]

    def __repr__(self) -> str:
        steps = [s.step for s in self._snapshots]
        return f"TrainingHistory({self.model_config.get('name')!r}, {len(self)} snapshots, steps {steps})"

    @property
    def nbytes(self) -> int:
        """Bytes of weights the snapshots hold."""
        return sum(t.numel() * t.element_size() for s in self._snapshots for t in s.weights.values())

    def appended(self, snapshot: Snapshot) -> TrainingHistory:
        return TrainingHistory(self.model_config, self.test_images, (*self._snapshots, snapshot))

    def until(self, step: int) -> TrainingHistory:
        """The snapshots taken up to ``step`` (a checkpoint never holds snapshots later than its weights)."""
        return TrainingHistory(self.model_config, self.test_images, [s for s in self._snapshots if s.step <= step])

    def model_at(self, index: int) -> Network:
        """A fresh model (eval mode, CPU) with snapshot ``index``'s weights (negative: from the end)."""
        model = empty_model(self.model_config)
        self.load_into(model, index)
        return model.eval()

    def load_into(self, model: Network, index: int) -> None:
        """Copy snapshot ``index``'s weights into ``model`` (same architecture; any device or memory layout)."""
        snapshot = self._snapshots[index]
        if getattr(model, "config", None) != self.model_config:
            raise CnndeskError(f"This training history is of a {self.model_config.get('name')} with options "
                               f"{self.model_config.get('options')}, not the model given.")
        with torch.no_grad():
            model.load_state_dict(snapshot.weights, strict=True)

    def summary(self) -> list[dict[str, Any]]:
        """JSON-safe rows, one per snapshot: index, step, epoch (rounded), test_accuracy (None if unmeasured)."""
        return [{"index": s.index, "step": s.step, "epoch": round(s.epoch, 4), "test_accuracy": s.test_accuracy}
                for s in self._snapshots]


def empty_model(config: dict[str, Any], device: torch.device | str = "cpu") -> Network:
    """The architecture ``config`` describes with uninitialised weights, built without drawing a random number:
    the replay builds models while a run trains, and the run's reproducibility rests on the global generator."""
    with torch.device("meta"):  # initialisation on meta tensors computes (and draws) nothing
        model = build_model(config)
    return model.to_empty(device=device)


def snapshot_bytes(model: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in model.state_dict().values())


def snapshot_budget(model: torch.nn.Module, max_bytes: int = MAX_HISTORY_BYTES) -> int:
    """How many snapshots a run of ``model`` keeps: MAX_SNAPSHOTS, fewer for a large model, none if two (its start
    and its end) would not fit in ``max_bytes``."""
    budget = min(MAX_SNAPSHOTS, max_bytes // max(1, snapshot_bytes(model)))
    return budget if budget >= 2 else 0


def snapshot_steps(epochs: int, steps_per_epoch: int, budget: int = MAX_SNAPSHOTS) -> list[int]:
    """The steps at which a run of ``epochs`` × ``steps_per_epoch`` steps takes its snapshots, at most ``budget``.

    Step 0 (the initial weights) and every epoch's end first (evenly thinned, the last kept, if there are more
    epochs than the budget allows), then EARLY_SNAPSHOTS log-spaced steps in the first epoch, then
    PER_EPOCH_SNAPSHOTS evenly inside each later epoch, as far as the budget goes. A function of the run's length
    only, so a resumed run takes the snapshots the uninterrupted run would have.
    """
    if budget < 2 or epochs < 1 or steps_per_epoch < 1:
        return [0] if budget >= 1 else []
    batches = steps_per_epoch
    ends = [epoch * batches for epoch in range(1, epochs + 1)]
    if len(ends) > budget - 1:
        keep = budget - 1
        ends = [ends[round(i * (epochs - 1) / (keep - 1))] for i in range(keep)] if keep > 1 else [ends[-1]]
    chosen = {0, *ends}
    room = budget - len(chosen)
    early = _log_spaced(min(room, EARLY_SNAPSHOTS), batches)
    chosen.update(early)
    room = budget - len(chosen)
    if epochs > 1 and room > 0:
        per_epoch = min(PER_EPOCH_SNAPSHOTS, room // (epochs - 1))
        if per_epoch > 0:
            for epoch in range(2, epochs + 1):
                start = (epoch - 1) * batches
                chosen.update(start + round(j * batches / (per_epoch + 1)) for j in range(1, per_epoch + 1))
        else:  # fewer spare snapshots than epochs: the middles of evenly chosen epochs
            picks = np.linspace(2, epochs, room).round().astype(int)
            chosen.update((int(e) - 1) * batches + batches // 2 for e in picks)
    return sorted(step for step in chosen if 0 <= step <= epochs * batches)[:budget]


def _log_spaced(count: int, batches: int) -> list[int]:
    """``count`` distinct steps between 1 and three quarters of the first epoch, log-spaced (1, 2, 3, 5, 7, 10…)."""
    last = max(1, (3 * batches) // 4)
    if count <= 0:
        return []
    if count >= last:
        return list(range(1, last + 1))
    points = count
    while True:  # rounding merges the first few; ask for more points until there are enough distinct steps
        steps = np.unique(np.round(np.geomspace(1, last, points)).astype(int))
        if len(steps) >= count or points > last:
            break
        points += 1
    picks = np.round(np.linspace(0, len(steps) - 1, count)).astype(int)
    return [int(step) for step in steps[picks]]


class HistoryRecorder(TrainingCallback):
    """Takes a run's snapshots while it trains (``fit`` makes one unless ``record_history=False``).

    ``history`` is replaced, never changed, on each snapshot: another thread may read it at any time. Each
    snapshot is also handed to the run's other callbacks (``on_snapshot``); a resumed run's earlier snapshots are
    handed over first, when its first epoch starts.
    """

    def __init__(self, previous: TrainingHistory | None = None, test_images: int = HISTORY_TEST_IMAGES,
                 max_bytes: int = MAX_HISTORY_BYTES) -> None:
        self.history: TrainingHistory = previous if previous is not None else TrainingHistory({}, 0)
        self.listeners: Sequence[Any] = ()  # the run's other callbacks, told of each snapshot (set by fit)
        self._previous = previous
        self._test_images = test_images
        self._max_bytes = max_bytes
        self._loop: FitLoop | None = None
        self._test: TensorDataset | None = None
        self._plan: set[int] = set()
        self._budget = 0
        self._announced = False

    def on_fit_start(self, info: FitInfo) -> None:
        loop = info.loop
        assert loop is not None, "the recorder needs the run (FitInfo.loop)"
        self._loop = loop
        self._test = loop.test.subset(min(self._test_images, len(loop.test)))
        config = info.model.config
        self._budget = snapshot_budget(info.model, self._max_bytes)
        self._plan = set(snapshot_steps(info.config.epochs, info.batches_per_epoch, self._budget))
        previous = self._previous
        if previous is not None and previous.model_config == config and previous.test_images == len(self._test):
            self.history = previous.until(loop.step)  # a resumed run continues its checkpoint's history
        else:
            self.history = TrainingHistory(config, len(self._test))

    def on_epoch_start(self, epoch: int) -> None:
        if not self._announced:  # every callback has seen on_fit_start by now
            self._announced = True
            for snapshot in self.history:
                self._tell(snapshot)
        self._take_if_planned()

    def on_batch_end(self, batch: int) -> None:
        self._take_if_planned()

    def finish(self) -> TrainingHistory:
        """The run ended: a last snapshot of the final weights if the run stopped between planned steps (target
        reached, or stopped), unless it diverged. Returns the history."""
        from .train import STOP_DIVERGED

        loop = self._loop
        if loop is not None and loop.stop_reason != STOP_DIVERGED and len(self.history) < self._budget:
            self._take()
        return self.history

    def _take_if_planned(self) -> None:
        loop = self._loop
        if loop is not None and loop.step in self._plan:
            self._take()

    def _take(self) -> None:
        loop = self._loop
        assert loop is not None and self._test is not None
        history = self.history
        if history and history[-1].step >= loop.step:
            return  # taken already (or a resumed run's last snapshot)
        model = loop.model
        weights = {name: value.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
                   for name, value in model.state_dict().items()}
        if not all(_finite(w) for w in weights.values()):
            return  # diverging (the loss check has not caught up yet): such weights are not kept
        accuracy: float | None = None
        confusion: np.ndarray | None = None
        if len(self._test):
            # evaluate() switches to eval mode and back, and draws no random numbers; the generator's state is
            # restored all the same, since a resumed run must match an uninterrupted one bit for bit.
            with torch.random.fork_rng(devices=[]):
                evaluation = evaluate(model, self._test)
            accuracy = evaluation.accuracy
            confusion = np.asarray(evaluation.confusion_matrix, dtype=np.int64)
        snapshot = Snapshot(len(history), loop.step, loop.step / loop.batches_per_epoch, accuracy, confusion,
                            weights)
        self.history = history.appended(snapshot)
        self._tell(snapshot)

    def _tell(self, snapshot: Snapshot) -> None:
        for listener in self.listeners:
            hook = getattr(listener, "on_snapshot", None)
            if hook is not None:
                hook(snapshot)


# Storage in a checkpoint.


def history_payload(history: TrainingHistory, model: Network) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A history as checkpoint tensors and a header entry; CnndeskError if its snapshots do not fit ``model``."""
    if history.model_config != model.config:
        raise CnndeskError(f"The training history is of a {history.model_config.get('name')} (options "
                           f"{history.model_config.get('options')}), not this {model.name} "
                           f"({model.config['options']}).")
    expected = {name: (tuple(value.shape), value.dtype) for name, value in model.state_dict().items()}
    tensors: dict[str, torch.Tensor] = {}
    entries = []
    for position, snapshot in enumerate(history):
        problem = _weights_problem(snapshot.weights, expected)
        if problem:
            raise CnndeskError(f"Snapshot {position} of the training history does not fit the {model.name}: {problem}.")
        for name, value in snapshot.weights.items():
            tensors[f"{HISTORY_PREFIX}{position}.{name}"] = value.detach().to("cpu").contiguous()
        entries.append({
            "index": position, "step": snapshot.step, "epoch": snapshot.epoch,
            "test_accuracy": snapshot.test_accuracy,
            "confusion": None if snapshot.confusion is None else np.asarray(snapshot.confusion).tolist(),
        })
    return tensors, {"test_images": history.test_images, "snapshots": entries}


def load_history(path: str | Path) -> TrainingHistory | None:
    """The training history a checkpoint keeps; None if it has none. Every header field is checked by type and
    every snapshot tensor against the model: a damaged or crafted file raises one CnndeskError sentence."""
    from .checkpoint import read_metadata
    from .foreign import foreign_kind

    path = Path(path)
    if foreign_kind(path) is not None:  # a model from elsewhere (engine.foreign): weights only, no history
        return None
    meta = read_metadata(path)
    record = meta.get(HISTORY_KEY)
    if record is None:
        return None
    name = path.name
    if not isinstance(record, dict):
        raise _damaged(name, f"'{HISTORY_KEY}' is not a table")
    test_images = record.get("test_images")
    if not _is_int(test_images) or test_images < 0:
        raise _damaged(name, f"'test_images' is {_show(test_images)}, not a count of images")
    entries = record.get("snapshots")
    if not isinstance(entries, list):
        raise _damaged(name, "'snapshots' is not a list")
    if len(entries) > MAX_SNAPSHOTS:
        raise _damaged(name, f"it lists {len(entries)} snapshots, more than the {MAX_SNAPSHOTS} a run keeps")
    if not entries:
        return None
    fields = [_snapshot_fields(name, position, entry, test_images) for position, entry in enumerate(entries)]
    for before, after in itertools.pairwise(fields):
        if after["step"] <= before["step"]:
            raise _damaged(name, f"snapshot {after['index']} is at step {after['step']}, not after snapshot "
                                 f"{before['index']}'s step {before['step']}")

    try:
        template = empty_model(meta["model"], device="meta")
    except (CnndeskError, TypeError, ValueError) as exc:
        raise CnndeskError(f"{path} needs a model this cnndesk cannot build: {exc}") from None
    expected = {key: (tuple(value.shape), value.dtype) for key, value in template.state_dict().items()}
    weights: list[dict[str, torch.Tensor]] = [{} for _ in entries]
    try:
        with safe_open(str(path), framework="pt") as handle:
            for key in handle.keys():  # noqa: SIM118
                if not key.startswith(HISTORY_PREFIX):
                    continue
                index, _, param = key[len(HISTORY_PREFIX):].partition(".")
                if not (_INDEX.fullmatch(index) and int(index) < len(entries) and param):
                    raise _damaged(name, f"it holds a tensor named '{key}', which names no snapshot")
                weights[int(index)][param] = handle.get_tensor(key)
    except (SafetensorError, OSError, ValueError):
        raise CnndeskError(f"{path} is damaged: its training history's tensors cannot be read.") from None
    for position, snapshot_weights in enumerate(weights):
        problem = _weights_problem(snapshot_weights, expected)
        if problem:
            raise _damaged(name, f"snapshot {position} does not fit its {meta['model']['name']}: {problem}")
        broken = [key for key, value in snapshot_weights.items() if not _finite(value)]
        if broken:
            raise _damaged(name, f"snapshot {position} holds values that are not numbers in '{broken[0]}'")
    snapshots = [Snapshot(f["index"], f["step"], f["epoch"], f["test_accuracy"], f["confusion"], w)
                 for f, w in zip(fields, weights, strict=True)]
    return TrainingHistory(meta["model"], test_images, snapshots)


def _snapshot_fields(name: str, position: int, entry: Any, test_images: int) -> dict[str, Any]:
    """One snapshot's header entry, checked: index, step, epoch, test accuracy and confusion matrix."""
    where = f"snapshot {position}"
    if not isinstance(entry, dict):
        raise _damaged(name, f"{where} is not a table")
    for key in ("index", "step", "epoch"):
        if key not in entry:
            raise _damaged(name, f"{where} has no '{key}'")
    index, step, epoch = entry["index"], entry["step"], entry["epoch"]
    if index != position or not _is_int(index):
        raise _damaged(name, f"{where} has 'index' = {_show(index)}, not {position}")
    if not _is_int(step) or step < 0:
        raise _damaged(name, f"{where} has 'step' = {_show(step)}, which is not a step count")
    if not _is_number(epoch) or not math.isfinite(epoch) or epoch < 0:
        raise _damaged(name, f"{where} has 'epoch' = {_show(epoch)}, which is not a number of epochs")
    accuracy = entry.get("test_accuracy")
    if accuracy is not None and not (_is_number(accuracy) and 0 <= accuracy <= 1):
        raise _damaged(name, f"{where} has 'test_accuracy' = {_show(accuracy)}, which is not a fraction from 0 to 1")
    raw = entry.get("confusion")
    confusion = None
    if raw is not None:
        if not (isinstance(raw, list) and len(raw) == CLASSES
                and all(isinstance(row, list) and len(row) == CLASSES for row in raw)
                and all(_is_int(v) and 0 <= v <= test_images for row in raw for v in row)):
            raise _damaged(name, f"{where} has a 'confusion' that is not a 10×10 table of image counts")
        confusion = np.asarray(raw, dtype=np.int64)
        if int(confusion.sum()) != test_images:
            raise _damaged(name, f"{where}'s confusion matrix counts {int(confusion.sum())} images, not the "
                                 f"{test_images} it was measured on")
    if (accuracy is None) != (confusion is None):
        raise _damaged(name, f"{where} has a test accuracy without a confusion matrix, or the reverse")
    return {"index": index, "step": step, "epoch": float(epoch), "test_accuracy": accuracy, "confusion": confusion}


def _weights_problem(weights: dict[str, torch.Tensor], expected: dict[str, tuple[tuple[int, ...], torch.dtype]]
                     ) -> str | None:
    """What keeps ``weights`` from loading into a model whose state_dict is ``expected`` (None: nothing)."""
    missing = [key for key in expected if key not in weights]
    if missing:
        return f"it has no '{missing[0]}'"
    unknown = [key for key in weights if key not in expected]
    if unknown:
        return f"it has a tensor '{unknown[0]}' the model does not have"
    for key, (shape, dtype) in expected.items():
        value = weights[key]
        if not isinstance(value, torch.Tensor):
            return f"its '{key}' is not a tensor"
        if tuple(value.shape) != shape:
            return f"its '{key}' has shape {list(value.shape)}, where the model's has {list(shape)}"
        if value.dtype != dtype:
            return f"its '{key}' holds {str(value.dtype).removeprefix('torch.')} values, where the model's holds " \
                   f"{str(dtype).removeprefix('torch.')}"
    return None


def _finite(tensor: torch.Tensor) -> bool:
    """No NaN or infinity in ``tensor``. The largest magnitude is NaN or infinite exactly when some value is, and
    finding it is several times faster than ``isfinite(...).all()`` (which makes a bool tensor first)."""
    if not tensor.is_floating_point() or tensor.numel() == 0:
        return True
    return math.isfinite(float(tensor.abs().amax()))


def _damaged(name: str, problem: str) -> CnndeskError:
    return CnndeskError(f"{name} has a damaged training history: {problem}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, list | dict) else type(value).__name__
    return text if len(text) <= 40 else text[:39] + "…"
