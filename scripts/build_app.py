"""Build the packaged app (a PyInstaller one-folder build, ``dist/cnndesk/``) and check the built binary.

    python -m pip install -e ".[package]"
    python scripts/build_app.py                 # build, then check; exit status 1 if a check fails
    python scripts/build_app.py --check-only    # check the build already in dist/cnndesk/

The checks run the built executable itself, as a user's machine would, with an empty data folder
(CNNDESK_DATA_DIR) and settings file (CNNDESK_SETTINGS) and Qt's offscreen platform:

- ``cnndesk predict digit.png --json``: MNIST test image 0 (a 7), written as a PNG, is read back (Pillow, the
  stroke-width steps with SciPy and scikit-image) and predicted by the bundled LeNet5 — start-up time until the
  prediction line;
- ``cnndesk eval --json``: the bundled LeNet5 on the bundled MNIST test set (all 10,000: eval has no slice
  option), accuracy above 98%;
- ``cnndesk export --format onnx --json``: the bundled LeNet5 exported to ONNX (torch.onnx, onnxscript) and run on
  the MNIST test set by onnxruntime, the same predictions as PyTorch's;
- ``cnndesk gui --self-test``: the real window opens, a stroke is drawn and predicted, a cell explained, a short run
  trained (``--train-samples``); it exits non-zero when one of its checks fails.

Then a summary: the size of dist/cnndesk (and how much of it is CUDA libraries, i.e. what a CPU-only PyTorch would
save), each check's time, pass or fail. The spec is packaging/cnndesk.spec.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "cnndesk.spec"
RESOURCES = ROOT / "resources"
APP_NAME = "cnndesk"
ICON_PNG = RESOURCES / "cnndesk.png"
ICON_SIZES = [16, 24, 32, 48, 64, 128, 256]
MIN_EVAL_ACCURACY = 0.98  # the bundled LeNet5 scores ~99% on MNIST's test set: far below means a broken bundle

# Files of a CUDA build of PyTorch that a CPU-only build does not have: the nvidia-* wheels' libraries (and the
# cuda-bindings package) at the bundle's top level on Linux, PyTorch's own CUDA libraries (libtorch_cuda.so,
# c10_cuda.dll, cudnn64_9.dll, ...) in torch/lib. Their size estimates the CPU-only bundle.
CUDA_TOP_FOLDERS = ("nvidia", "cuda")
CUDA_LIBRARY_MARKERS = ("cuda", "cudnn", "cublas", "cufft", "curand", "cusolver", "cusparse", "nccl", "nvrtc",
                        "nvjitlink", "cupti", "nvshmem", "cufile", "nvtoolsext", "nvjpeg")


def is_cuda_library(relative: Path) -> bool:
    """Whether a file of the bundle (its path below the app folder) belongs to CUDA."""
    parts = relative.parts[1:] if relative.parts[:1] == ("_internal",) else relative.parts
    if parts and parts[0] in CUDA_TOP_FOLDERS:
        return True
    name = relative.name.lower()
    is_library = ".so" in name or name.endswith((".dll", ".dylib"))
    return is_library and any(marker in name for marker in CUDA_LIBRARY_MARKERS)


@dataclass
class Check:
    name: str
    passed: bool
    seconds: float
    detail: str = ""
    figures: dict[str, float] = field(default_factory=dict)


def executable(dist: Path) -> Path:
    return dist / APP_NAME / (APP_NAME + (".exe" if sys.platform == "win32" else ""))


# -- the icon ---------------------------------------------------------------------------------------------------
def _mnist_test_images(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first ``count`` MNIST test images (uint8, count×28×28) and labels, read from the bundled IDX files
    with NumPy alone (no PyTorch needed to build)."""
    with gzip.open(RESOURCES / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(16 + count * 784), np.uint8, offset=16).reshape(count, 28, 28)
    with gzip.open(RESOURCES / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(8 + count), np.uint8, offset=8)
    return images, labels


def make_icons(folder: Path = RESOURCES) -> list[Path]:
    """cnndesk.png (256×256), .ico (Windows) and .icns (macOS): a 3×3 grid of MNIST test digits 1–9, white ink
    on dark tiles, like the window's feature maps."""
    images, labels = _mnist_test_images(200)
    digits = [images[int(np.flatnonzero(labels == d)[0])] for d in range(1, 10)]
    size, margin, gap = 256, 14, 6
    tile = (size - 2 * margin - 2 * gap) // 3
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(icon)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=40, fill=(33, 52, 92, 255))
    for i, digit in enumerate(digits):
        row, col = divmod(i, 3)
        x, y = margin + col * (tile + gap), margin + row * (tile + gap)
        ink = Image.fromarray(digit).resize((tile, tile), Image.Resampling.LANCZOS)
        cell = Image.new("RGBA", (tile, tile), (12, 18, 32, 255))
        cell.paste(Image.new("RGBA", (tile, tile), (255, 214, 102, 255)), mask=ink)
        icon.paste(cell, (x, y))
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "cnndesk.png", folder / "cnndesk.ico", folder / "cnndesk.icns"]
    icon.save(written[0])
    icon.save(written[1], sizes=[(s, s) for s in ICON_SIZES])
    try:
        icon.save(written[2])
    except (OSError, ValueError, KeyError) as exc:  # a Pillow without ICNS writing: macOS builds go without
        print(f"build_app: no .icns written ({exc})", file=sys.stderr)
        written.pop()
    return written


