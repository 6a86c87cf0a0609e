"""The state the whole app shares, Qt-free and observable: the current model, the current input, the inspection of
that input, and the selection (a layer, a channel, a cell).

A view changes the session (a new drawing, a clicked cell); the session computes through the engine and tells every
observer; the views that care repaint. Events are plain callbacks, called on the thread that changed the session
(the window's GUI thread); tests use them headless.

The session predicts with its own CPU copy of the network (``Predictor``). While a run trains, that copy follows the
run's weight snapshots (``follow_run``/``load_weights``), so the prediction changes live; when the run ends, the
model it saved — or, if it saved none, the previous model — is current again (``end_run``).

A second model can be pinned beside the current one (``pin``), as a CPU copy of its own that nothing trains or
reloads; every refresh inspects the input with it too, to compare both models on the same drawing.

A model trained in cnndesk keeps its run's history: weight snapshots from its first step to its last (``history``).
``show_snapshot(k)`` shows the network as it was at snapshot k — every view follows, as for a run's weights —
and ``show_snapshot(None)`` goes back to the model's own weights (or, while a run trains, to its latest ones).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnndesk.engine.preprocess import preprocess  # NumPy only: no PyTorch before the window shows
from cnndesk.locations import is_pretrained

TEST_IMAGE_SCALE = 10  # a 28×28 test image shown on the 280×280 canvas

if TYPE_CHECKING:
    from cnndesk.engine import Evaluation, Inspection, Network, Predictor, Preprocessed, Snapshot, TrainingHistory
    from cnndesk.engine.explain import CellExplanation

    from .runs import RunOutcome


class Event:
    """A list of callbacks called in order with the event's values (on the thread that emits it)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *values: Any) -> None:
        for callback in list(self._callbacks):
            callback(*values)


@dataclass(frozen=True)
class CurrentModel:
    """The model the app shows, and where it came from."""

    model: Network
    meta: dict[str, Any]
    path: Path | None  # the file it was opened from or saved to; None: never saved (an untrained model)
    saved: bool = True  # the weights are the ones in ``path``

    @property
    def name(self) -> str:
        return str(self.meta.get("model", {}).get("name", self.model.name))

    @property
    def bundled(self) -> bool:
        return self.path is not None and is_pretrained(self.path)

    @property
    def has_weights(self) -> bool:
        """False for an ONNX file run by onnxruntime (engine.onnx_runtime): it predicts and shows its layers, but
        nothing can train it, save it as a checkpoint, export it, show its kernels or take gradients through it.
        The one rule every view that needs weights consults (through ``Session.has_weights`` for the network
        shown)."""
        return self.meta.get("foreign", {}).get("runtime") != "onnxruntime"

    @property
    def test_accuracy(self) -> float | None:
        value = self.meta.get("metrics", {}).get("test_accuracy")
        return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


@dataclass(frozen=True)
class Selection:
    """A layer, optionally one of its channels, optionally one cell of that channel's map."""

    layer: str
    channel: int | None = None
    y: int | None = None
    x: int | None = None

    @property
    def cell(self) -> tuple[int, ...] | None:
        """(channel, y, x) of a map, (unit,) of a vector layer, None without a cell."""
        if self.channel is None:
            return None
        return (self.channel,) if self.y is None or self.x is None else (self.channel, self.y, self.x)

    @classmethod
    def of_cell(cls, layer: str, cell: tuple[int, ...]) -> Selection:
        return cls(layer, cell[0]) if len(cell) == 1 else cls(layer, cell[0], cell[1], cell[2])


