"""Property-based fuzzing of what cnndesk reads from files: checkpoints and images.

Whatever the bytes, a reader returns what it promises or raises CnndeskError (one sentence for the user) — never
another exception, and a checkpoint never runs code. Each property runs FUZZ_EXAMPLES examples (100, about 15 s
for the file on a 2-core machine); a longer run is one command:

    CNNDESK_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/engine/test_fuzz.py

What an earlier run found is kept as an explicit ``@example`` beside the property that found it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from cnndesk.engine import CnndeskError, build_model, load_image, load_model, preprocess, save_checkpoint

FUZZ_EXAMPLES = int(os.environ.get("CNNDESK_FUZZ_EXAMPLES", "100"))
# Pillow warns about the damaged files it reads ("Corrupt EXIF data", a header claiming 100 megapixels, which
# load_image then refuses): expected here.
pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:PIL"),
              pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")]


def fuzz_settings(share: float = 1.0) -> settings:
    """``share`` of FUZZ_EXAMPLES examples, no deadline (the first example pays for imports), no example database."""
    return settings(max_examples=max(1, round(FUZZ_EXAMPLES * share)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for the module: hypothesis runs all its examples in one call of the test, so a function-scoped
    tmp_path would be shared by them anyway (and hypothesis refuses it)."""
    return tmp_path_factory.mktemp("fuzz")


# ---------------------------------------------------------------- checkpoints


@contextlib.contextmanager
def nothing_unpickled() -> Iterator[None]:
    """Every way Python and PyTorch unpickle a file raises AssertionError, which no reader catches — but PyTorch's
    weights-only reader, which builds tensors and plain containers and calls nothing (a torch.save state_dict is
    read that way, and random bytes can start like one)."""
    real_torch_load = torch.load

    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint was unpickled")

    def weights_only_load(*args, **kwargs):
        if kwargs.get("weights_only") is not True:
            raise AssertionError("torch.load without weights_only=True")
        return real_torch_load(*args, **kwargs)

    with mock.patch.object(pickle, "load", forbidden), mock.patch.object(pickle, "loads", forbidden), \
            mock.patch.object(pickle, "Unpickler", forbidden), mock.patch.object(torch, "load", weights_only_load):
        yield


def load_or_refuse(path: Path) -> None:
    """The property: load_model returns a model that predicts, or raises CnndeskError; nothing is unpickled."""
    with nothing_unpickled():
        try:
            model, meta = load_model(path)
        except CnndeskError as exc:
            assert str(exc).strip(), "an empty error message"
            return
    assert isinstance(meta, dict)
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def small_checkpoint() -> bytes:
    """A real checkpoint of a tiny model with BatchNorm (an int64 buffer among its floats) and a full header."""
    import tempfile

    torch.manual_seed(0)
    model = build_model("cnn2-bn", width=0.125)
    with tempfile.TemporaryDirectory() as folder:
        path = save_checkpoint(model, Path(folder) / "small.safetensors",
                               training={"dataset": "mnist", "epochs": 1, "lr": 0.01},
                               metrics={"test_accuracy": 0.5, "epochs_completed": 1, "history": []})
        return path.read_bytes()


SMALL_CHECKPOINT = small_checkpoint()
HEADER_END = 8 + int.from_bytes(SMALL_CHECKPOINT[:8], "little")
# The regions of the file a mutation aims at: the 8-byte header length, the JSON header, the tensor data.
REGIONS = {"length": (0, 8), "header": (8, HEADER_END), "data": (HEADER_END, len(SMALL_CHECKPOINT)),
           "anywhere": (0, len(SMALL_CHECKPOINT))}