# -- building ---------------------------------------------------------------------------------------------------
def build(dist: Path, work: Path, clean: bool) -> None:
    if not ICON_PNG.exists():
        make_icons()
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        sys.exit('build_app: PyInstaller is not installed: python -m pip install -e ".[package]"')
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--distpath", str(dist), "--workpath", str(work)]
    if clean:
        command.append("--clean")
    subprocess.run([*command, str(SPEC)], cwd=ROOT, check=True)


def folder_size(folder: Path) -> tuple[int, int]:
    """Bytes of the files under ``folder`` (links not followed, so nothing counts twice), and how many of those
    are CUDA libraries."""
    total = cuda = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            size = path.stat().st_size
            total += size
            if is_cuda_library(path.relative_to(folder)):
                cuda += size
    return total, cuda


# -- checking the built binary ----------------------------------------------------------------------------------
def _clean_environment(scratch: Path) -> dict[str, str]:
    """The environment of a first launch: no data folder, no settings, no display (offscreen)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CNNDESK_", "PYTHON"))}
    env.update(CNNDESK_DATA_DIR=str(scratch / "data"), CNNDESK_SETTINGS=str(scratch / "settings.ini"),
               QT_QPA_PLATFORM="offscreen")
    return env


def _run(command: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str, float, float]:
    """Run ``command``; its exit status (124 if killed at ``timeout``), stdout, stderr, the seconds until its first
    stdout line and in all. Both pipes are read by threads as the output comes (a full stderr pipe would block the
    child), and the first line is timed as it arrives: the start-up figure."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stdout_lines: list[str] = []
    first_line_at: list[float] = []
    stderr_text: list[str] = []

    def read_stdout() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if not first_line_at:
                first_line_at.append(time.perf_counter() - start)
            stdout_lines.append(line)

    def read_stderr() -> None:
        assert process.stderr is not None
        stderr_text.append(process.stderr.read())

    readers = [threading.Thread(target=read_stdout), threading.Thread(target=read_stderr)]
    for reader in readers:
        reader.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        code = 124
        stderr_text.append(f"timed out after {timeout:g} s")
    total_s = time.perf_counter() - start
    for reader in readers:
        reader.join()
    first_line_s = first_line_at[0] if first_line_at else float("nan")
    return code, "".join(stdout_lines), "".join(stderr_text), first_line_s, total_s


def _last_json(stdout: str) -> dict:
    lines = stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


def _failure(code: int, stdout: str, stderr: str) -> str:
    """The exit status and the last line that says what went wrong (not the bootloader's "Failed to execute")."""
    lines = [line for line in (stderr.strip().splitlines() or stdout.strip().splitlines()) if line.strip()
             and not line.startswith("[PYI-")]
    tail = lines[-1] if lines else "no output"
    return f"exit status {code}: {tail}"


def check_predict(binary: Path, env: dict[str, str], scratch: Path) -> Check:
    images, labels = _mnist_test_images(1)
    picture = scratch / "test-0.png"
    Image.fromarray(255 - images[0]).save(picture)  # dark ink on white paper, as a scan would be
    code, out, err, first_s, total_s = _run([str(binary), "predict", str(picture), "--json"], env, timeout=300)
    if code != 0:
        return Check("predict", False, total_s, _failure(code, out, err))
    prediction = _last_json(out)["predictions"][0]
    passed = prediction.get("label") == int(labels[0])
    detail = f"MNIST test image 0 (a {labels[0]}) predicted as {prediction.get('label')}"
    return Check("predict", passed, total_s, detail, {"first_line_s": first_s})


def check_eval(binary: Path, env: dict[str, str]) -> Check:
    code, out, err, _, total_s = _run([str(binary), "eval", "--json"], env, timeout=900)
    if code != 0:
        return Check("eval", False, total_s, _failure(code, out, err))
    report = _last_json(out)
    accuracy = report["test_accuracy"]
    return Check("eval", accuracy >= MIN_EVAL_ACCURACY, total_s,
                 f"bundled LeNet5: {accuracy:.2%} on {report['test_images']:,} MNIST test images",
                 {"test_accuracy": accuracy})