class Session:
    """The current model, input, inspection and selection, with an event for each."""

    def __init__(self) -> None:
        self.model: CurrentModel | None = None
        self.input: Preprocessed | None = None
        self.inspection: Inspection | None = None
        self.selection: Selection | None = None
        self._field: tuple[Selection, tuple[int, int, int, int] | None] | None = None  # selection_field's answer
        self.predictor: Predictor | None = None  # None until PyTorch has loaded
        self.following_run = False  # the predictor holds the weights of the run in progress
        self.inspections = 0  # inspections made (the views' refreshes: for tests and the self-test)
        self.model_changed = Event()  # (CurrentModel): opened, trained, saved elsewhere
        self.network_changed = Event()  # (Network): the architecture the views show (the current model's or a run's)
        self.weights_changed = Event()  # (Network): new weights of the network shown (a run's snapshot)
        self.input_changed = Event()  # (Preprocessed | None)
        self.inspection_changed = Event()  # (Inspection | None)
        self.selection_changed = Event()  # (Selection | None)
        # The shown network on the MNIST test set, image by image, once asked for; None when there is none or the
        # weights have changed since (a run's snapshot, another model).
        self.evaluation: Evaluation | None = None
        self.evaluation_changed = Event()  # (Evaluation | None)
        self.test_index: int | None = None  # the MNIST test image that is the current input, if one is
        # A second model pinned beside the current one, to compare both on the same input (the Side by side tab).
        self.pinned: CurrentModel | None = None  # its ``model`` is the pinned copy, never trained or reloaded
        self.pinned_inspection: Inspection | None = None  # the input through the pinned model, as ``inspection``
        self._pinned_predictor: Predictor | None = None
        self.pinned_changed = Event()  # (CurrentModel | None): pinned or unpinned
        # The training history of the network shown (its checkpoint's, or the run's so far), and the snapshot of it
        # the views show (None: the network's own, latest weights).
        self.history: TrainingHistory | None = None
        self.snapshot: int | None = None
        self._live_weights: dict[str, Any] | None = None  # a run's latest weights, held while a snapshot is shown
        self._latest_evaluation: Evaluation | None = None  # the latest weights' evaluation, while a snapshot is shown
        self.history_changed = Event()  # (TrainingHistory | None)
        self.snapshot_changed = Event()  # (int | None)

    # -- the model ---------------------------------------------------------------------------------------
    @property
    def has_weights(self) -> bool:
        """Whether the network the views show has PyTorch weights: a run's always; otherwise the current model's
        ``CurrentModel.has_weights``."""
        return self.following_run or self.model is None or self.model.has_weights

    def start_predicting(self, predictor: Predictor) -> None:
        """PyTorch is in: predict from now on (with the current model, once there is one)."""
        self.predictor = predictor
        if self.model is not None:
            self._show(self.model.model)

    def set_model(self, model: Network, meta: dict[str, Any], path: Path | None, saved: bool = True,
                  history: TrainingHistory | None = None) -> CurrentModel:
        """Make ``model`` current; ``history``: its run's snapshots, if it has them."""
        self.model = CurrentModel(model, meta, Path(path) if path is not None else None, saved and path is not None)
        self.following_run = False
        self._set_history(history if history is not None and history.model_config == model.config else None)
        self.model_changed.emit(self.model)
        if self.predictor is not None:
            self._show(model)
        return self.model

    def open_model(self, path: str | Path) -> CurrentModel:
        """Load a checkpoint (and its training history, if it has one) and make it current; CnndeskError (and no
        change) if it cannot be loaded."""
        from cnndesk.engine import load_history, load_model

        model, meta = load_model(path)
        return self.set_model(model, meta, Path(path), history=load_history(path))

    def save_model(self, path: str | Path) -> Path:
        """Write the current model to ``path`` (atomically); it is then the current model's file."""
        from cnndesk.engine import save_checkpoint

        current = self.model
        if current is None:
            raise ValueError("There is no model to save.")
        if not current.has_weights:
            from cnndesk.engine import require_weights

            require_weights(current.model, "saved as a checkpoint")
        saved = save_checkpoint(current.model, path, current.meta.get("training"), current.meta.get("metrics"),
                                snapshots=None if self.following_run else self.history)
        self.model = CurrentModel(current.model, current.meta, saved, True)
        self.model_changed.emit(self.model)
        return saved

    # -- a pinned model beside it ------------------------------------------------------------------------
    def pin(self, model: CurrentModel | None = None) -> CurrentModel:
        """Pin ``model`` (default: the current model, as saved, not a run's live weights) as its own CPU copy:
        training, a run's weight snapshots or opening another model leave it as it is. Needs PyTorch."""
        from cnndesk.engine import Predictor

        chosen = model if model is not None else self.model
        if chosen is None:
            raise ValueError("There is no model to pin.")
        self._pinned_predictor = Predictor(chosen.model)
        self.pinned = replace(chosen, model=self._pinned_predictor.model)
        self.pinned_inspection = None if self.input is None else self._pinned_predictor.inspect(self.input.centred)
        self.pinned_changed.emit(self.pinned)
        return self.pinned

    def unpin(self) -> None:
        self.pinned = self.pinned_inspection = self._pinned_predictor = None
        self.pinned_changed.emit(None)

    def compare(self, image: np.ndarray) -> tuple[Inspection | None, Inspection | None]:
        """(pinned, shown) inspections of ``image``, a 28×28 input other than the session's (a moved copy): the
        session's own input and inspections stay as they are. None for a model that is not there."""
        pinned = None if self._pinned_predictor is None else self._pinned_predictor.inspect(image)
        return pinned, None if self.predictor is None else self.predictor.inspect(image)

    # -- a run in progress -------------------------------------------------------------------------------
    def follow_run(self, network: Network) -> None:
        """A run started training ``network`` (freshly built): the views follow its weights until it ends."""
        self.following_run = True
        self._set_history(None)
        if self.predictor is not None:
            self._show(network)

    def run_history(self, history: TrainingHistory) -> None:
        """The run in progress took a snapshot: ``history`` holds all of them so far."""
        if self.following_run:
            self._set_history(history)

    def load_weights(self, state: dict[str, Any]) -> None:
        """A weight snapshot of the run in progress (ignored once the run has ended). While one of the run's history
        snapshots is shown, the views stay on it: the latest weights wait until ``show_snapshot(None)``."""
        if not self.following_run or self.predictor is None:
            return
        if self.snapshot is not None:
            self._live_weights = state
            return
        self.predictor.load_weights(state)
        if self.evaluation is not None:
            self.set_evaluation(None)  # of other weights
        self.weights_changed.emit(self.predictor.model)
        if self.input is not None:
            self.refresh()

    def end_run(self, outcome: RunOutcome) -> bool:
        """A run ended: its saved model becomes current (True); if nothing was saved, the previous model stays and
        is shown again (False) — what the views showed while it trained is not kept."""
        self.following_run = False
        if outcome.model is not None:
            snapshots = outcome.result.snapshots if outcome.result is not None else None
            if outcome.checkpoint is not None and (snapshots is None or outcome.model is not outcome.result.model):
                snapshots = self._saved_history(outcome.checkpoint)  # the file's model: the file's history
            self.set_model(outcome.model, outcome.meta, outcome.checkpoint, saved=outcome.checkpoint is not None,
                           history=snapshots)
            return True
        self._set_history(None)
        if self.model is not None and self.predictor is not None:
            self._show(self.model.model)
        return False

    @staticmethod
    def _saved_history(path: Path) -> TrainingHistory | None:
        from cnndesk.engine import load_history
        from cnndesk.errors import CnndeskError

        try:
            return load_history(path)
        except CnndeskError:
            return None  # the model is what matters; a damaged history is only not shown

    # -- the run's history ---------------------------------------------------------------------------------
    @property
    def shown_snapshot(self) -> Snapshot | None:
        """The snapshot of ``history`` the views show; None when they show the latest weights."""
        return None if self.history is None or self.snapshot is None else self.history[self.snapshot]

    def show_snapshot(self, index: int | None) -> None:
        """Show the network as it was at snapshot ``index`` of ``history`` (None: its own, latest weights)."""
        if self.predictor is None or self.history is None:
            index = None
        elif index is not None and not 0 <= index < len(self.history):
            raise IndexError(f"No snapshot {index}: the history has {len(self.history)}.")
        if index == self.snapshot:
            return
        if self.snapshot is None:
            self._latest_evaluation = self.evaluation  # back at the latest weights, it holds again
        evaluation = None
        if index is not None:
            self.history.load_into(self.predictor.model, index)
        elif self.predictor is not None:
            latest = self._live_weights if self.following_run else None
            if latest is None and self.model is not None and not self.following_run:
                latest = self.model.model.state_dict()
            if latest is not None:
                self.predictor.load_weights(latest)
            if self._live_weights is None:  # the weights it was made with (a run's newer ones make it stale)
                evaluation = self._latest_evaluation
        if index is None:
            self._latest_evaluation = None
        self._live_weights = None
        self.snapshot = index
        if self.evaluation is not evaluation:
            self.set_evaluation(evaluation)
        self.snapshot_changed.emit(index)
        if self.predictor is not None:
            self.weights_changed.emit(self.predictor.model)
            if self.input is not None:
                self.refresh()

    def _set_history(self, history: TrainingHistory | None) -> None:
        if history is None and self.history is None:
            return
        if history is not self.history and self.snapshot is not None and history is None:
            self.snapshot = None  # the weights it showed belong to a history that is gone
            self._live_weights = self._latest_evaluation = None
            self.snapshot_changed.emit(None)
        self.history = history
        self.history_changed.emit(history)


    # -- the input ---------------------------------------------------------------------------------------
    def set_drawing(self, ink: np.ndarray | None, even_strokes: bool = False) -> None:
        """The canvas's ink (None: empty), through MNIST's own preprocessing; ``even_strokes`` for ink without stroke
        paths (an opened image): its strokes are brought to MNIST's width first, as the canvas does from paths."""
        self.set_input(None if ink is None else preprocess(ink, even_strokes=even_strokes))

    def show_test_image(self, index: int) -> Preprocessed:
        """MNIST test image ``index`` becomes the current input, exactly as the model was tested on it (no
        preprocessing: it is MNIST's own). Its source is the image ×10, the canvas's size."""
        from cnndesk.engine import load_splits
        from cnndesk.engine.preprocess import Preprocessed

        image = load_splits("mnist").test.images[index, 0].numpy().astype(np.float32) / 255.0
        source = np.kron(image, np.ones((TEST_IMAGE_SCALE, TEST_IMAGE_SCALE), np.float32))
        rows, cols = np.indices(image.shape)
        mass = float(image.sum()) or 1.0
        centre = (float((rows * image).sum() / mass), float((cols * image).sum() / mass))
        side = source.shape[0]
        prepared = Preprocessed(source, (0, 0, side, side), source, image, image, centre, (0, 0))
        self.set_input(prepared, test_index=index)
        return prepared

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        self.evaluation = evaluation
        self.evaluation_changed.emit(evaluation)

    def set_input(self, prepared: Preprocessed | None, test_index: int | None = None) -> None:
        self.test_index = test_index
        self.input = prepared
        self.input_changed.emit(prepared)
        self.refresh()

    def refresh(self) -> None:
        """Inspect the input with the network shown, and with the pinned one (nothing before PyTorch has loaded)."""
        if self.predictor is None:
            return
        self.inspection = None if self.input is None else self.predictor.inspect(self.input.centred)
        self.pinned_inspection = None if self.input is None or self._pinned_predictor is None \
            else self._pinned_predictor.inspect(self.input.centred)  # (one more pass of a small model)
        if self.inspection is not None:
            self.inspections += 1
        self.inspection_changed.emit(self.inspection)

    def select(self, selection: Selection | None) -> None:
        self.selection = selection
        self._field = None
        self.selection_changed.emit(selection)

    def explain_selection(self) -> CellExplanation | None:
        """How the selected cell's value came about for the current input (None: no cell, input or model)."""
        cell = None if self.selection is None else self.selection.cell
        if cell is None or self.input is None or self.predictor is None or not self.has_weights:
            return None  # (without kernels there is nothing to recompute)
        from cnndesk.engine.explain import explain_cell

        return explain_cell(self.predictor.model, self.input.centred, self.selection.layer, cell)

    def selection_field(self) -> tuple[int, int, int, int] | None:
        """The selected cell's receptive field (x0, y0, x1, y1) on the 28×28 input; None without a map cell."""
        selection = self.selection
        if selection is None or selection.cell is None or self.predictor is None or not self.has_weights:
            return None  # (an onnxruntime model's layers carry no kernel sizes to trace a field through)
        # The network's geometry alone decides it: worked out once per selection and network, not per stroke.
        if self._field is None or self._field[0] is not selection:
            from cnndesk.engine.explain import receptive_field

            field = (0, 0, 28, 28) if len(selection.cell) == 1 else receptive_field(
                self.predictor.model, selection.layer, selection.cell[1], selection.cell[2])
            self._field = (selection, field)
        return self._field[1]

    def _show(self, network: Network) -> None:
        assert self.predictor is not None
        if self.snapshot is not None:
            self.snapshot = None  # a network's own weights now
            self._live_weights = self._latest_evaluation = None
            self.snapshot_changed.emit(None)
        self.predictor.set_model(network)
        self._field = None
        if self.evaluation is not None:
            self.set_evaluation(None)  # of other weights
        self._drop_stale_selection()
        self.network_changed.emit(self.predictor.model)
        self.refresh()

    def _drop_stale_selection(self) -> None:
        """A selection of a layer or cell that the network now shown does not have is cleared."""
        if self.selection is None or self.predictor is None:
            return
        layers = {layer.name: layer.shape for layer in self.predictor.inspect(np.zeros((28, 28), np.float32)).layers}
        shape, cell = layers.get(self.selection.layer), self.selection.cell
        if shape is None or cell is None or len(cell) != len(shape) \
                or any(not 0 <= c < n for c, n in zip(cell, shape, strict=True)):
            self.select(None)
