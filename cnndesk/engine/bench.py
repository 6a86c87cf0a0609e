"""The benchmark behind ``cnndesk bench``: every speed figure of the project comes from here.

Comparisons run side by side in one process (shared machines drift, so only ratios measured together mean
much). Rows are plain dicts: ``name, value, unit, goal, met, detail``.

The robustness rows measure recognition rather than speed: MNIST test digits drawn again as 280×280 drawings in
families that differ from MNIST the way people's drawings do (a marker, a thin pen, a small digit with a thick
brush, slanted, rotated), read through the app's preprocessing by each bundled model.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.data import TensorDataset as TorchTensorDataset

from cnndesk.locations import cnndesk_command

from .data import load_mnist
from .models import build_model
from .train import TrainConfig, fit

LENET5_TRAIN_FLOP = 2.26e6  # per sample, forward + backward (0.83 MFLOP forward)


def row(name: str, value: float | None, unit: str, goal: str, met: bool | None, **detail: Any) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "goal": goal, "met": met, "detail": detail}


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "os": platform.platform(terse=True),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def matmul_gflops(size: int = 1024, repeats: int = 5) -> float:
    """Practical fp32 peak of this CPU: the best of a few large matrix products."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def tutorial_loop_throughput(images: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """The tutorials' loop: a DataLoader over a TensorDataset, Adam, backward + step per batch."""
    torch.manual_seed(0)
    model = build_model("lenet5")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TorchTensorDataset(images.float() / 255.0, labels), batch_size=batch_size, shuffle=True)
    start = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return len(labels) / (time.perf_counter() - start)


def cnndesk_throughput(samples: int, device: str = "cpu", batch_size: int | None = 256) -> float:
    """cnndesk's trainer with LeNet5's recipe, training steps only (no evaluation). The batch size defaults to
    the tutorial loop's, for the side-by-side row; ``None`` keeps the recipe's (what the GUI trains with)."""
    config = TrainConfig.for_model("lenet5", epochs=1, batch_size=batch_size, device=device,
                                   train_samples=samples, test_samples=0)
    config.augment = False
    return fit(config, record_history=False).samples_per_second


def bench_throughput(quick: bool) -> list[dict[str, Any]]:
    splits = load_mnist()
    samples = 10240 if quick else 30720
    images, labels = splits.train.images[:samples], splits.train.labels[:samples]
    repeats = 1 if quick else 3
    ours, theirs = [], []
    for _ in range(repeats):  # interleaved, so that drift hits both alike
        theirs.append(tutorial_loop_throughput(images, labels))
        ours.append(cnndesk_throughput(samples))
    ours_rate, their_rate = statistics.median(ours), statistics.median(theirs)
    ratio = ours_rate / their_rate
    peak = matmul_gflops()
    achieved = ours_rate * LENET5_TRAIN_FLOP / 1e9
    return [
        row("train_throughput_cpu", round(ratio, 2), "× tutorial loop", "≥ 2.0×", ratio >= 2.0,
            cnndesk_samples_per_s=round(ours_rate), tutorial_samples_per_s=round(their_rate), samples=samples,
            repeats=repeats, threads=torch.get_num_threads()),
        row("train_fraction_of_peak", round(achieved / peak, 3), "of matmul peak", "report", None,
            achieved_gflops=round(achieved, 1), matmul_peak_gflops=round(peak, 1)),
    ]


def _time_command(args: list[str]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "command failed")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def bench_time_to_accuracy(repeats: int = 3) -> list[dict[str, Any]]:
    """The whole command, ``repeats`` times: the median, since one run on a shared host can be a third slower."""
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lenet5.safetensors"
        command = cnndesk_command("train", "--model", "lenet5", "--target-accuracy", "0.99", "--device", "cpu",
                                  "--out", str(out), "--json")
        for _ in range(repeats):
            runs.append(_time_command(command))
    seconds = statistics.median([s for s, _ in runs])
    result = runs[0][1]  # seeded: every run trains the same model
    reached = all(r["test_accuracy"] >= 0.99 for _, r in runs)
    return [row("time_to_99_cpu", round(seconds, 1), "s", "≤ 10 s, ≥ 99.0%", reached and seconds <= 10,
                test_accuracy=result["test_accuracy"], epochs=result["epochs_trained"],
                runs_s=[round(s, 1) for s, _ in runs],
                command="cnndesk train --model lenet5 --target-accuracy 0.99 --device cpu --out PATH")]


