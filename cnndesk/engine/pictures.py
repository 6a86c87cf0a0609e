"""Pictures the command line writes (PNG), made with NumPy and Pillow: no Qt, no plotting library."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .attribution import Attribution
from .checkpoint import atomic_write
from .errors import CnndeskError
from .inspect import LayerActivation, LayerFilters, filter_grid
from .maximize import ChannelWants

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


RAMP_WIDTH = 100  # the legend's colour ramp, in pixels
MARK_RGB = (255, 120, 0)  # a marked cell's outline: the window's selection colour


def _outline(picture: np.ndarray, top: int, left: int, height: int, width: int) -> None:
    """A one-pixel MARK_RGB frame around picture[top:top+height, left:left+width], grown by a pixel where it fits."""
    y0, x0 = max(top - 1, 0), max(left - 1, 0)
    y1, x1 = min(top + height, picture.shape[0] - 1), min(left + width, picture.shape[1] - 1)
    picture[y0, x0:x1 + 1] = picture[y1, x0:x1 + 1] = MARK_RGB
    picture[y0:y1 + 1, x0] = picture[y0:y1 + 1, x1] = MARK_RGB


def legend(canvas: Image.Image, draw: ImageDraw.ImageDraw, x: int, y: int, limit: float) -> None:
    """The diverging scale from -limit to +limit as a ramp at (x, y), its ends written under it."""
    ramp = diverging(np.linspace(-limit, limit, RAMP_WIDTH, dtype=np.float32)[None, :].repeat(10, 0), limit)
    canvas.paste(Image.fromarray(ramp), (x, y))
    draw.text((x, y + 12), f"{-limit:+.2f}", fill="black")
    draw.text((x + RAMP_WIDTH - 30, y + 12), f"{limit:+.2f}", fill="black")


def save_png(canvas: Image.Image, path: str | Path) -> Path:
    """Write the picture atomically; a folder that cannot be written is one clear error."""
    path = Path(path)
    try:
        atomic_write(path, lambda tmp: canvas.save(tmp, format="PNG"))
    except OSError as exc:
        raise CnndeskError(f"Cannot write {path}: {exc.strerror or exc}.") from None
    return path


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
        legend(canvas, draw, GAP + grid.shape[1] + GAP, y, layer.limit)
        y += grid.shape[0] + GAP
    return save_png(canvas, path)


MAP_COLUMNS = 8  # feature maps per row of the grid
MAP_PIXELS = 112  # about how many screen pixels a map's longer side gets (28×28 maps: 4 per value)
MAP_GAP = 4
UNIT_HEIGHT = 24  # a vector layer: one cell per unit, this tall …
VECTOR_WIDTH = 1024  # … and at most about this wide in all (2 to 16 pixels a unit)


def maps_png(layer: LayerActivation, path: str | Path, mark: tuple[int, ...] | None = None) -> Path:
    """One layer's output as a picture (written atomically): its maps in a grid, MAP_COLUMNS a row, or a vector
    layer as one row of cells, titled with its label and shape. One diverging scale for the whole layer — blue
    negative, white zero, red positive, ±the largest absolute value, drawn beside it — so maps compare. ``mark``
    (channel, y, x) or (unit,) outlines that cell in orange, as the window outlines a selected cell."""
    values = np.asarray(layer.output, dtype=np.float32)
    limit = float(np.abs(values).max()) if values.size else 0.0
    if values.ndim == 3:
        count, height, width = values.shape
        scale = max(1, MAP_PIXELS // max(height, width))
        columns = min(MAP_COLUMNS, count)
        rows = -(-count // columns)
        tile_h, tile_w = height * scale, width * scale
        picture = np.full((rows * (tile_h + MAP_GAP) - MAP_GAP, columns * (tile_w + MAP_GAP) - MAP_GAP, 3), 235,
                          np.uint8)
        for index in range(count):
            row, column = divmod(index, columns)
            top, left = row * (tile_h + MAP_GAP), column * (tile_w + MAP_GAP)
            picture[top: top + tile_h, left: left + tile_w] = np.kron(diverging(values[index], limit),
                                                                      np.ones((scale, scale, 1), np.uint8))
        if mark is not None:
            row, column = divmod(mark[0], columns)
            top = row * (tile_h + MAP_GAP) + mark[1] * scale
            left = column * (tile_w + MAP_GAP) + mark[2] * scale
            _outline(picture, top, left, scale, scale)
    else:
        cells = values.reshape(1, -1)
        unit_width = int(np.clip(VECTOR_WIDTH // max(cells.shape[1], 1), 2, 16))
        picture = np.kron(diverging(cells, limit), np.ones((UNIT_HEIGHT, unit_width, 1), np.uint8))
        if mark is not None:
            _outline(picture, 0, mark[0] * unit_width, UNIT_HEIGHT, unit_width)
    # A grey frame: zeros are white, and a row of them would otherwise vanish into the page.
    picture = np.pad(picture, ((1, 1), (1, 1), (0, 0)), constant_values=180)
    width = GAP + picture.shape[1] + GAP + max(LEGEND_WIDTH, RAMP_WIDTH) + GAP
    height = GAP + TITLE_HEIGHT + max(picture.shape[0], 30) + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((GAP, GAP), f"{layer.label}  {'x'.join(map(str, values.shape))}", fill="black")
    top = GAP + TITLE_HEIGHT
    canvas.paste(Image.fromarray(picture), (GAP, top))
    legend(canvas, draw, GAP + picture.shape[1] + GAP, top, limit)
    return save_png(canvas, path)


ATTRIBUTION_SCALE = 10  # screen pixels per input pixel
BAR_WIDTH = 14
BAR_LABEL_WIDTH = 56


def attribution_png(attribution: Attribution, image: np.ndarray, path: str | Path) -> Path:
    """The input in grey with the attribution over it (written atomically): red where a pixel raised the
    score, blue where it lowered it, as opaque as |value| / limit (zero: the input shows through), ATTRIBUTION_SCALE
    screen pixels per input pixel; titled with the method, target and prediction, with the colour scale beside."""
    values = np.asarray(attribution.values, dtype=np.float32)
    ink = np.clip(np.asarray(image, dtype=np.float32).reshape(values.shape), 0.0, 1.0)
    paper = (255.0 - 160.0 * ink)[..., None]  # light paper, mid-grey ink: the colours stay readable over both
    limit = attribution.limit
    opacity = np.clip(np.abs(values) / (limit or 1.0), 0.0, 1.0)[..., None]
    colour = np.where(values[..., None] < 0, NEGATIVE, POSITIVE)
    blended = (paper * (1.0 - opacity) + colour * opacity).round().astype(np.uint8)
    picture = np.kron(blended, np.ones((ATTRIBUTION_SCALE, ATTRIBUTION_SCALE, 1), np.uint8))
    # The legend: +limit at the top, -limit at the bottom; over white paper the blend is exactly `diverging`.
    bar = diverging(np.linspace(limit, -limit, picture.shape[0], dtype=np.float32)[:, None].repeat(BAR_WIDTH, 1),
                    limit)
    width = GAP + picture.shape[1] + GAP + BAR_WIDTH + 4 + BAR_LABEL_WIDTH + GAP
    height = GAP + 2 * TITLE_HEIGHT + picture.shape[0] + GAP
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    method = attribution.method + (f" at {attribution.layer}" if attribution.layer else "")
    question = f"target {attribution.target}" + (f" vs {attribution.versus}" if attribution.versus is not None
                                                 else "")
    draw.text((GAP, GAP), method, fill="black")
    draw.text((GAP, GAP + TITLE_HEIGHT), f"{question} · predicted {attribution.predicted}", fill="black")
    top = GAP + 2 * TITLE_HEIGHT
    canvas.paste(Image.fromarray(picture), (GAP, top))
    x = GAP + picture.shape[1] + GAP
    canvas.paste(Image.fromarray(bar), (x, top))
    for fraction, value in ((0.0, limit), (0.5, 0.0), (1.0, -limit)):
        y = top + round(fraction * (picture.shape[0] - 1)) - 5
        draw.text((x + BAR_WIDTH + 4, min(max(y, top), top + picture.shape[0] - 11)), f"{value:+.3g}", fill="black")
    return save_png(canvas, path)


WANTS_SCALE = 3  # screen pixels per input pixel of a maximised image: 28×28 → 84×84, readable and compact
WANTS_LABEL_WIDTH = 64
WANTS_ROW_HEIGHT = 28 * WANTS_SCALE + 6
PATCH_CELL = 56  # screen pixels for a top patch's longer side (scaled by a whole factor, so at most this)
PATCH_GAP = 4
FIELD_OUTLINE = (178, 24, 43)  # the optimised cell's receptive field, in the filters' red


def _ink_on_paper(pixels: np.ndarray, scale: int) -> np.ndarray:
    """[0, 1] ink-high pixels as grey levels with the ink dark, as on paper (and in the window), upscaled."""
    grey = np.round(255.0 * (1.0 - np.clip(np.asarray(pixels, np.float32), 0.0, 1.0))).astype(np.uint8)
    return np.kron(grey, np.ones((scale, scale), np.uint8))


def wants_png(layers: Sequence[Sequence[ChannelWants]], path: str | Path) -> Path:
    """What each channel wants, one block per layer and one row per channel (written atomically).

    A row: the channel (or class) and the value it reached; the input found by gradient ascent, ×WANTS_SCALE,
    with the receptive field of the cell it maximises outlined in red, and that field enlarged like the patches
    (a first layer's field is a few pixels: this is where its picture is); then the MNIST test patches that excite
    the channel most, strongest first, each scaled to about PATCH_CELL pixels and numbered with its test image.
    """
    blocks = [list(block) for block in layers if block]
    if not blocks:
        raise CnndeskError("There are no channels to draw.")
    columns = max(len(want.patches) + (want.box != (0, 0, 28, 28)) for block in blocks for want in block)
    image_side = 28 * WANTS_SCALE
    width = GAP + WANTS_LABEL_WIDTH + image_side + GAP + columns * (PATCH_CELL + PATCH_GAP) + GAP
    height = GAP + sum(TITLE_HEIGHT + len(block) * WANTS_ROW_HEIGHT + GAP for block in blocks)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)

    def tile(pixels: np.ndarray, x: int, y: int, frame: tuple[int, int, int]) -> None:
        """``pixels`` enlarged by a whole factor to about PATCH_CELL, centred in the cell at (x, y), framed."""
        h, w = pixels.shape
        scale = max(1, PATCH_CELL // max(h, w, 1))
        left, top = x + (PATCH_CELL - w * scale) // 2, y + (PATCH_CELL - h * scale) // 2
        canvas.paste(Image.fromarray(_ink_on_paper(pixels, scale)), (left, top))
        # A frame: a patch with little ink would otherwise vanish into the page.
        draw.rectangle((left - 1, top - 1, left + w * scale, top + h * scale), outline=frame)

    y = GAP
    for block in blocks:
        logits = block[0].layer == "logits"
        draw.text((GAP, y), f"{block[0].layer}: the input each {'class' if logits else 'channel'} wants"
                  f"{'' if logits else ' (red: the field of the cell it is for)'} · the MNIST test patches that "
                  "excite it most", fill="black")
        y += TITLE_HEIGHT
        for want in block:
            draw.text((GAP, y + 2), f"{'class' if logits else 'channel'} {want.channel}", fill="black")
            draw.text((GAP, y + 16), f"{want.activation:.2f}", fill=(90, 90, 90))
            x = GAP + WANTS_LABEL_WIDTH
            canvas.paste(Image.fromarray(_ink_on_paper(want.image, WANTS_SCALE)), (x, y))
            x0, y0, x1, y1 = want.box
            x_image, x = x, x + image_side + GAP
            if (x0, y0, x1, y1) != (0, 0, 28, 28):  # a field smaller than the image: outlined, and enlarged
                draw.rectangle((x_image + x0 * WANTS_SCALE, y + y0 * WANTS_SCALE, x_image + x1 * WANTS_SCALE - 1,
                                y + y1 * WANTS_SCALE - 1), outline=FIELD_OUTLINE)
                tile(want.image[y0:y1, x0:x1], x, y, FIELD_OUTLINE)
                x += PATCH_CELL + PATCH_GAP
            for patch in want.patches:
                tile(patch.pixels, x, y, (200, 200, 200))
                draw.text((x, y + PATCH_CELL + 2), f"#{patch.index}", fill=(90, 90, 90))
                x += PATCH_CELL + PATCH_GAP
            y += WANTS_ROW_HEIGHT
        y += GAP
    return save_png(canvas, path)