def check_export(binary: Path, env: dict[str, str], scratch: Path) -> Check:
    out_path = scratch / "lenet5.onnx"
    code, out, err, _, total_s = _run([str(binary), "export", "--format", "onnx", "--out", str(out_path), "--json"],
                                      env, timeout=900)
    if code != 0:
        return Check("export onnx", False, total_s, _failure(code, out, err))
    report = _last_json(out)
    unexpected = [line for line in err.strip().splitlines() if line.strip()]
    detail = (f"{report['same_predictions']:,} of {report['images']:,} test images predicted alike by "
              f"{report['runtime']}")
    if unexpected:  # a warning printed by the bundle (e.g. about a library it left out) is a failure too
        detail += f"; stderr: {unexpected[-1]}"
    return Check("export onnx", bool(report.get("passed")) and not unexpected, total_s, detail)


def check_self_test(binary: Path, env: dict[str, str], train_samples: int) -> Check:
    env = {**env, "CNNDESK_LAUNCH_TIME": repr(time.time())}
    command = [str(binary), "gui", "--self-test", "--train-samples", str(train_samples)]
    code, out, err, _, total_s = _run(command, env, timeout=1800)
    try:
        report = _last_json(out)
    except json.JSONDecodeError:
        report = {}
    if code != 0 or not report.get("ok"):
        detail = report.get("failure") or _failure(code, out, err)
        return Check("gui --self-test", False, total_s, detail)
    figures = {key: report[key] for key in ("visible_s", "ready_s", "draw_idle_p95_ms", "peak_rss_mb")}
    return Check("gui --self-test", True, total_s,
                 f"window shown in {report['visible_s']:.2f} s, ready to predict in {report['ready_s']:.2f} s, "
                 f"drawing p95 {report['draw_idle_p95_ms']:.1f} ms, trained {train_samples} images", figures)


def check(dist: Path, train_samples: int) -> list[Check]:
    binary = executable(dist)
    if not binary.exists():
        return [Check("build", False, 0.0, f"{binary} does not exist: build first")]
    scratch = Path(tempfile.mkdtemp(prefix="cnndesk-app-check-"))
    try:
        env = _clean_environment(scratch)
        checks = [check_predict(binary, env, scratch), check_eval(binary, env), check_export(binary, env, scratch)]
        checks.append(check_self_test(binary, env, train_samples))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return checks


def summary(dist: Path, checks: list[Check], build_s: float | None) -> dict:
    total, cuda = folder_size(dist / APP_NAME) if (dist / APP_NAME).exists() else (0, 0)
    return {
        "size_mb": round(total / 2**20, 1),
        "cuda_libraries_mb": round(cuda / 2**20, 1),
        "without_cuda_mb": round((total - cuda) / 2**20, 1),
        "build_s": None if build_s is None else round(build_s, 1),
        "passed": all(c.passed for c in checks),
        "checks": [{"name": c.name, "passed": c.passed, "seconds": round(c.seconds, 2), "detail": c.detail,
                    **{k: round(v, 3) for k, v in c.figures.items()}} for c in checks],
    }


def print_summary(result: dict, dist: Path) -> None:
    print(f"\n{dist / APP_NAME}: {result['size_mb']:,.0f} MB, of which CUDA libraries "
          f"{result['cuda_libraries_mb']:,.0f} MB (a CPU-only PyTorch bundle would be about "
          f"{result['without_cuda_mb']:,.0f} MB)")
    if result["build_s"] is not None:
        print(f"built in {result['build_s']:.0f} s")
    for c in result["checks"]:
        startup = f", first line after {c['first_line_s']:.2f} s" if "first_line_s" in c else ""
        print(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']:<16} {c['seconds']:7.2f} s{startup}  {c['detail']}")
    print("PASS" if result["passed"] else "FAIL")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Build cnndesk's one-folder app (dist/cnndesk/) with PyInstaller and check the built binary: "
                    "predict, eval and gui --self-test, with a clean data folder and settings. Exit status 1 if a "
                    "check fails.")
    parser.add_argument("--check-only", action="store_true", help="do not build: check the existing dist/cnndesk")
    parser.add_argument("--clean", action="store_true", help="PyInstaller --clean: rebuild its caches")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="where the app goes (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (build/)")
    parser.add_argument("--train-samples", type=int, default=2048,
                        help="training images for the self-test's run (default: 2048)")
    parser.add_argument("--icons", action="store_true", help="only (re)make resources/cnndesk.png, .ico, .icns")
    parser.add_argument("--json", action="store_true", help="also print the summary as one JSON line, last")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.icons:
        for path in make_icons():
            print(path)
        return 0
    build_s = None
    if not args.check_only:
        start = time.perf_counter()
        build(args.dist, args.work, args.clean)
        build_s = time.perf_counter() - start
    result = summary(args.dist, check(args.dist, args.train_samples), build_s)
    print_summary(result, args.dist)
    if args.json:
        print(json.dumps(result))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
