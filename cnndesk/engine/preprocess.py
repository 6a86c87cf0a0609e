"""Turn a drawing or a photo of a digit into the 28×28 input, exactly as MNIST was made.

MNIST digits were size-normalised to fit a 20×20 box (aspect ratio kept, anti-aliased grey levels) and placed
in 28×28 with their intensity-weighted centre of mass at the centre. A drawing must go through the same steps or
a model at 99% on MNIST recognises people's digits poorly. Every step is kept so the UI can show it.

Stroke width matters as much: a small digit drawn with a thick brush fills its loops once scaled to 20 px, and a
pen-thin one fades to a faint grey trace. The canvas re-draws its strokes from their paths at a width proportional to
the digit's size; an image has no paths, so ``even_strokes`` measures its strokes along their skeleton and grows
strokes thinner than MNIST's. Thick ones are left to the models, trained with thickness augmentation: thinning
them by erosion lost more digits than it saved (bench rows, README).
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
# The largest image load_image decodes (Pillow's own limit is ~89 megapixels): a 76 KB 1-bit PNG of 13000×13000
# would otherwise take gigabytes as floats, for a digit that ends up 20 px tall.
MAX_IMAGE_PIXELS = 4096 * 4096
# Stroke width as a share of the digit's size: twice the median distance from the ink's skeleton to the paper, over
# the skeleton's longer side (StrokeWidth.ratio). MNIST's 10,000 test digits measure 0.090 at the 5th percentile,
# 0.141 median, 0.235 at the 95th; 1.5% of them are under THIN_STROKES. Strokes that thin grow to GROWN_STROKES, the
# width the canvas draws at (11% of the digit's size). Both were checked on the bench's drawing families.
THIN_STROKES = 0.077
GROWN_STROKES = 0.11
# Strokes are measured and corrected with the ink's longer side near this many pixels (an integer zoom of the image,
# so the result maps back onto its pixels exactly): enough to tell a 2 px stroke in a 20 px digit from a 3 px one.
STROKE_WORK_SIZE = 160
# Ink at least this fraction of its brightest pixel is stroke, for the skeleton (the anti-aliased edge's middle).
STROKE_LEVEL = 0.5


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
    # The step between ``source`` and ``cropped``, where it ran (an image without stroke paths): ``source`` with
    # strokes thinner than MNIST's grown (even_strokes), the same shape; ``bbox`` and ``cropped`` are then taken from
    # it. The very ``source`` array when its strokes were left as they are; None when the step did not run.
    evened: np.ndarray | None = None

    def to_source(self, box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A box (x0, y0, x1, y1) on the 28×28 input, in ``source`` pixels: where the drawing had what the model
        saw there (undoing the centring shift and the scaling; may reach past the ink)."""
        top, left, bottom, right = self.bbox  # ``evened`` has ``source``'s pixels: the box is in both
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


