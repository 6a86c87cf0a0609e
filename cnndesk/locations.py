"""Where cnndesk's files live: the bundled resources (MNIST, pretrained weights) and the per-user folders.

Importable without PyTorch or Qt: the window uses it before PyTorch has loaded.

The user data folders are only named here; they are created where something is written in them
(``writable_data_dir``), with one clear error when that is impossible.
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

import platformdirs

from cnndesk.errors import CnndeskError

APP_NAME = "cnndesk"
DATA_DIR_VARIABLE = "CNNDESK_DATA_DIR"  # overrides the user data folder


def cnndesk_command(*arguments: str) -> list[str]:
    """The command line that runs ``cnndesk ARGUMENTS`` in a new process: ``python -m cnndesk`` from an install, the
    executable itself from the packaged app (which has no ``-m``)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, *arguments]
    return [sys.executable, "-m", "cnndesk", *arguments]


def resource_dir() -> Path:
    """The folder holding the bundled resources: installed, editable or frozen."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if not frozen_root and getattr(sys, "frozen", False):  # a freezer that keeps its data beside the executable
        frozen_root = str(Path(sys.executable).resolve().parent)
    if frozen_root:
        # PyInstaller's one-folder build (packaging/cnndesk.spec): sys._MEIPASS is <app>/_internal, or the macOS
        # bundle's Contents/Frameworks; the spec puts resources/ at cnndesk/resources below it.
        return Path(frozen_root) / "cnndesk" / "resources"
    try:
        return Path(str(resources.files("cnndesk.resources")))
    except ModuleNotFoundError:  # running from a source tree that was never installed
        return Path(__file__).resolve().parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)


# The bundled model the window starts with: the one that reads drawings best (the mean of the drawing families in
# `cnndesk bench --robustness`, README "Reading drawings"; tests/engine/test_robustness.py measures it again). The
# command line's default checkpoint stays the bundled LeNet5, the tutorials' model.
STARTING_MODEL = "cnn3-bn"


def pretrained_path(model_name: str = "lenet5") -> Path:
    """The bundled pretrained checkpoint of a model (it may not exist for every model)."""
    return resource_path(f"{model_name}.safetensors")


def is_pretrained(path: Path) -> bool:
    """Whether ``path`` is one of the bundled pretrained checkpoints (never overwritten by "Save")."""
    return path.suffix == ".safetensors" and path.resolve().parent == resource_dir().resolve()


def data_dir() -> Path:
    """User data folder; CNNDESK_DATA_DIR overrides it (tests, portable installs).

    Only a name: nothing is created by asking (``writable_data_dir`` does, before a write), so a data folder that
    cannot be used stops only what writes there, not reading the bundled MNIST and models.
    """
    override = os.environ.get(DATA_DIR_VARIABLE)
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def datasets_dir() -> Path:
    return data_dir() / "datasets"


def checkpoints_dir() -> Path:
    return data_dir() / "checkpoints"


def my_digits_dir() -> Path:
    """The user's own labelled digits: one folder per digit (0–9), PNG files (the ImageFolder layout)."""
    return data_dir() / "my-digits"


def folder_problem(path: Path) -> str | None:
    """Why files cannot be written in the folder ``path``, which is created if it is missing; None if they can.

    The reason is ``unwritable_reason``'s. Writing is probed with a temporary file, removed at once: a folder's
    permission bits do not tell (root writes in read-only folders; a read-only mount refuses everyone).
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return unwritable_reason(path, exc)
    return None


def unwritable_reason(path: Path, exc: Exception) -> str:
    """Why writing in the folder ``path`` failed with ``exc``, in a few words: a file standing where a folder of
    the path should be says more than the system's "Not a directory" or "File exists"."""
    in_the_way = next((part for part in (path, *path.parents) if part.exists() and not part.is_dir()), None)
    if in_the_way is not None:
        return f"{in_the_way} is a file, not a folder"
    return getattr(exc, "strerror", None) or str(exc)


def writable_data_dir(path: Path, remedy: str = f"set {DATA_DIR_VARIABLE} to a writable folder") -> Path:
    """``path`` (one of the user data folders), created if missing, when a file is about to be written in it.

    CnndeskError in one sentence if it cannot be written: the folder, the reason, and ``remedy`` (what to do).
    """
    problem = folder_problem(path)
    if problem is not None:
        raise CnndeskError(f"cnndesk cannot write to its data folder {path} ({problem}); {remedy}.")
    return path