def bench_gpu_epoch() -> list[dict[str, Any]]:
    if not torch.cuda.is_available():
        return [row("lenet5_epoch_cuda", None, "s", "< 0.5 s", None, note="no CUDA GPU on this machine")]
    config = TrainConfig.for_model("lenet5", epochs=2, device="cuda")
    config.augment = False
    result = fit(config, record_history=False)
    seconds = result.history[-1].seconds  # the second epoch: warm-up excluded
    return [row("lenet5_epoch_cuda", round(seconds, 3), "s", "< 0.5 s", seconds < 0.5,
                gpu=torch.cuda.get_device_name(0), samples_per_s=round(result.history[-1].samples_per_second))]


def run_benchmarks(quick: bool = False, gui: Callable[[bool], list[dict[str, Any]]] | None = None,
                   progress: Callable[[str], None] = lambda _: None,
                   only_robustness: bool = False) -> dict[str, Any]:
    """Every row (``only_robustness``: the robustness rows alone, ``cnndesk bench --robustness``)."""
    rows: list[dict[str, Any]] = []
    if only_robustness:
        rows += bench_robustness(ROBUSTNESS_QUICK_SAMPLE if quick else ROBUSTNESS_SAMPLE, progress=progress)
        return {"machine": machine(), "quick": quick, "rows": rows}
    progress("training throughput: cnndesk vs the tutorial loop")
    rows += bench_throughput(quick)
    if quick:
        rows.append(row("time_to_99_cpu", None, "s", "≤ 10 s, ≥ 99.0%", None, note="skipped with --quick"))
    else:
        progress("time to 99% (a full `cnndesk train` command)")
        rows += bench_time_to_accuracy()
    progress("GPU epoch")
    rows += bench_gpu_epoch()
    rows += bench_robustness(ROBUSTNESS_QUICK_SAMPLE if quick else ROBUSTNESS_SAMPLE, progress=progress)
    if gui is not None:
        progress("the GUI: drawing feedback, stalls, throughput, start-up, memory")
        rows += gui(quick)
    return {"machine": machine(), "quick": quick, "rows": rows}


def format_table(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']['cpu']}, {report['machine']['cores']} cores, "
             f"torch {report['machine']['torch']}"]
    width = max(len(r["name"]) for r in report["rows"])
    for r in report["rows"]:
        value = "—" if r["value"] is None else f"{r['value']} {r['unit']}"
        verdict = {True: "met", False: "MISSED", None: ""}[r["met"]]
        detail = ", ".join(f"{k}={v}" for k, v in r["detail"].items())
        lines.append(f"{r['name']:<{width}}  {value:<28} goal {r['goal']:<18} {verdict:<7} {detail}")
    return "\n".join(lines)


# ---------------------------------------------------------------- robustness: drawings that are not MNIST

DRAWING_SIZE = 280  # the canvas's ink image, px
DEFAULT_BRUSH = 22.0  # the canvas's default brush, px (cnndesk.ui.canvas.DEFAULT_BRUSH; the engine cannot import it)
BUNDLED_MODELS = ("lenet5", "cnn3-bn", "mlp")
ROBUSTNESS_SAMPLE = 1000  # MNIST test digits per family: every 10th, so every digit class is there in its share
ROBUSTNESS_QUICK_SAMPLE = 250
FAMILY_GOAL = 0.98
LENET5_MNIST_GOAL = 0.993


@dataclass(frozen=True)
class DrawingFamily:
    """A way of drawing a digit on the 280×280 canvas that MNIST's own digits do not show."""

    name: str
    description: str
    size: float  # the longer side of the digit's centre line (its skeleton), px
    width: float  # the pen's width, px
    slant: float = 0.0  # degrees the digit leans (its top to the right for the 1st, 3rd, … digit, left for the others)
    rotation: float = 0.0  # degrees turned (anticlockwise for the 1st, 3rd, … digit, clockwise for the others)
    corner: bool = False  # drawn in the top-left corner instead of the middle


