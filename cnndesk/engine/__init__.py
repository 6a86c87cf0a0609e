"""The cnndesk engine: PyTorch and NumPy only, usable and tested without Qt.

Public API: models (``build_model``, ``MODELS``), data (``load_splits``), preprocessing (``preprocess``,
``load_image``), training (``fit``, ``TrainConfig``, ``TrainingControl``, ``TrainingCallback``), inspection
(``Predictor``, ``inspect_input``) and checkpoints (``save_checkpoint``, ``load_model``).

Importing the package is cheap: each name loads its module (and PyTorch) on first use, so that a window can show
before PyTorch has loaded (``from cnndesk.engine import fit`` works as usual).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import CnndeskError

# Eager (NumPy only), and it must be: a lazily imported submodule named like a function would shadow it.
from .preprocess import Preprocessed, StrokeWidth, even_strokes, load_image, measure_strokes, preprocess

_EXPORTS: dict[str, str] = {  # public name -> the module that defines it
    "Attribution": "attribution",
    "attribute": "attribution",
    "default_gradcam_layer": "attribution",
    "gradcam_layers": "attribution",
    "ExportCheck": "export",
    "check_export": "export",
    "export_model": "export",
    "load_model": "checkpoint",
    "load_foreign": "foreign",
    "foreign_kind": "foreign",
    "describe_match": "foreign",
    "inspect_foreign": "foreign",
    "FOREIGN_INPUTS": "foreign",
    "read_metadata": "checkpoint",
    "save_checkpoint": "checkpoint",
    "Splits": "data",
    "TensorDataset": "data",
    "load_mnist": "data",
    "load_splits": "data",
    "load_folder": "data",
    "DigitFolder": "digits",
    "fine_tune_config": "digits",
    "CellExplanation": "explain",
    "Contribution": "explain",
    "explain_cell": "explain",
    "layer_activation": "explain",
    "receptive_field": "explain",
    "HealthSample": "health",
    "HealthWarning": "health",
    "LayerHealth": "health",
    "LayerHealthMonitor": "health",
    "MAX_SNAPSHOTS": "history",
    "HistoryRecorder": "history",
    "Snapshot": "history",
    "TrainingHistory": "history",
    "load_history": "history",
    "Inspection": "inspect",
    "LayerActivation": "inspect",
    "LayerFilters": "inspect",
    "Predictor": "inspect",
    "inspect_input": "inspect",
    "layer_filters": "inspect",
    "predict_probabilities": "inspect",
    "snapshot_weights": "inspect",
    "ChannelWants": "maximize",
    "TopPatch": "maximize",
    "maximizable_layers": "maximize",
    "maximize_layer": "maximize",
    "MODELS": "models",
    "Network": "models",
    "build_model": "models",
    "count_parameters": "models",
    "model_config": "models",
    "model_names": "models",
    "model_spec": "models",
    "OnnxRuntimeNetwork": "onnx_runtime",
    "is_onnx_runtime": "onnx_runtime",
    "load_onnx_runtime": "onnx_runtime",
    "require_weights": "onnx_runtime",
    "ResumePoint": "resume",
    "load_resume_state": "resume",
    "resume_point": "resume",
    "LayerSummary": "summary",
    "ModelSummary": "summary",
    "summarize": "summary",
    "BatchMetrics": "train",
    "EpochMetrics": "train",
    "Evaluation": "train",
    "SampleResults": "train",
    "FitInfo": "train",
    "FitResult": "train",
    "TrainConfig": "train",
    "TrainingCallback": "train",
    "TrainingControl": "train",
    "available_devices": "train",
    "evaluate": "train",
    "fit": "train",
    "resolve_device": "train",
}

__all__ = [
    "FOREIGN_INPUTS",
    "MAX_SNAPSHOTS",
    "MODELS",
    "Attribution",
    "BatchMetrics",
    "CellExplanation",
    "ChannelWants",
    "CnndeskError",
    "Contribution",
    "DigitFolder",
    "EpochMetrics",
    "Evaluation",
    "ExportCheck",
    "FitInfo",
    "FitResult",
    "HealthSample",
    "HealthWarning",
    "HistoryRecorder",
    "Inspection",
    "LayerActivation",
    "LayerFilters",
    "LayerHealth",
    "LayerHealthMonitor",
    "LayerSummary",
    "ModelSummary",
    "Network",
    "OnnxRuntimeNetwork",
    "Predictor",
    "Preprocessed",
    "ResumePoint",
    "SampleResults",
    "Snapshot",
    "Splits",
    "StrokeWidth",
    "TensorDataset",
    "TopPatch",
    "TrainConfig",
    "TrainingCallback",
    "TrainingControl",
    "TrainingHistory",
    "attribute",
    "available_devices",
    "build_model",
    "check_export",
    "count_parameters",
    "default_gradcam_layer",
    "describe_match",
    "evaluate",
    "even_strokes",
    "explain_cell",
    "export_model",
    "fine_tune_config",
    "fit",
    "foreign_kind",
    "gradcam_layers",
    "inspect_foreign",
    "inspect_input",
    "is_onnx_runtime",
    "layer_activation",
    "layer_filters",
    "load_folder",
    "load_foreign",
    "load_history",
    "load_image",
    "load_mnist",
    "load_model",
    "load_onnx_runtime",
    "load_resume_state",
    "load_splits",
    "maximizable_layers",
    "maximize_layer",
    "measure_strokes",
    "model_config",
    "model_names",
    "model_spec",
    "predict_probabilities",
    "preprocess",
    "read_metadata",
    "receptive_field",
    "require_weights",
    "resolve_device",
    "resume_point",
    "save_checkpoint",
    "snapshot_weights",
    "summarize",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from .attribution import Attribution, attribute, default_gradcam_layer, gradcam_layers
    from .checkpoint import load_model, read_metadata, save_checkpoint
    from .data import Splits, TensorDataset, load_folder, load_mnist, load_splits
    from .digits import DigitFolder, fine_tune_config
    from .explain import CellExplanation, Contribution, explain_cell, layer_activation, receptive_field
    from .export import ExportCheck, check_export, export_model
    from .foreign import INPUTS as FOREIGN_INPUTS
    from .foreign import describe_match, foreign_kind, inspect_foreign, load_foreign
    from .health import HealthSample, HealthWarning, LayerHealth, LayerHealthMonitor
    from .history import MAX_SNAPSHOTS, HistoryRecorder, Snapshot, TrainingHistory, load_history
    from .inspect import (
        Inspection,
        LayerActivation,
        LayerFilters,
        Predictor,
        inspect_input,
        layer_filters,
        predict_probabilities,
        snapshot_weights,
    )
    from .maximize import ChannelWants, TopPatch, maximizable_layers, maximize_layer
    from .models import MODELS, Network, build_model, count_parameters, model_config, model_names, model_spec
    from .onnx_runtime import OnnxRuntimeNetwork, is_onnx_runtime, load_onnx_runtime, require_weights
    from .resume import ResumePoint, load_resume_state, resume_point
    from .summary import LayerSummary, ModelSummary, summarize
    from .train import (
        BatchMetrics,
        EpochMetrics,
        Evaluation,
        FitInfo,
        FitResult,
        SampleResults,
        TrainConfig,
        TrainingCallback,
        TrainingControl,
        available_devices,
        evaluate,
        fit,
        resolve_device,
    )
