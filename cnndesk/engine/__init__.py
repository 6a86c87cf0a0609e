"""The cnndesk engine: PyTorch and NumPy only, usable and tested without Qt.

Public API: models (``build_model``, ``MODELS``), data (``load_splits``), preprocessing (``preprocess``,
``load_image``), training (``fit``, ``TrainConfig``, ``TrainingControl``, ``TrainingCallback``), inspection
(``Predictor``, ``inspect_input``) and checkpoints (``save_checkpoint``, ``load_model``).
"""

from .checkpoint import load_model, read_metadata, save_checkpoint
from .data import Splits, TensorDataset, load_mnist, load_splits
from .errors import CnndeskError
from .inspect import (
    Inspection,
    LayerActivation,
    Predictor,
    inspect_input,
    predict_probabilities,
    snapshot_weights,
)
from .models import MODELS, Network, build_model, count_parameters, model_config, model_names, model_spec
from .preprocess import Preprocessed, load_image, preprocess
from .summary import LayerSummary, ModelSummary, summarize
from .train import (
    BatchMetrics,
    EpochMetrics,
    Evaluation,
    FitInfo,
    FitResult,
    ResumePoint,
    TrainConfig,
    TrainingCallback,
    TrainingControl,
    available_devices,
    evaluate,
    fit,
    resolve_device,
    resume_point,
)

__all__ = [
    "MODELS",
    "BatchMetrics",
    "CnndeskError",
    "EpochMetrics",
    "Evaluation",
    "FitInfo",
    "FitResult",
    "Inspection",
    "LayerActivation",
    "LayerSummary",
    "ModelSummary",
    "Network",
    "Predictor",
    "Preprocessed",
    "ResumePoint",
    "Splits",
    "TensorDataset",
    "TrainConfig",
    "TrainingCallback",
    "TrainingControl",
    "available_devices",
    "build_model",
    "count_parameters",
    "evaluate",
    "fit",
    "inspect_input",
    "load_image",
    "load_mnist",
    "load_model",
    "load_splits",
    "model_config",
    "model_names",
    "model_spec",
    "predict_probabilities",
    "preprocess",
    "read_metadata",
    "resolve_device",
    "resume_point",
    "save_checkpoint",
    "snapshot_weights",
    "summarize",
]
