"""MNIST-style preprocessing: crop the ink, fit it in 20×20 keeping its shape, centre it by mass in 28×28."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cnndesk.engine import CnndeskError, load_image, preprocess
from cnndesk.engine.preprocess import (
    GROWN_STROKES,
    INK_THRESHOLD,
    THIN_STROKES,
    even_strokes,
    measure_strokes,
    to_ink,
)

FIELD_CENTRE = 14.0  # where MNIST puts the centre of mass, in index coordinates


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape, dtype=np.float64)
    mass = image.sum(dtype=np.float64)
    return float((rows * image).sum() / mass), float((cols * image).sum() / mass)


def ink_extent(image: np.ndarray, level: float = 0.02) -> tuple[int, int]:
    """Height and width of the region holding ink brighter than ``level`` of the peak."""
    mask = image > level * image.max()
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def stroke(canvas: np.ndarray, points: list[tuple[float, float]], radius: float, value: float = 1.0) -> None:
    """Draw a thick polyline (row, col points) onto ``canvas`` in place, like a round pen."""
    rows, cols = np.indices(canvas.shape, dtype=np.float64)
    for (r0, c0), (r1, c1) in itertools.pairwise(points):
        dr, dc = r1 - r0, c1 - c0
        length2 = dr * dr + dc * dc
        t = np.zeros_like(rows) if length2 == 0 else np.clip(((rows - r0) * dr + (cols - c0) * dc) / length2, 0, 1)
        dist2 = (rows - (r0 + t * dr)) ** 2 + (cols - (c0 + t * dc)) ** 2
        canvas[dist2 <= radius * radius] = value


def seven(size: int, top: int, left: int, scale: float) -> np.ndarray:
    """A hand-drawn-looking 7 on a ``size``² canvas, its box's corner at (top, left), ~100·scale px tall."""
    canvas = np.zeros((size, size), dtype=np.float32)
    pts = [(0, 0), (4, 60), (0, 64), (50, 40), (100, 22)]
    stroke(canvas, [(top + r * scale, left + c * scale) for r, c in pts], radius=6 * scale)
    return canvas


# ---------------------------------------------------------------- examples a user would draw


def test_vertical_bar_becomes_a_centred_one_twenty_pixels_tall(bar_image):
    result = preprocess(bar_image)
    assert result is not None
    out = result.centred
    assert out.shape == (28, 28) and out.dtype == np.float32
    height, width = ink_extent(out)
    assert height == 20
    assert width <= 3
    row, col = centre_of_mass(out)
    assert abs(row - FIELD_CENTRE) <= 1.0 and abs(col - FIELD_CENTRE) <= 1.0
    assert result.tensor().shape == (1, 1, 28, 28)


def test_digit_in_a_corner_comes_out_the_same_as_in_the_middle():
    middle = preprocess(seven(280, 90, 100, 1.0))
    corner = preprocess(seven(280, 8, 8, 1.0))
    other_corner = preprocess(seven(280, 170, 200, 1.0))
    assert middle is not None and corner is not None and other_corner is not None
    assert middle.bbox != corner.bbox
    np.testing.assert_array_equal(corner.centred, middle.centred)
    np.testing.assert_array_equal(other_corner.centred, middle.centred)


def test_digit_drawn_small_or_large_comes_out_alike():
    large = preprocess(seven(280, 20, 20, 2.2)).centred
    small = preprocess(seven(280, 200, 150, 0.6)).centred
    assert correlation(large, small) > 0.9
    assert ink_extent(large)[0] == ink_extent(small)[0] == 20


def test_aspect_ratio_is_kept_for_a_wide_bar():
    canvas = np.zeros((280, 280), dtype=np.float32)
    canvas[130:150, 40:240] = 1.0  # 20 tall, 200 wide
    result = preprocess(canvas)
    assert result is not None
    assert result.scaled.shape == (2, 20)
    height, width = ink_extent(result.centred)
    assert width == 20 and height == 2
    row, col = centre_of_mass(result.centred)
    assert abs(row - FIELD_CENTRE) <= 1.0 and abs(col - FIELD_CENTRE) <= 1.0