FAMILIES = (
    DrawingFamily("thick-marker", "a marker twice the default brush", 180, 2 * DEFAULT_BRUSH),
    DrawingFamily("thin-pen", "a 3 px pen", 180, 3),
    # 90 px: about a third of the canvas. Smaller still, a 22 px brush fills a loop's hole in the pixels, which only
    # the strokes' paths (the canvas's evening) bring back: an image of it cannot.
    DrawingFamily("small-thick", "a small digit in a corner, the default brush", 90, DEFAULT_BRUSH, corner=True),
    DrawingFamily("slanted", "slanted ±20°, the default brush", 180, DEFAULT_BRUSH, slant=20.0),
    DrawingFamily("rotated", "rotated ±20°, the default brush", 180, DEFAULT_BRUSH, rotation=20.0),
)
# The same digits re-drawn as they are, with the default brush: what the re-drawing itself costs (a blotted MNIST
# digit's skeleton is not what its writer drew), the ceiling the families are measured against; reported only.
REDRAWN = DrawingFamily("redrawn", "re-drawn as it is, the default brush", 180, DEFAULT_BRUSH)


def family(name: str) -> DrawingFamily:
    for candidate in FAMILIES:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def digit_centre_line(digit: np.ndarray) -> np.ndarray:
    """(K, 2) float (row, col) points along a 28×28 MNIST digit's strokes: the skeleton of the digit enlarged ×10
    to the canvas's size (bilinear, so its edges are smooth) — what a person's pen would have followed."""
    from skimage.morphology import skeletonize

    enlarged = F.interpolate(torch.as_tensor(np.asarray(digit, np.float32))[None, None], scale_factor=10,
                             mode="bilinear", align_corners=False)[0, 0].numpy()
    return np.argwhere(skeletonize(enlarged > 0.5 * float(enlarged.max()))).astype(np.float64)


def render_drawing(centre_line: np.ndarray, drawing: DrawingFamily, mirror: bool = False) -> np.ndarray:
    """The digit whose centre line is given, drawn as ``drawing`` says on a 280×280 canvas: float32 in [0, 1], ink
    high, anti-aliased round strokes. ``mirror`` slants or turns it the other way."""
    from scipy import ndimage

    points = centre_line - (centre_line.min(axis=0) + centre_line.max(axis=0)) / 2
    points = points * (drawing.size / max(float(np.ptp(points, axis=0).max()), 1.0))
    rows, cols = points[:, 0], points[:, 1]
    sign = -1.0 if mirror else 1.0
    cols = cols - np.tan(np.radians(sign * drawing.slant)) * rows  # rows grow downwards: the top moves right
    angle = np.radians(sign * drawing.rotation)
    cos, sin = np.cos(angle), np.sin(angle)
    cols, rows = cos * cols + sin * rows, cos * rows - sin * cols  # anticlockwise on the screen
    # In the middle, or with the ink's box a brush width from the top-left corner.
    reach = drawing.width / 2 + 2
    if drawing.corner:
        rows, cols = rows - rows.min() + reach, cols - cols.min() + reach
    else:
        rows, cols = rows + DRAWING_SIZE / 2, cols + DRAWING_SIZE / 2
    canvas = np.zeros((DRAWING_SIZE, DRAWING_SIZE), bool)
    canvas[np.clip(np.round(rows).astype(int), 0, DRAWING_SIZE - 1),
           np.clip(np.round(cols).astype(int), 0, DRAWING_SIZE - 1)] = True
    # A round pen: full ink within half its width of the line, its edge anti-aliased over one pixel.
    distance = ndimage.distance_transform_edt(~canvas)
    return np.clip(drawing.width / 2 + 0.5 - distance, 0.0, 1.0).astype(np.float32)


def robustness_sample(size: int) -> np.ndarray:
    """The MNIST test images the robustness rows use: ``size`` of them, evenly spread over the test set."""
    return np.linspace(0, 9999, size).round().astype(np.int64)


