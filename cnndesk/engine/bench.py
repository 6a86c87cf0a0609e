"""The benchmark behind ``cnndesk bench``: every speed figure of the project comes from here.

Comparisons run side by side in one process (shared machines drift, so only ratios measured together mean
much). Rows are plain dicts: ``name, value, unit, goal, met, detail``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch.utils.data import TensorDataset as TorchTensorDataset

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
    return fit(config).samples_per_second


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
        command = [sys.executable, "-m", "cnndesk", "train", "--model", "lenet5", "--target-accuracy", "0.99",
                   "--device", "cpu", "--out", str(out), "--json"]
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
    result = fit(config)
    seconds = result.history[-1].seconds  # the second epoch: warm-up excluded
    return [row("lenet5_epoch_cuda", round(seconds, 3), "s", "< 0.5 s", seconds < 0.5,
                gpu=torch.cuda.get_device_name(0), samples_per_s=round(result.history[-1].samples_per_second))]


def run_benchmarks(quick: bool = False, gui: Callable[[bool], list[dict[str, Any]]] | None = None,
                   progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    progress("training throughput: cnndesk vs the tutorial loop")
    rows += bench_throughput(quick)
    if quick:
        rows.append(row("time_to_99_cpu", None, "s", "≤ 10 s, ≥ 99.0%", None, note="skipped with --quick"))
    else:
        progress("time to 99% (a full `cnndesk train` command)")
        rows += bench_time_to_accuracy()
    progress("GPU epoch")
    rows += bench_gpu_epoch()
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