def test_steps_are_kept_for_the_view(bar_image):
    result = preprocess(bar_image)
    top, left, bottom, right = result.bbox
    np.testing.assert_array_equal(result.source, bar_image)
    np.testing.assert_array_equal(result.cropped, bar_image[top:bottom, left:right])
    assert result.cropped.max() == 1.0
    # the crop is tight: its outer rows and columns hold ink
    for edge in (result.cropped[0], result.cropped[-1], result.cropped[:, 0], result.cropped[:, -1]):
        assert edge.max() > 0


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((280, 280)),
        np.zeros((1, 1)),
        np.zeros((0, 0)),
        np.full((50, 50), -3.0),
        np.full((28, 28), np.nan),
    ],
    ids=["blank-canvas", "one-pixel", "empty", "negative", "nan"],
)
def test_blank_image_has_no_digit(image):
    assert preprocess(image) is None


def test_nan_and_inf_pixels_do_not_spoil_the_output(bar_image):
    dirty = bar_image.copy()
    dirty[0, 0] = np.nan
    dirty[5, 5] = -np.inf
    dirty[200:205, 10:15] = np.nan
    result = preprocess(dirty)
    assert result is not None
    assert np.isfinite(result.centred).all()
    np.testing.assert_array_equal(result.centred, preprocess(bar_image).centred)


@pytest.mark.parametrize("shape", [(28, 28, 3), (784,), ()])
def test_non_2d_input_is_rejected(shape):
    with pytest.raises(CnndeskError, match="2-D"):
        preprocess(np.ones(shape))


# ---------------------------------------------------------------- MNIST itself


def test_mnist_digits_survive_preprocessing_up_to_a_one_pixel_shift(mnist):
    """MNIST was made this way: re-preprocessing a test digit gives the same digit, at most 1 px shifted."""
    images = mnist.test.float_images()[:300, 0].numpy()
    for index, image in enumerate(images):
        out = preprocess(image).centred
        best = max(
            correlation(np.roll(out, (dr, dc), axis=(0, 1)), image) for dr in (-1, 0, 1) for dc in (-1, 0, 1)
        )
        assert best > 0.99, f"test image {index}"


def test_mnist_digits_stay_where_mnist_put_them(mnist):
    images = mnist.test.float_images()[:300, 0].numpy()
    correlations = np.array([correlation(preprocess(image).centred, image) for image in images])
    assert correlations.min() > 0.8, f"{(correlations <= 0.8).sum()} of 300 digits moved"
    centres = np.array([centre_of_mass(preprocess(image).centred) for image in images])
    assert np.abs(centres.mean(axis=0) - 14.0).max() < 0.1


# ---------------------------------------------------------------- properties


@st.composite
def drawings(draw) -> np.ndarray:
    """Random blobs, bars and strokes anywhere on a canvas of random size, ink high."""
    height = draw(st.integers(8, 320))
    width = draw(st.integers(8, 320))
    canvas = np.zeros((height, width), dtype=np.float32)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["rect", "stroke", "dot"]))
        value = draw(st.floats(0.2, 1.0))
        r0, r1 = sorted(draw(st.tuples(st.integers(0, height - 1), st.integers(0, height - 1))))
        c0, c1 = sorted(draw(st.tuples(st.integers(0, width - 1), st.integers(0, width - 1))))
        if kind == "rect":
            canvas[r0:r1 + 1, c0:c1 + 1] = np.maximum(canvas[r0:r1 + 1, c0:c1 + 1], value)
        elif kind == "stroke":
            if draw(st.booleans()):
                r0, r1 = r1, r0
            layer = np.zeros_like(canvas)
            stroke(layer, [(r0, c0), (r1, c1)], radius=draw(st.floats(0.5, 12.0)), value=value)
            canvas = np.maximum(canvas, layer)
        else:
            canvas[r0, c0] = max(canvas[r0, c0], value)
    if draw(st.booleans()):  # a soft, anti-aliased pen
        canvas = (canvas + np.roll(canvas, 1, 0) + np.roll(canvas, 1, 1)) / 3
    return canvas