def drawn_inputs(digits: np.ndarray, drawing: DrawingFamily,
                 centre_lines: list[np.ndarray] | None = None) -> np.ndarray:
    """(N, 1, 28, 28) float32: each 28×28 digit drawn as ``drawing`` says, every other one mirrored, then read
    as the app reads an image (strokes evened, cropped, scaled, centred)."""
    from .preprocess import preprocess

    lines = centre_lines if centre_lines is not None else [digit_centre_line(d) for d in digits]
    inputs = np.zeros((len(lines), 1, 28, 28), np.float32)
    for index, line in enumerate(lines):
        prepared = preprocess(render_drawing(line, drawing, mirror=index % 2 == 1), even_strokes=True)
        if prepared is not None:
            inputs[index, 0] = prepared.centred
    return inputs


def _percent(fraction: float) -> float:
    return round(100 * fraction, 2)


def bench_robustness(sample: int = ROBUSTNESS_SAMPLE, models: tuple[str, ...] = BUNDLED_MODELS,
                     mnist_samples: int | None = None,
                     progress: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Per bundled model: MNIST test accuracy, accuracy on each drawing family (``sample`` digits each), their
    mean (what ranks models for drawings), and accuracy on the user's own digits (reported, no goal)."""
    from cnndesk.locations import my_digits_dir, pretrained_path

    from .checkpoint import load_model
    from .data import load_splits
    from .digits import DigitFolder, accuracy_on
    from .inspect import predict_probabilities
    from .train import evaluate

    test = load_splits("mnist").test
    chosen = robustness_sample(sample)
    digits = test.images[torch.from_numpy(chosen), 0].numpy().astype(np.float32) / 255.0
    labels = test.labels[torch.from_numpy(chosen)].numpy()
    test = test.subset(mnist_samples)  # None: all 10,000
    progress(f"robustness: drawing {sample} MNIST test digits in {len(FAMILIES)} families")
    lines = [digit_centre_line(d) for d in digits]
    inputs = {drawing.name: torch.from_numpy(drawn_inputs(digits, drawing, lines))
              for drawing in (*FAMILIES, REDRAWN)}
    my_images, my_labels, *_ = DigitFolder(my_digits_dir()).inputs()
    rows: list[dict[str, Any]] = []
    for name in models:
        path = pretrained_path(name)
        if not path.exists():
            rows.append(row(f"robust_{name}", None, "%", "report", None, note=f"no bundled {name} weights"))
            continue
        progress(f"robustness: {name}")
        model, _ = load_model(path)
        model.eval()
        accuracy = evaluate(model, test).accuracy
        goal_met = accuracy >= LENET5_MNIST_GOAL if name == "lenet5" else None
        rows.append(row(f"mnist_{name}", _percent(accuracy), "%", "≥ 99.3%" if name == "lenet5" else "report",
                        goal_met, images=len(test)))
        family_accuracies = []
        for drawing in FAMILIES:
            predicted = predict_probabilities(model, inputs[drawing.name]).argmax(1).numpy()
            fraction = float((predicted == labels).mean())
            family_accuracies.append(fraction)
            rows.append(row(f"robust_{name}_{drawing.name}", _percent(fraction), "%", f"≥ {FAMILY_GOAL:.0%}",
                            fraction >= FAMILY_GOAL, digits=sample, mistakes=int((predicted != labels).sum()),
                            drawing=drawing.description))
        mean = float(np.mean(family_accuracies))
        rows.append(row(f"robust_{name}_mean", _percent(mean), "%", "report (ranks models for drawings)", None,
                        families=len(FAMILIES)))
        redrawn = float((predict_probabilities(model, inputs[REDRAWN.name]).argmax(1).numpy() == labels).mean())
        rows.append(row(f"robust_{name}_{REDRAWN.name}", _percent(redrawn), "%", "report (the families' ceiling)",
                        None, digits=sample, drawing=REDRAWN.description))
        if len(my_labels):
            mine, _ = accuracy_on(model, my_images, my_labels)
            rows.append(row(f"my_digits_{name}", _percent(mine), "%", "report", None, digits=len(my_labels)))
        else:
            rows.append(row(f"my_digits_{name}", None, "%", "report", None, note="none kept"))
    return rows
