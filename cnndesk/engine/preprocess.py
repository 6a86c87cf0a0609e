"""Turn a drawing or a photo of a digit into the 28×28 input, exactly as MNIST was made.

MNIST digits were size-normalised to fit a 20×20 box (aspect ratio kept, anti-aliased grey levels) and placed
in 28×28 with their intensity-weighted centre of mass at the centre. A drawing must go through the same steps or
a model at 99% on MNIST recognises people's digits poorly. Every step is kept so the UI can show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import CnndeskError

if TYPE_CHECKING:
    import torch

INPUT_SIZE = 28
DIGIT_BOX = 20
# Pixels fainter than this fraction of the brightest one do not count as ink when cropping.
INK_THRESHOLD = 0.05


@dataclass(frozen=True)
class Preprocessed:
    """Each step of the pipeline, float32 arrays in [0, 1], ink high."""

    source: np.ndarray  # the whole drawing
    bbox: tuple[int, int, int, int]  # top, left, bottom, right (exclusive) of the ink in source
    cropped: np.ndarray  # source[bbox]
    scaled: np.ndarray  # longer side DIGIT_BOX px, aspect kept, anti-aliased
    centred: np.ndarray  # 28×28, centre of mass at the centre: what the model sees
    centre_of_mass: tuple[float, float]  # of ``scaled`` (row, col), before the shift
    offset: tuple[int, int] = (0, 0)  # (row, col) of ``scaled``'s top-left corner in ``centred``

    def to_source(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box (x0, y0, x1, y1) on the 28×28 input, in ``source`` pixels: where the drawing had what the model
        saw there (undoing the centring shift and the scaling; may reach past the ink)."""
        top, left, bottom, right = self.bbox
        x_scale = (right - left) / self.scaled.shape[1]
        y_scale = (bottom - top) / self.scaled.shape[0]
        x0, y0, x1, y1 = box
        off_row, off_col = self.offset
        return (left + (x0 - off_col) * x_scale, top + (y0 - off_row) * y_scale,
                left + (x1 - off_col) * x_scale, top + (y1 - off_row) * y_scale)

    def tensor(self) -> torch.Tensor:
        """The model input, shape (1, 1, 28, 28)."""
        import torch

        return torch.from_numpy(self.centred).reshape(1, 1, INPUT_SIZE, INPUT_SIZE)


def ink_bbox(image: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int, int, int] | None:
    peak = float(image.max()) if image.size else 0.0
    if peak <= 0.0:
        return None
    rows = np.flatnonzero((image > threshold * peak).any(axis=1))
    cols = np.flatnonzero((image > threshold * peak).any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    # PyTorch is imported here, not with the module: this module is part of cnndesk.engine's cheap import.
    import torch
    import torch.nn.functional as F

    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None, None]
    if height < image.shape[0] or width < image.shape[1]:
        # Downscaling: area averaging keeps the grey anti-aliased edges MNIST has.
        out = F.interpolate(tensor, size=(height, width), mode="area")
    else:
        out = F.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0].clamp_(0.0, 1.0).numpy()


def preprocess(image: np.ndarray) -> Preprocessed | None:
    """MNIST-style preprocessing of a 2-D float image in [0, 1], ink high. None when there is no ink."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise CnndeskError(f"Expected a 2-D grey image, got shape {image.shape}.")
    image = np.nan_to_num(image, nan=0.0, posinf=1.0, neginf=0.0).clip(0.0, 1.0)
    bbox = ink_bbox(image)
    if bbox is None:
        return None
    top, left, bottom, right = bbox
    cropped = image[top:bottom, left:right]
    h, w = cropped.shape
    scale = DIGIT_BOX / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    scaled = _resize(cropped, new_h, new_w)
    mass = float(scaled.sum())
    if mass <= 0.0:
        return None
    rows, cols = np.indices(scaled.shape, dtype=np.float64)
    com_row = float((rows * scaled).sum() / mass)
    com_col = float((cols * scaled).sum() / mass)
    # MNIST's digits have their centre of mass at index (14, 14) (the mean over the training set is 14.00, 14.01).
    off_row = int(np.clip(round(INPUT_SIZE / 2 - com_row), 0, INPUT_SIZE - new_h))
    off_col = int(np.clip(round(INPUT_SIZE / 2 - com_col), 0, INPUT_SIZE - new_w))
    centred = np.zeros((INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    centred[off_row:off_row + new_h, off_col:off_col + new_w] = scaled
    return Preprocessed(image, bbox, cropped, scaled, centred, (com_row, com_col), (off_row, off_col))


def to_ink(gray: np.ndarray) -> np.ndarray:
    """A grey photo or scan in [0, 1] → ink high, background 0, whatever the polarity.

    The border decides the polarity: light paper (dark ink) is inverted. The paper's own level is then
    subtracted so that a grey or unevenly lit background does not count as ink.
    """
    gray = np.asarray(gray, dtype=np.float32)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if float(np.median(border)) > 0.5:
        gray = 1.0 - gray
        border = 1.0 - border
    background = float(np.percentile(border, 90))
    if background >= 0.99:
        return np.zeros_like(gray)
    return ((gray - background) / (1.0 - background)).clip(0.0, 1.0)


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as a 2-D float array in [0, 1], ink high (either polarity on disk)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise CnndeskError(f"No such file: {path}")
    if path.is_dir():
        raise CnndeskError(f"{path} is a folder, not an image.")
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                # Transparent background: composite onto white paper.
                rgba = img.convert("RGBA")
                paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img = Image.alpha_composite(paper, rgba)
            gray = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise CnndeskError(f"{path} is not an image cnndesk can read ({exc}).") from None
    if gray.size == 0:
        raise CnndeskError(f"{path} is an empty image.")
    return to_ink(gray)