PROPERTY_SETTINGS = settings(
    max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(drawings())
def test_any_drawing_becomes_a_model_input(canvas):
    result = preprocess(canvas)
    assert result is not None
    out = result.centred
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.isfinite(out).all()

    # the ink box: every ink pixel of the drawing is inside it
    top, left, bottom, right = result.bbox
    outside = canvas.copy()
    outside[top:bottom, left:right] = 0
    assert outside.max() <= INK_THRESHOLD * canvas.max()

    # the longer side is 20 px, the aspect ratio kept
    h, w = result.cropped.shape
    new_h, new_w = result.scaled.shape
    assert max(new_h, new_w) == 20
    assert abs(new_h - h * 20 / max(h, w)) <= 0.5 or new_h == 1
    assert abs(new_w - w * 20 / max(h, w)) <= 0.5 or new_w == 1

    # nothing is cut off: the whole scaled digit lands in the field
    assert out.sum(dtype=np.float64) == pytest.approx(result.scaled.sum(dtype=np.float64), rel=1e-5)


@PROPERTY_SETTINGS
@given(drawings())
def test_any_drawing_is_centred_by_mass(canvas):
    result = preprocess(canvas)
    new_h, new_w = result.scaled.shape
    com_row, com_col = result.centre_of_mass
    out_row, out_col = centre_of_mass(result.centred)
    # The digit is shifted by whole pixels: its mass keeps its sub-pixel position.
    assert (out_row - com_row) == pytest.approx(round(out_row - com_row), abs=1e-4)
    assert (out_col - com_col) == pytest.approx(round(out_col - com_col), abs=1e-4)
    # Unless the digit is so lopsided that centring would push it out of the field, its mass sits in the middle.
    if centring_fits(com_row, new_h):
        assert abs(out_row - FIELD_CENTRE) <= 1.0
    if centring_fits(com_col, new_w):
        assert abs(out_col - FIELD_CENTRE) <= 1.0


def centring_fits(com: float, size: int) -> bool:
    """Whether a digit ``size`` px long with its mass at ``com`` can be centred with a pixel to spare each side."""
    shift = FIELD_CENTRE - com  # the whole-pixel shift is this, rounded (up to +0.5 for MNIST's convention)
    return shift >= 1 and shift + 0.5 <= 28 - size - 1


@PROPERTY_SETTINGS
@given(
    patch=drawings().filter(lambda a: a.shape[0] <= 120 and a.shape[1] <= 120),
    offsets=st.tuples(st.integers(0, 150), st.integers(0, 150), st.integers(0, 150), st.integers(0, 150)),
)
def test_where_a_drawing_sits_on_the_canvas_does_not_matter(patch, offsets):
    r1, c1, r2, c2 = offsets
    first = np.zeros((280, 280), dtype=np.float32)
    second = np.zeros((280, 280), dtype=np.float32)
    h, w = patch.shape
    first[r1:r1 + h, c1:c1 + w] = patch
    second[r2:r2 + h, c2:c2 + w] = patch
    np.testing.assert_array_equal(preprocess(first).centred, preprocess(second).centred)


@PROPERTY_SETTINGS
@given(height=st.integers(0, 200), width=st.integers(0, 200), fill=st.sampled_from([0.0, -1.0, np.nan]))
def test_no_ink_means_no_digit(height, width, fill):
    assert preprocess(np.full((height, width), fill, dtype=np.float32)) is None


# ---------------------------------------------------------------- photos and files


def test_dark_ink_on_light_paper_reads_like_light_ink_on_dark(bar_image):
    light_on_dark = bar_image
    dark_on_light = 1.0 - bar_image
    np.testing.assert_allclose(to_ink(dark_on_light), to_ink(light_on_dark), atol=1e-6)
    np.testing.assert_allclose(to_ink(light_on_dark), bar_image, atol=1e-6)


def test_grey_paper_is_not_ink(bar_image):
    """A grey, evenly lit sheet with pencil strokes: the paper's level is not counted as ink."""
    photo = 0.8 - 0.6 * bar_image  # paper at 0.8, pencil at 0.2
    ink = to_ink(photo)
    assert ink[bar_image == 0].max() == 0.0
    strokes = ink[bar_image == 1]
    assert strokes.min() == strokes.max() > 0.5
    np.testing.assert_allclose(ink, to_ink(1.0 - photo), atol=1e-6)


def test_blank_paper_has_no_ink():
    assert to_ink(np.full((40, 40), 0.97, dtype=np.float32)).max() == 0.0
    assert to_ink(np.full((40, 40), 0.02, dtype=np.float32)).max() == 0.0


@pytest.mark.parametrize("polarity", ["dark-on-light", "light-on-dark"])
def test_load_image_reads_either_polarity(write_png, bar_image, polarity):
    path = write_png(bar_image, polarity=polarity)
    ink = load_image(path)
    assert ink.shape == bar_image.shape
    assert ink.dtype == np.float32
    np.testing.assert_allclose(ink, bar_image, atol=1 / 255)
    np.testing.assert_array_equal(preprocess(ink).centred, preprocess(bar_image).centred)


def test_load_image_composites_transparency_onto_white_paper(tmp_path, bar_image):
    """A digit drawn in black on a transparent background (a typical PNG export)."""
    rgba = np.zeros((*bar_image.shape, 4), dtype=np.uint8)  # transparent black everywhere
    rgba[..., 3] = np.round(bar_image * 255).astype(np.uint8)  # opaque black where the ink is
    path = tmp_path / "transparent.png"
    Image.fromarray(rgba).save(path)
    ink = load_image(path)
    np.testing.assert_allclose(ink, bar_image, atol=1 / 255)


def test_load_image_reads_colour_and_jpeg(tmp_path, bar_image):
    rgb = np.stack([255 - np.round(bar_image * 255).astype(np.uint8)] * 3, axis=-1)
    rgb[..., 2] = np.maximum(rgb[..., 2], 40)  # blue-ish ink on white paper
    Image.fromarray(rgb).save(tmp_path / "colour.jpg", quality=95)
    ink = load_image(tmp_path / "colour.jpg")
    assert correlation(preprocess(ink).centred, preprocess(bar_image).centred) > 0.95


def test_load_image_accepts_a_string_path(write_png, bar_image):
    path = write_png(bar_image)
    np.testing.assert_array_equal(load_image(str(path)), load_image(path))


def test_missing_file_is_a_clear_error(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(CnndeskError, match="No such file") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_folder_is_not_an_image(tmp_path):
    with pytest.raises(CnndeskError, match="folder") as info:
        load_image(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [b"just some notes\n", b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
    ids=["text", "empty", "png-signature-only"],
)
def test_file_that_is_not_an_image_is_a_clear_error(tmp_path, content):
    path = tmp_path / "digit.png"
    path.write_bytes(content)
    with pytest.raises(CnndeskError, match="not an image") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_damaged_png_is_a_clear_error(write_png, bar_image, tmp_path):
    data = bytearray(write_png(bar_image).read_bytes())
    data[36] = 0  # the IDAT chunk's length: the rest of the file no longer parses
    path = tmp_path / "damaged.png"
    path.write_bytes(bytes(data))
    with pytest.raises(CnndeskError, match="not an image"):
        load_image(path)


def test_huge_image_header_is_a_clear_error(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", 20_000, 20_000, 8, 0, 0, 0, 0)
    path = tmp_path / "huge.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )
    with pytest.raises(CnndeskError):
        load_image(path)


def test_a_box_on_the_model_input_maps_back_to_where_the_drawing_had_it():
    # A square blob off-centre on a 280×280 canvas: the input pixels that hold it map back onto the blob.
    image = np.zeros((280, 280), np.float32)
    image[40:120, 150:230] = 1.0
    prepared = preprocess(image)
    rows = np.flatnonzero(prepared.centred.max(axis=1) > 0.5)
    cols = np.flatnonzero(prepared.centred.max(axis=0) > 0.5)
    x0, y0, x1, y1 = prepared.to_source((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    assert (x0, y0, x1, y1) == pytest.approx((150, 40, 230, 120), abs=4.0)
    # The whole input covers more than the ink, centred where the digit's mass is.
    wx0, wy0, wx1, wy1 = prepared.to_source((0, 0, 28, 28))
    assert wx0 < 150 and wx1 > 230 and wy0 < 40 and wy1 > 120
    assert (wx0 + wx1) / 2 == pytest.approx(190, abs=4.0) and (wy0 + wy1) / 2 == pytest.approx(80, abs=4.0)


# ---------------------------------------------------------------- stroke width (images without stroke paths)


def mnist_enlarged(mnist, indices) -> np.ndarray:
    """MNIST test digits ×10 (bilinear), as a 280×280 scan of them would be."""
    import torch

    images = mnist.test.float_images()[list(indices)]
    return torch.nn.functional.interpolate(images, scale_factor=10, mode="bilinear")[:, 0].clamp(0, 1).numpy()


def holes(image: np.ndarray) -> int:
    """Paper regions the ink closes off from the border: a 0 has one, an 8 two."""
    from scipy import ndimage

    _, count = ndimage.label(np.pad(image < 0.5, 1, constant_values=True))
    return count - 1


def pen_drawing(mnist, index: int, width: float) -> np.ndarray:
    from cnndesk.engine.bench import DrawingFamily, digit_centre_line, render_drawing

    digit = mnist.test.float_images()[index, 0].numpy()
    return render_drawing(digit_centre_line(digit), DrawingFamily("pen", "a pen", 180, width))


def test_a_pen_thin_digit_grows_to_the_width_the_canvas_draws_and_keeps_its_loop(mnist):
    thin = pen_drawing(mnist, 3, width=3)  # test image 3 is a 0
    before = measure_strokes(thin)
    assert before.ratio < THIN_STROKES
    evened = even_strokes(thin)
    after = measure_strokes(evened)
    assert after.ratio == pytest.approx(GROWN_STROKES, abs=0.015)
    assert after.extent == pytest.approx(before.extent, rel=0.03)  # the digit keeps its size ...
    assert holes(thin) == holes(evened) == 1  # ... and its loop
    # The grown strokes lie along the thin ones: nothing moved.
    assert correlation(preprocess(thin).centred, preprocess(evened).centred) > 0.6
    np.testing.assert_allclose(centre_of_mass(evened), centre_of_mass(thin), atol=1.5)


def test_strokes_of_mnist_width_and_thicker_come_back_unchanged(mnist):
    for width in (22, 44):  # the default brush on a 180 px digit, and a marker
        drawing = pen_drawing(mnist, 3, width)
        np.testing.assert_array_equal(even_strokes(drawing), drawing)
    scans = mnist_enlarged(mnist, range(100))
    unchanged = sum(np.array_equal(even_strokes(scan), scan) for scan in scans)
    assert unchanged >= 90  # MNIST's thinnest 5% are grown


def test_the_evened_image_is_a_step_of_its_own(mnist):
    thin = pen_drawing(mnist, 3, width=3)
    plain = preprocess(thin)
    assert plain.evened is None
    prepared = preprocess(thin, even_strokes=True)
    np.testing.assert_array_equal(prepared.source, thin)  # the image as opened
    assert prepared.evened.shape == thin.shape and prepared.evened.dtype == np.float32
    np.testing.assert_array_equal(prepared.evened, even_strokes(thin))
    top, left, bottom, right = prepared.bbox  # the crop is the evened image's
    np.testing.assert_array_equal(prepared.cropped, prepared.evened[top:bottom, left:right])
    # The box still maps back onto the opened image's pixels: the whole input covers the digit there.
    x0, y0, x1, y1 = prepared.to_source((0, 0, 28, 28))
    rows, cols = np.nonzero(thin > 0.5)
    assert x0 < cols.min() and x1 > cols.max() and y0 < rows.min() and y1 > rows.max()
    kept = preprocess(pen_drawing(mnist, 3, width=22), even_strokes=True)
    assert kept.evened is kept.source  # already MNIST-like: the very same image


@pytest.mark.parametrize("image", [np.zeros((280, 280)), np.full((28, 28), np.nan), np.zeros((0, 0))],
                         ids=["blank", "nan", "empty"])
def test_evening_a_blank_image_finds_no_digit(image):
    assert preprocess(image, even_strokes=True) is None
    assert measure_strokes(image) is None


def test_a_dot_has_no_strokes_to_even():
    dot = np.zeros((100, 100), np.float32)
    dot[50, 50] = 1.0
    assert measure_strokes(dot) is None
    np.testing.assert_array_equal(even_strokes(dot), dot)


@settings(max_examples=20, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(drawings())
def test_any_drawing_can_be_evened(canvas):
    evened = even_strokes(canvas)
    assert evened.shape == canvas.shape and evened.dtype == np.float32
    assert np.isfinite(evened).all() and evened.min() >= 0.0 and evened.max() <= 1.0
    result = preprocess(canvas, even_strokes=True)
    assert result is not None and result.centred.shape == (28, 28)


@pytest.fixture(scope="module")
def bundled_lenet5():
    from cnndesk.engine import load_model
    from cnndesk.locations import pretrained_path

    if not pretrained_path("lenet5").exists():
        pytest.skip("bundled LeNet5 weights missing")
    model, _ = load_model(None)
    return model


def lenet5_correct(model, images: list[np.ndarray], labels: np.ndarray, even: bool) -> int:
    import torch

    from cnndesk.engine import predict_probabilities

    inputs = torch.from_numpy(np.stack([preprocess(image, even_strokes=even).centred for image in images]))
    return int((predict_probabilities(model, inputs[:, None]).argmax(1).numpy() == labels).sum())


def test_evening_costs_lenet5_no_mnist_digit(mnist, bundled_lenet5):
    """MNIST's own digits, scanned at ×10 and read as an opened image: the step must leave them readable."""
    indices = range(0, 10000, 50)  # 200 digits, every class
    scans = list(mnist_enlarged(mnist, indices))
    labels = mnist.test.labels[list(indices)].numpy()
    assert lenet5_correct(bundled_lenet5, scans, labels, even=True) >= lenet5_correct(bundled_lenet5, scans, labels,
                                                                                      even=False)


def test_evening_lets_lenet5_read_pen_thin_digits(mnist, bundled_lenet5):
    indices = range(0, 10000, 125)  # 80 digits
    drawings = [pen_drawing(mnist, index, width=2) for index in indices]
    labels = mnist.test.labels[list(indices)].numpy()
    assert lenet5_correct(bundled_lenet5, drawings, labels, even=True) >= lenet5_correct(
        bundled_lenet5, drawings, labels, even=False) + 3


def test_a_16_bit_grey_scan_that_does_not_span_the_full_range_keeps_its_ink(tmp_path):
    """(Pillow's conversion to 8 bits clipped ink 0x2000 on paper 0xE000 to a blank image.)"""
    from PIL import Image

    from cnndesk.engine.preprocess import load_image

    pixels = np.full((120, 120), 0xE000, np.uint16)
    pixels[20:100, 55:65] = 0x2000  # a dark 1 on light paper
    path = tmp_path / "scan16.png"
    Image.fromarray(pixels).save(path)
    assert Image.open(path).mode.startswith("I")
    ink = load_image(path)
    assert ink[60, 60] > 0.8 and ink[5, 5] < 0.05  # ink high where the stroke is, paper black


def test_a_photo_with_exif_rotation_is_read_the_right_way_up(tmp_path):
    from PIL import Image

    from cnndesk.engine.preprocess import load_image

    stored = Image.new("L", (120, 80), 255)
    stored.paste(0, (10, 35, 110, 45))  # a horizontal bar as stored; orientation 6: shown turned 90° clockwise
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "photo.jpg"
    stored.save(path, exif=exif, quality=95)
    ink = load_image(path)
    assert ink.shape == (120, 80)  # as a viewer shows it: portrait
    rows, cols = np.nonzero(ink > 0.5)
    assert np.ptp(rows) > 80 and np.ptp(cols) < 20  # the bar stands upright


def test_a_huge_image_is_refused_before_it_is_decoded(tmp_path):
    """(A 76 KB 13000×13000 1-bit PNG drove predict to 3.3 GB and 8 s.)"""
    import resource

    from PIL import Image

    from cnndesk.engine import CnndeskError
    from cnndesk.engine.preprocess import load_image

    path = tmp_path / "huge.png"
    Image.new("1", (13000, 13000), 1).save(path)
    assert path.stat().st_size < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CnndeskError, match="13,000×13,000 pixels"):
        load_image(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: nothing was decoded
