"""Pictures the command line writes (PNG), made with NumPy and Pillow: no Qt, no plotting library."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .checkpoint import atomic_write
from .errors import CnndeskError
from .inspect import LayerFilters, filter_grid

TILE_SCALE = 8  # screen pixels per weight
TITLE_HEIGHT = 16
LEGEND_WIDTH = 120
GAP = 10
NEGATIVE = np.array([33, 102, 172], np.float32)  # blue
POSITIVE = np.array([178, 24, 43], np.float32)  # red
WHITE = np.array([255, 255, 255], np.float32)


def diverging(values: np.ndarray, limit: float) -> np.ndarray:
    """Blue for negative, white for zero, red for positive, saturating at ±limit; NaN (gutters) is light grey."""
    scaled = np.clip(np.nan_to_num(values) / (limit or 1.0), -1.0, 1.0)[..., None]
    rgb = np.where(scaled < 0, WHITE + (NEGATIVE - WHITE) * -scaled, WHITE + (POSITIVE - WHITE) * scaled)
    rgb[np.isnan(values)] = 235
    return rgb.round().astype(np.uint8)


def filters_png(layers: Sequence[LayerFilters], path: str | Path) -> Path:
    """One picture of the layers' filters, each titled with its name and colour scale (written atomically)."""
    if not layers:
        raise CnndeskError("This model has no convolution, and no fully connected first layer on the input: "
                           "there are no filters to draw.")
    blocks = []
    for layer in layers:
        grid = np.kron(diverging(filter_grid(layer)[0], layer.limit), np.ones((TILE_SCALE, TILE_SCALE, 1), np.uint8))
        blocks.append((layer, grid))
    width = max(LEGEND_WIDTH + grid.shape[1] for _, grid in blocks) + 2 * GAP
    height = sum(TITLE_HEIGHT + grid.shape[0] + GAP for _, grid in blocks) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    y = GAP
    for layer, grid in blocks:
        shape = "x".join(map(str, layer.weights.shape))
        draw.text((GAP, y), f"{layer.name}  {shape}", fill="black")
        y += TITLE_HEIGHT
        canvas.paste(Image.fromarray(grid), (GAP, y))
        # The legend: the scale from -limit to +limit, beside the grid.
        ramp = diverging(np.linspace(-layer.limit, layer.limit, 100, dtype=np.float32)[None, :].repeat(10, 0),
                         layer.limit)
        x = GAP + grid.shape[1] + GAP
        canvas.paste(Image.fromarray(ramp), (x, y))
        draw.text((x, y + 12), f"{-layer.limit:+.2f}", fill="black")
        draw.text((x + 70, y + 12), f"{layer.limit:+.2f}", fill="black")
        y += grid.shape[0] + GAP
    path = Path(path)
    try:
        atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))
    except OSError as exc:
        raise CnndeskError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return path
