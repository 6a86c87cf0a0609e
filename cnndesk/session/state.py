"""The state the whole app shares, Qt-free and observable: the current model, the current input, the inspection of
that input, and the selection (a layer, a channel, a cell).

A view changes the session (a new drawing, a clicked cell); the session tells every observer; the views that care
repaint. The window adapts these plain callbacks to Qt; tests and the command line use them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnndesk.locations import is_pretrained

if TYPE_CHECKING:
    from cnndesk.engine import Inspection, Network, Preprocessed

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


class Session:
    """The current model, input, inspection and selection, with an event for each."""

    def __init__(self) -> None:
        self.model: CurrentModel | None = None
        self.input: Preprocessed | None = None
        self.inspection: Inspection | None = None
        self.selection: Selection | None = None
        self.model_changed = Event()  # (CurrentModel)
        self.input_changed = Event()  # (Preprocessed | None)
        self.inspection_changed = Event()  # (Inspection | None)
        self.selection_changed = Event()  # (Selection | None)

    def set_model(self, model: Network, meta: dict[str, Any], path: Path | None, saved: bool = True) -> CurrentModel:
        self.model = CurrentModel(model, meta, Path(path) if path is not None else None, saved and path is not None)
        self.selection = None
        self.model_changed.emit(self.model)
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
        return saved

    def apply_outcome(self, outcome: RunOutcome) -> bool:
        """A run ended: its saved model becomes current (True); if nothing was saved, the previous model stays and
        is shown again (False) — what the window showed while training is not kept."""
        if outcome.model is not None:
            self.set_model(outcome.model, outcome.meta, outcome.checkpoint, saved=outcome.checkpoint is not None)
            return True
        if self.model is not None:
            self.model_changed.emit(self.model)
        return False

    def set_input(self, prepared: Preprocessed | None) -> None:
        self.input = prepared
        self.input_changed.emit(prepared)

    def set_inspection(self, inspection: Inspection | None) -> None:
        self.inspection = inspection
        self.inspection_changed.emit(inspection)

    def select(self, selection: Selection | None) -> None:
        self.selection = selection
        self.selection_changed.emit(selection)
