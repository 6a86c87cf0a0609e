"""Per-user folders: dataset cache and saved checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "cnndesk"


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