def _clean(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2:
        raise CnndeskError(f"Expected a 2-D grey image, got shape {image.shape}.")
    return np.nan_to_num(image, nan=0.0, posinf=1.0, neginf=0.0).clip(0.0, 1.0)


def preprocess(image: np.ndarray, even_strokes: bool = False) -> Preprocessed | None:
    """MNIST-style preprocessing of a 2-D float image in [0, 1], ink high. None when there is no ink.

    ``even_strokes``: first grow strokes thinner than MNIST's to its width for the digit's size (``even_strokes()``),
    for an image that has no stroke paths — an opened file, a photo. The canvas evens its drawings from their paths.
    """
    image = _clean(image)
    source = image
    evened = None
    if even_strokes:
        image = evened = _even_clean(image)
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
    return Preprocessed(source, bbox, cropped, scaled, centred, (com_row, com_col), (off_row, off_col), evened)


@dataclass(frozen=True)
class StrokeWidth:
    """How thick a digit's strokes are, measured along the skeleton of its ink (in the image's pixels)."""

    width: float  # twice the median distance from the skeleton to the paper: the typical stroke's width
    extent: float  # the skeleton's longer side: the digit's size, its strokes' thickness left out

    @property
    def ratio(self) -> float:
        """The width as a share of the digit's size (MNIST's median is 0.141, see THIN_STROKES)."""
        return self.width / self.extent


@dataclass
class _Strokes:
    """A digit's ink at the working zoom: its stroke mask and measure, and how to map back to the image."""

    mask: np.ndarray  # bool, the work image's ink at STROKE_LEVEL
    width: float  # work pixels
    extent: float  # work pixels
    zoom: float  # work pixels per image pixel: an integer, or 1 / an integer
    origin: tuple[int, int]  # (row, col) in the image of the work image's top-left corner


def _zoom_matrix(size: int, factor: int) -> np.ndarray:
    """(size * factor, size): bilinear upsampling by a whole factor along one axis as a matrix, pixel centres
    aligned as PyTorch's ``interpolate(..., align_corners=False)`` aligns them (a small matrix product is much
    quicker than PyTorch's call on these sizes)."""
    source = np.clip((np.arange(size * factor) + 0.5) / factor - 0.5, 0.0, size - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, size - 1)
    weight = (source - low).astype(np.float32)
    matrix = np.zeros((size * factor, size), np.float32)
    rows = np.arange(size * factor)
    np.add.at(matrix, (rows, low), 1.0 - weight)
    np.add.at(matrix, (rows, high), weight)
    return matrix


def _zoom_in(image: np.ndarray, factor: int) -> np.ndarray:
    return _zoom_matrix(image.shape[0], factor) @ image @ _zoom_matrix(image.shape[1], factor).T


def _zoom_out(image: np.ndarray, factor: int) -> np.ndarray:
    """Each block of factor × factor pixels averaged into one (the shape a multiple of ``factor``)."""
    height, width = image.shape[0] // factor, image.shape[1] // factor
    return image.reshape(height, factor, width, factor).mean(axis=(1, 3))


def _strokes(image: np.ndarray) -> _Strokes | None:
    """The ink's strokes at a zoom that makes the digit about STROKE_WORK_SIZE px, with room to grow around it."""
    from scipy import ndimage
    from skimage.morphology import skeletonize

    bbox = ink_bbox(image)
    if bbox is None:
        return None
    top, left, bottom, right = bbox
    longer = max(bottom - top, right - left)
    up = max(1, round(STROKE_WORK_SIZE / longer)) if longer <= STROKE_WORK_SIZE else 1
    down = 1 if up > 1 else max(1, round(longer / STROKE_WORK_SIZE))
    # Room for the strokes to grow: at most half the grown width each side, and a pixel for the edge.
    margin = int(np.ceil(GROWN_STROKES * longer / 2)) + 1
    top, left = top - margin, left - margin
    height = -(-(bottom + margin - top) // down) * down  # whole blocks of ``down`` pixels
    width = -(-(right + margin - left) // down) * down
    region = np.zeros((height, width), np.float32)
    src_rows = slice(max(top, 0), min(top + height, image.shape[0]))
    src_cols = slice(max(left, 0), min(left + width, image.shape[1]))
    region[src_rows.start - top:src_rows.stop - top, src_cols.start - left:src_cols.stop - left] = \
        image[src_rows, src_cols]
    work = _zoom_in(region, up) if up > 1 else _zoom_out(region, down)
    mask = work > STROKE_LEVEL * float(work.max())
    skeleton = skeletonize(mask)
    if not skeleton.any():
        return None
    rows, cols = np.nonzero(skeleton)
    extent = float(max(np.ptp(rows), np.ptp(cols)))
    inside = ndimage.distance_transform_edt(mask)
    # The skeleton runs mid-stroke: twice its distance to the paper is the stroke's width (to a pixel).
    stroke_width = 2.0 * float(np.median(inside[skeleton]))
    if extent <= stroke_width:  # a dot or a blob, no longer than it is wide: no strokes to measure
        return None
    return _Strokes(mask, stroke_width, extent, up if up > 1 else 1.0 / down, (top, left))


def measure_strokes(image: np.ndarray) -> StrokeWidth | None:
    """The stroke width and size of the digit in ``image`` (2-D, [0, 1], ink high); None when there is no ink."""
    strokes = _strokes(_clean(image))
    if strokes is None:
        return None
    return StrokeWidth(strokes.width / strokes.zoom, strokes.extent / strokes.zoom)


def even_strokes(image: np.ndarray) -> np.ndarray:
    """``image`` (2-D, [0, 1], ink high) with strokes thinner than MNIST's grown to MNIST's width for its size.

    The width is measured along the ink's skeleton (``measure_strokes``). Strokes thinner than THIN_STROKES of the
    digit's size (a pen-thin line that would fade to a faint trace in 20 px) grow evenly to GROWN_STROKES, the
    width the canvas draws at; anything else — MNIST's own digits, a drawing already evened from its paths, a thick
    marker — comes back unchanged. Same shape as ``image``.
    """
    return _even_clean(_clean(image))


def _even_clean(image: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    strokes = _strokes(image)
    if strokes is None or strokes.width >= THIN_STROKES * strokes.extent:
        return image
    grow = (GROWN_STROKES * strokes.extent - strokes.width) / 2  # work pixels added to each side of a stroke
    # The paper within ``grow`` of the ink becomes ink, its new edge anti-aliased over a pixel.
    outside = ndimage.distance_transform_edt(~strokes.mask)
    work = np.clip(1.0 + grow - outside, 0.0, 1.0).astype(np.float32)
    # Back to the image's pixels: the zoom's blocks averaged into one pixel each, or the blocks spread out again.
    zoom = strokes.zoom
    region = _zoom_out(work, int(zoom)) if zoom >= 1 else _zoom_in(work, round(1 / zoom)).clip(0.0, 1.0)
    evened = np.zeros_like(image)
    top, left = strokes.origin
    rows = slice(max(top, 0), min(top + region.shape[0], image.shape[0]))
    cols = slice(max(left, 0), min(left + region.shape[1], image.shape[1]))
    evened[rows, cols] = region[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
    return evened


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


def _wide_grey(values: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """A 16-bit (or 32-bit integer, or float) grey image in [0, 1]: 16-bit by its own full scale, the others by
    their range, whatever part of it the image spans (ink 0x2000 on paper 0xE000 stays ink on paper)."""
    if values.size == 0:
        raise CnndeskError(f"{path} is an empty image.")
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if mode.startswith("I;16"):
        gray = values / 65535.0
    else:
        low, high = float(values.min()), float(values.max())
        gray = (values - low) / (high - low) if high > low else np.zeros_like(values)
    return to_ink(gray.astype(np.float32).clip(0.0, 1.0))


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as a 2-D float array in [0, 1], ink high (either polarity on disk)."""
    from PIL import Image, ImageOps

    path = Path(path)
    if not path.exists():
        raise CnndeskError(f"No such file: {path}")
    if path.is_dir():
        raise CnndeskError(f"{path} is a folder, not an image.")
    wide_mode = None
    try:
        with Image.open(path) as img:
            width, height = img.size  # from the header: checked before a single pixel is decoded
            if width * height > MAX_IMAGE_PIXELS:
                raise CnndeskError(f"{path} is {width:,}×{height:,} pixels: cnndesk reads images of up to "
                                   f"{MAX_IMAGE_PIXELS / 1e6:.1f} megapixels (a digit needs far fewer); scale it "
                                   "down first.")
            img.load()
            img = ImageOps.exif_transpose(img)  # a photo the right way up, as a viewer shows it
            if img.mode.startswith(("I", "F")):  # 16- or 32-bit grey: Pillow's convert("L") would clip it
                wide_mode, gray = img.mode, np.asarray(img, dtype=np.float32)
            else:
                if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                    # Transparent background: composite onto white paper.
                    rgba = img.convert("RGBA")
                    paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    img = Image.alpha_composite(paper, rgba)
                gray = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except CnndeskError:
        raise
    except Exception as exc:
        # Only Pillow runs in this block, and its decoders raise more than OSError and ValueError for a damaged
        # file (the fuzz tests found NotImplementedError from DDS, IndexError from an empty iCCP chunk in a PNG):
        # whatever it raises, the file is not an image cnndesk can read.
        detail = str(exc) or type(exc).__name__
        raise CnndeskError(f"{path} is not an image cnndesk can read ({detail}).") from None
    if wide_mode is not None:
        return _wide_grey(gray, wide_mode, path)
    if gray.size == 0:
        raise CnndeskError(f"{path} is an empty image.")
    return to_ink(gray)
