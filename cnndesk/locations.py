"""Where cnndesk's files live: the bundled resources (MNIST, pretrained weights) and the per-user folders.

Importable without PyTorch or Qt: the window uses it before PyTorch has loaded.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import platformdirs

APP_NAME = "cnndesk"


def resource_dir() -> Path:
    """The folder holding the bundled resources: installed, editable or frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:  # PyInstaller one-folder build
        return Path(frozen_root) / "cnndesk" / "resources"
    try:
        return Path(str(resources.files("cnndesk.resources")))
    except ModuleNotFoundError:  # running from a source tree that was never installed
        return Path(__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


def pretrained_path(model_name: str = "lenet5") -> Path:
    """The bundled pretrained checkpoint of a model (it may not exist for every model)."""
    return resource_path(f"{model_name}.safetensors")


def is_pretrained(path: Path) -> bool:
    """Whether ``path`` is one of the bundled pretrained checkpoints (never overwritten by "Save")."""
    return path.suffix == ".safetensors" and path.resolve().parent == resource_dir().resolve()


def data_dir() -> Path:
    """User data folder; CNNDESK_DATA_DIR overrides it (tests, portable installs)."""
    override = os.environ.get("CNNDESK_DATA_DIR")
    path = Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_dir() -> Path:
    path = data_dir() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_dir() -> Path:
    path = data_dir() / "checkpoints"
    path.mkdir(parents=True, exist_ok=True)
    return path


def my_digits_dir() -> Path:
    """The user's own labelled digits: one folder per digit (0–9), PNG files (the ImageFolder layout)."""
    path = data_dir() / "my-digits"
    path.mkdir(parents=True, exist_ok=True)
    return path