@st.composite
def byte_mutations(draw: st.DrawFn, base: bytes, regions: dict[str, tuple[int, int]]) -> bytes:
    """``base`` with one to four byte-level changes in a region: flip, overwrite, insert, delete, or cut short."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        start, end = regions[draw(st.sampled_from(sorted(regions)))]
        end = min(end, len(data))
        if start >= end:
            break
        at = draw(st.integers(start, end - 1))
        operation = draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate"]))
        if operation == "flip":
            data[at] ^= draw(st.integers(1, 255))
        elif operation == "overwrite":
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[at:at + len(chunk)] = chunk
        elif operation == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif operation == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=8,
)


def json_paths(value, prefix: tuple = ()) -> list[tuple]:
    """Every place in a JSON value, as the keys and indices that reach it."""
    paths = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            paths += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            paths += json_paths(child, (*prefix, index))
    return paths


@st.composite
def json_mutation(draw: st.DrawFn, value):
    """``value`` with one place replaced by another JSON value, or (for a value in a table) removed."""
    path = draw(st.sampled_from(json_paths(value)))
    if not path:
        return draw(JSON_VALUES)
    value = json.loads(json.dumps(value))
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES | st.sampled_from(
            [[], [0], [1, 2], [2**40], "F32", "I8", "F64", "BOOL", "F8_E4M3", [0, 2**62], {"name": "convnet3"}]))
    return value


@st.composite
def header_mutations(draw: st.DrawFn) -> bytes:
    """The small checkpoint with its safetensors header (tensor entries and the cnndesk metadata) changed as JSON:
    past the JSON parser, deep into the checks a byte flip rarely reaches."""
    header = json.loads(SMALL_CHECKPOINT[8:HEADER_END])
    if draw(st.booleans()):
        metadata = json.loads(header["__metadata__"]["cnndesk"])
        header["__metadata__"]["cnndesk"] = json.dumps(draw(json_mutation(metadata)))
    else:
        header = draw(json_mutation(header))
    encoded = json.dumps(header).encode()
    # Mostly the true length (so the JSON is read); sometimes any 64-bit number.
    length = len(encoded) if draw(st.integers(0, 9)) else draw(st.integers(0, 2**64 - 1))
    return length.to_bytes(8, "little") + encoded + SMALL_CHECKPOINT[HEADER_END:]


# safetensors dtypes by size in bytes: one swapped for another of its size leaves the file consistent.
SAME_SIZE_DTYPES = {1: ["BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2"], 2: ["F16", "BF16", "I16", "U16"],
                    4: ["F32", "I32", "U32"], 8: ["F64", "I64", "U64"]}


@st.composite
def retyped_tensors(draw: st.DrawFn) -> bytes:
    """The small checkpoint with one to three tensors given another dtype of the same size, or another shape
    with as many elements: a file safetensors accepts, whose tensors the model must not take as they are."""
    header = json.loads(SMALL_CHECKPOINT[8:HEADER_END])
    names = sorted(key for key in header if key != "__metadata__")
    for _ in range(draw(st.integers(1, 3))):
        entry = header[draw(st.sampled_from(names))]
        if draw(st.booleans()):
            size = next(size for size, kinds in SAME_SIZE_DTYPES.items() if entry["dtype"] in kinds)
            entry["dtype"] = draw(st.sampled_from(SAME_SIZE_DTYPES[size]))
        else:
            count = int(np.prod(entry["shape"], dtype=np.int64))
            entry["shape"] = draw(st.sampled_from([[count], [1, count], [count, 1], [], entry["shape"][::-1],
                                                   [*entry["shape"], 1]]))
            if entry["shape"] == [] and count != 1:
                entry["shape"] = [count]
    encoded = json.dumps(header).encode()
    return len(encoded).to_bytes(8, "little") + encoded + SMALL_CHECKPOINT[HEADER_END:]


@fuzz_settings()
@given(content=retyped_tensors())
def test_a_checkpoint_with_retyped_or_reshaped_tensors_loads_or_is_refused(content, fuzz_dir):
    path = fuzz_dir / "retyped.safetensors"
    path.write_bytes(content)
    load_or_refuse(path)


def test_the_unchanged_small_checkpoint_loads(fuzz_dir):
    """The base of the mutations below is a checkpoint that loads: a mutant that loads is a real success."""
    path = fuzz_dir / "base.safetensors"
    path.write_bytes(SMALL_CHECKPOINT)
    model, _ = load_model(path)
    assert model.config["options"]["width"] == 0.125


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_a_torch_save_file_cut_anywhere_is_refused_in_one_sentence(zipped, tmp_path):
    """A tutorial's .pth cut short (a copy interrupted, a download stopped): PyTorch's weights-only reader fails on
    it in many ways (EOFError, IndexError, struct.error…); each is one CnndeskError, never a traceback."""
    buffer = io.BytesIO()
    torch.save(build_model("net2").state_dict(), buffer, _use_new_zipfile_serialization=zipped)
    whole = buffer.getvalue()
    path = tmp_path / "net2.pth"
    for length in sorted({*range(1, 64), *range(64, len(whole), max(1, len(whole) // 97))}):
        path.write_bytes(whole[:length])
        with pytest.raises(CnndeskError) as refused:
            load_or_refuse_strictly(path)
        if length >= 16:  # past the format's first bytes: said to be damaged, not taken for a pickle that runs code
            assert "damaged" in str(refused.value) and "run any code" not in str(refused.value), (length, refused.value)


def load_or_refuse_strictly(path: Path) -> None:
    """load_or_refuse for a file that cannot load: anything but a CnndeskError escapes."""
    with nothing_unpickled():
        load_model(path)


@fuzz_settings()
@given(content=st.binary(max_size=2048) | st.tuples(st.integers(0, 4096), st.binary(max_size=2048)).map(
    lambda pair: pair[0].to_bytes(8, "little") + pair[1]))
def test_random_bytes_are_refused_as_a_checkpoint(content, fuzz_dir):
    path = fuzz_dir / "random.safetensors"
    path.write_bytes(content)
    load_or_refuse(path)


@fuzz_settings()
@given(content=byte_mutations(SMALL_CHECKPOINT, REGIONS))
def test_a_damaged_checkpoint_loads_or_is_refused(content, fuzz_dir):
    path = fuzz_dir / "damaged.safetensors"
    path.write_bytes(content)
    load_or_refuse(path)


def checkpoint_with_metadata(text: str) -> bytes:
    """The small checkpoint with its cnndesk header entry replaced by ``text``."""
    header = json.loads(SMALL_CHECKPOINT[8:HEADER_END])
    header["__metadata__"]["cnndesk"] = text
    encoded = json.dumps(header).encode()
    return len(encoded).to_bytes(8, "little") + encoded + SMALL_CHECKPOINT[HEADER_END:]


@fuzz_settings()
@given(content=header_mutations())
# JSON nested deeper than Python's stack: json.loads raised RecursionError, which read_metadata let through.
@example(content=checkpoint_with_metadata("[" * 100_000 + "]" * 100_000))
def test_a_checkpoint_with_a_changed_header_loads_or_is_refused(content, fuzz_dir):
    path = fuzz_dir / "changed.safetensors"
    path.write_bytes(content)
    load_or_refuse(path)


# ---------------------------------------------------------------- images


def _digit(size: int = 24) -> np.ndarray:
    """A light-paper '7' as uint8 grey levels: ink to find in every seed image."""
    grey = np.full((size, size), 230, np.uint8)
    grey[3:6, 4:size - 4] = 20
    for row in range(6, size - 3):
        col = size - 5 - (row - 6) // 2
        grey[row, col - 1:col + 2] = 20
    return grey


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def seed_images() -> dict[str, bytes]:
    """Small valid files of every kind load_image meets: each format, bit depth, palette, alpha and frame count."""
    grey = Image.fromarray(_digit())
    rgb = grey.convert("RGB")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(255 - _digit()))  # ink opaque, paper transparent
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    wide = Image.fromarray(_digit().astype(np.uint16) * 257)  # I;16
    one_bit = grey.point(lambda v: 255 if v > 128 else 0).convert("1")
    frames = [grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey.rotate(90)]
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotated 90°
    floats = Image.fromarray(_digit().astype(np.float32) / 255.0)  # mode F
    ints = Image.fromarray(_digit().astype(np.int32) * 1000)  # mode I
    return {
        "png-grey": _encode(grey, "PNG"),
        "png-tiny": _encode(Image.new("L", (1, 1), 0), "PNG"),
        "png-palette-transparency": _encode(palette, "PNG", transparency=0),
        "png-16-bit": _encode(wide, "PNG"),
        "png-1-bit": _encode(one_bit, "PNG"),
        "png-rgba": _encode(rgba, "PNG"),
        "png-la": _encode(rgba.convert("LA"), "PNG"),
        "jpeg-grey": _encode(grey, "JPEG", quality=80),
        "jpeg-cmyk": _encode(rgb.convert("CMYK"), "JPEG"),
        "jpeg-exif-rotated": _encode(rgb, "JPEG", exif=exif),
        "bmp-rgb": _encode(rgb, "BMP"),
        "bmp-1-bit": _encode(one_bit, "BMP"),
        "bmp-palette": _encode(palette, "BMP"),
        "gif-transparency": _encode(palette, "GIF", transparency=0),
        "gif-animated": _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0),
        "tiff-cmyk": _encode(rgb.convert("CMYK"), "TIFF"),
        "tiff-16-bit": _encode(wide, "TIFF"),
        "tiff-float": _encode(floats, "TIFF"),
        "tiff-32-bit-int": _encode(ints, "TIFF"),
        "tiff-1-bit-compressed": _encode(one_bit, "TIFF", compression="group4"),
        "tiff-rgba-pages": _encode(rgba, "TIFF", save_all=True, append_images=[rgb], compression="tiff_lzw"),
        # Other formats Pillow recognises by their content, whatever the file is called.
        "webp": _encode(rgb, "WEBP"),
        "jpeg2000": _encode(grey, "JPEG2000"),
        "ppm": _encode(rgb, "PPM"),
        "pgm-16-bit": _encode(wide, "PPM"),
        "pcx": _encode(palette, "PCX"),
        "tga-rle": _encode(rgba, "TGA", compression="tga_rle"),
        "ico": _encode(rgba, "ICO", sizes=[(24, 24)]),
        "sgi": _encode(grey, "SGI"),
        "dds": _encode(rgba, "DDS"),
        "qoi": _encode(rgba, "QOI"),
        "xbm": _encode(one_bit, "XBM"),
        "msp": _encode(one_bit, "MSP"),
    }


SEED_IMAGES = seed_images()


def with_bytes(content: bytes, at: int, replacement: bytes) -> bytes:
    return content[:at] + replacement + content[at + len(replacement):]


# Found by the fuzzer: a DDS whose pixel-format flags (offset 80) are 0x4100; Pillow raised NotImplementedError.
DDS_UNKNOWN_PIXEL_FORMAT = with_bytes(SEED_IMAGES["dds"], 80, (0x4100).to_bytes(4, "little"))


def read_or_refuse(path: Path) -> None:
    """The property: load_image gives a 2-D float image in [0, 1] (or raises CnndeskError), and preprocess of it
    gives a finite 28×28 input in [0, 1] or None (no ink)."""
    try:
        ink = load_image(path)
    except CnndeskError as exc:
        assert str(exc).strip(), "an empty error message"
        return
    assert ink.ndim == 2 and ink.size > 0 and ink.dtype == np.float32
    assert np.isfinite(ink).all() and ink.min() >= 0.0 and ink.max() <= 1.0
    for even in (False, True):
        assert_model_input(preprocess(ink, even_strokes=even))


def assert_model_input(result) -> None:
    if result is None:
        return
    out = result.centred
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("name", sorted(SEED_IMAGES))
def test_every_seed_image_reads_as_a_digit(name, fuzz_dir):
    """The bases of the mutations below are valid images that load_image reads, with ink found in each."""
    path = fuzz_dir / name
    path.write_bytes(SEED_IMAGES[name])
    ink = load_image(path)
    assert (ink.ndim == 2 and ink.max() > 0.5) or name == "png-tiny"
    read_or_refuse(path)


# A few bytes that start each format, so that random bytes reach a decoder rather than "unidentified image".
MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"BM", b"GIF89a", b"GIF87a", b"II*\x00", b"MM\x00*",
         b"RIFF\x00\x00\x00\x00WEBP", b"P5\n", b"P4 ", b"Pf\n", b"\x00\x00\x01\x00", b"\x00\x00\x02\x00", b"8BPS",
         b"DDS |\x00\x00\x00", b"\x01\xda", b"qoif", b"icns", b"\x0a\x05\x01\x08", b"SIMPLE  =", b"#define ",
         b"/* XPM */", b"Image type: ", b"DanM", b"\x59\xa6\x6a\x95", b"BLP1", b"BLP2", b"\x00\x00\x00\x0cjP  "]


@fuzz_settings()
@given(magic=st.sampled_from(MAGIC), rest=st.binary(max_size=512))
def test_random_bytes_are_refused_as_an_image(magic, rest, fuzz_dir):
    path = fuzz_dir / "random.img"
    path.write_bytes(magic + rest)
    read_or_refuse(path)


@st.composite
def damaged_images(draw: st.DrawFn) -> bytes:
    seed = SEED_IMAGES[draw(st.sampled_from(sorted(SEED_IMAGES)))]
    # Half the changes in the first 64 bytes, where the header (sizes, modes, offsets) is.
    regions = {"header": (0, min(64, len(seed))), "anywhere": (0, len(seed))}
    return draw(byte_mutations(seed, regions))


@fuzz_settings()
@given(content=damaged_images())
@example(content=DDS_UNKNOWN_PIXEL_FORMAT)
def test_a_damaged_image_reads_or_is_refused(content, fuzz_dir):
    path = fuzz_dir / "damaged.img"
    path.write_bytes(content)
    read_or_refuse(path)


def png_chunks(content: bytes) -> list[tuple[bytes, bytes]]:
    """A PNG's chunks as (type, data), its signature left out."""
    chunks, at = [], 8
    while at + 8 <= len(content):
        length = int.from_bytes(content[at:at + 4], "big")
        chunks.append((content[at + 4:at + 8], content[at + 8:at + 8 + length]))
        at += 12 + length
    return chunks


