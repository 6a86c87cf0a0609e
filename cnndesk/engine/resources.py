"""Where the bundled files (MNIST, pretrained weights) live: installed, editable or frozen."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path


def resource_dir() -> Path:
    """The folder holding the bundled resources."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:  # PyInstaller one-folder build
        return Path(frozen_root) / "cnndesk" / "resources"
    try:
        return Path(str(resources.files("cnndesk.resources")))
    except ModuleNotFoundError:  # running from a source tree that was never installed
        return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


def pretrained_path(model_name: str = "lenet5") -> Path:
    """The bundled pretrained checkpoint of a model (it may not exist for every model)."""
    return resource_path(f"{model_name}.safetensors")
