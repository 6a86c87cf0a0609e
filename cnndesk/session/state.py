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
    from cnndesk.engine import Evaluation, Inspection, Network, Predictor, Preprocessed
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

    # -- the model ---------------------------------------------------------------------------------------
    def start_predicting(self, predictor: Predictor) -> None:
        """PyTorch is in: predict from now on (with the current model, once there is one)."""
        self.predictor = predictor
        if self.model is not None:
            self._show(self.model.model)

    def set_model(self, model: Network, meta: dict[str, Any], path: Path | None, saved: bool = True) -> CurrentModel:
        self.model = CurrentModel(model, meta, Path(path) if path is not None else None, saved and path is not None)
        self.following_run = False
        self.model_changed.emit(self.model)
        if self.predictor is not None:
            self._show(model)
        return self.model

    def open_model(self, path: str | Path) -> CurrentModel:
        """Load a checkpoint and make it current; CnndeskError (and no change) if it cannot be loaded."""
        from cnndesk.engine import load_model

        model, meta = load_model(path)
        return self.set_model(model, meta, Path(path))

    def save_model(self, path: str | Path) -> Path:
        """Write the current model to ``path`` (atomically); it is then the current model's file."""
        from cnndesk.engine import save_checkpoint

        current = self.model
        if current is None:
            raise ValueError("There is no model to save.")
        saved = save_checkpoint(current.model, path, current.meta.get("training"), current.meta.get("metrics"))
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
        if self.predictor is not None:
            self._show(network)

    def load_weights(self, state: dict[str, Any]) -> None:
        """A weight snapshot of the run in progress (ignored once the run has ended)."""
        if not self.following_run or self.predictor is None:
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
            self.set_model(outcome.model, outcome.meta, outcome.checkpoint, saved=outcome.checkpoint is not None)
            return True
        if self.model is not None and self.predictor is not None:
            self._show(self.model.model)
        return False


    # -- the input ---------------------------------------------------------------------------------------
    def set_drawing(self, ink: np.ndarray | None) -> None:
        """The canvas's ink (None: empty), through MNIST's own preprocessing."""
        self.set_input(None if ink is None else preprocess(ink))

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
        if cell is None or self.input is None or self.predictor is None:
            return None
        from cnndesk.engine.explain import explain_cell

        return explain_cell(self.predictor.model, self.input.centred, self.selection.layer, cell)

    def selection_field(self) -> tuple[int, int, int, int] | None:
        """The selected cell's receptive field (x0, y0, x1, y1) on the 28×28 input; None without a map cell."""
        selection = self.selection
        if selection is None or selection.cell is None or self.predictor is None:
            return None
        # The network's geometry alone decides it: worked out once per selection and network, not per stroke.
        if self._field is None or self._field[0] is not selection:
            from cnndesk.engine.explain import receptive_field

            field = (0, 0, 28, 28) if len(selection.cell) == 1 else receptive_field(
                self.predictor.model, selection.layer, selection.cell[1], selection.cell[2])
            self._field = (selection, field)
        return self._field[1]

    def _show(self, network: Network) -> None:
        assert self.predictor is not None
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