def png_bytes(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG from chunks, each with a correct length and CRC: Pillow checks both, and a mutation that breaks them
    never gets further than the checksum."""
    import zlib

    out = bytearray(b"\x89PNG\r\n\x1a\n")
    for kind, data in chunks:
        out += len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    return bytes(out)


# Found by the fuzzer: a PNG with an empty iCCP (colour profile) chunk after its pixels; Pillow raised IndexError.
PNG_EMPTY_ICC_PROFILE = png_bytes([*png_chunks(SEED_IMAGES["png-grey"])[:-1], (b"iCCP", b""), (b"IEND", b"")])
PNG_SEEDS = sorted(name for name in SEED_IMAGES if name.startswith("png"))
# Chunks that change how pixels are read: header, palette, transparency, gamma, significant bits, EXIF, ICC.
EXTRA_CHUNKS = [b"tRNS", b"PLTE", b"gAMA", b"sBIT", b"eXIf", b"iCCP", b"pHYs", b"acTL", b"fcTL", b"IDAT", b"IEND"]


@st.composite
def mutated_pngs(draw: st.DrawFn) -> bytes:
    """A seed PNG with one to three chunks changed (bytes of their data), added, removed or repeated; the
    chunks stay well-formed, so the change reaches the decoder."""
    chunks = png_chunks(SEED_IMAGES[draw(st.sampled_from(PNG_SEEDS))])
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(chunks) - 1))
        operation = draw(st.sampled_from(["change", "change", "add", "remove", "repeat"]))
        if operation == "change":
            kind, data = chunks[at]
            chunks[at] = (kind, draw(byte_mutations(data, {"all": (0, len(data))})) if data
                          else draw(st.binary(max_size=16)))
        elif operation == "add":
            chunks.insert(at, (draw(st.sampled_from(EXTRA_CHUNKS)), draw(st.binary(max_size=32))))
        elif operation == "remove" and len(chunks) > 1:
            del chunks[at]
        else:
            chunks.insert(at, chunks[at])
    return png_bytes(chunks)


@fuzz_settings()
@given(content=mutated_pngs())
@example(content=PNG_EMPTY_ICC_PROFILE)
def test_a_png_with_changed_chunks_reads_or_is_refused(content, fuzz_dir):
    path = fuzz_dir / "chunks.png"
    path.write_bytes(content)
    read_or_refuse(path)


# ---------------------------------------------------------------- preprocess of any array

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32) | st.sampled_from(
    [0.0, 1.0, -0.0, 1e-45, 1e-38, 3e38, -3e38, 0.5, 0.05, 0.0500001])


@st.composite
def any_images(draw: st.DrawFn) -> np.ndarray:
    """2-D float arrays of any size from empty to a long thin line: random values (NaN, infinity, subnormal, huge
    included), a constant, or a few values on a constant background."""
    shape = draw(st.tuples(st.integers(0, 48), st.integers(0, 48)) | st.tuples(st.just(1), st.integers(1, 600))
                 | st.tuples(st.integers(1, 600), st.just(1)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    kind = draw(st.sampled_from(["random", "constant", "sparse"]))
    if kind == "random":
        return draw(hnp.arrays(dtype, shape, elements=FLOATS))
    image = np.full(shape, draw(FLOATS), dtype)
    if kind == "sparse" and image.size:
        for _ in range(draw(st.integers(1, 5))):
            image[draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))] = draw(FLOATS)
    return image


@fuzz_settings()
@given(image=any_images(), even=st.booleans())
def test_preprocess_of_any_2d_array_is_a_model_input_or_none(image, even):
    assert_model_input(preprocess(image, even_strokes=even))


@fuzz_settings(0.3)
@given(shape=st.lists(st.integers(0, 5), max_size=4).filter(lambda s: len(s) != 2))
def test_preprocess_of_an_array_that_is_not_2d_is_refused(shape):
    with pytest.raises(CnndeskError, match="2-D"):
        preprocess(np.ones(shape, np.float32))
