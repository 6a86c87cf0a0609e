"""Command-line front door. ``cnndesk`` alone opens the GUI; everything else runs on the engine, without Qt."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from cnndesk import __version__
from cnndesk.locations import STARTING_MODEL, cnndesk_command


def _progress_printer(stream: TextIO, epochs: int, prefix: str = ""):
    """A TrainingCallback drawing a tqdm progress bar per epoch (a terminal) and one line per epoch (always)."""
    from tqdm import tqdm

    from cnndesk.engine import TrainingCallback
    from cnndesk.session.smoothing import LossSmoother
    from cnndesk.session.text import format_eta

    class ProgressPrinter(TrainingCallback):
        def __init__(self) -> None:
            self.interactive = stream.isatty()
            self.bar: tqdm | None = None
            self.smoother = LossSmoother()  # the window's smoothing, so both show the same figure
            self.smoothed = float("nan")

        def on_fit_start(self, info) -> None:
            stream.write(
                f"{prefix}Training {info.config.model} ({info.params:,} parameters) on {info.device} — "
                f"{info.train_samples:,} training and {info.test_samples:,} test images, "
                f"{epochs} epoch(s) of {info.batches_per_epoch} batches\n"
            )
            stream.flush()

        def on_batches(self, batches) -> None:
            self.smoothed = float(self.smoother([b.loss for b in batches])[-1])
            if not self.interactive:
                return
            last = batches[-1]
            if self.bar is None:
                self.bar = tqdm(total=last.batches_per_epoch, file=stream, leave=False, dynamic_ncols=True,
                                desc=f"epoch {last.epoch}/{epochs}", bar_format="{desc} {bar} {n_fmt}/{total_fmt} "
                                "{postfix}", mininterval=0.1)
            self.bar.n = last.batch
            self.bar.set_postfix_str(f"loss {self.smoothed:.4f} · {last.samples_per_second:,.0f} samples/s · "
                                     f"ETA {format_eta(last.eta)}", refresh=False)
            self.bar.refresh()

        def _close_bar(self) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

        def on_epoch_end(self, m) -> None:
            self._close_bar()
            stream.write(
                f"epoch {m.epoch}/{epochs}  loss {m.train_loss:.4f}  train {m.train_accuracy:.2%}  "
                f"test {m.test_accuracy:.2%}  {m.seconds:.1f} s  {m.samples_per_second:,.0f} samples/s\n"
            )
            stream.flush()

        def on_fit_end(self, result) -> None:
            self._close_bar()

    return ProgressPrinter()


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _emit_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(_finite(payload), allow_nan=False) + "\n")
    sys.stdout.flush()


# The datasets (engine.data), spelled out here: importing the engine loads PyTorch.
DATASET_HELP = ("mnist (bundled); fashion-mnist, kmnist or emnist-digits (downloaded); folder:PATH, a folder of digit "
                "images PATH/0/*.png … PATH/9/*.png (with PATH/train/ and PATH/test/ laid out so, or a fifth held "
                "out for testing); A+folder:PATH adds the folder's images to A's training images, e.g. "
                "mnist+folder:PATH fine-tunes on your own digits")


# The model builder options (engine.models.OPTIONS), spelled out here: importing the engine loads PyTorch.
MODEL_OPTIONS = ("activation", "pooling", "batchnorm", "dropout", "width", "init")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model options", "left out: the model's own default; a model that does not "
                                      "take an option says so")
    group.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "leakyrelu"],
                       help="the activation after each hidden layer")
    group.add_argument("--pooling", choices=["max", "avg"], help="max or average pooling")
    group.add_argument("--batchnorm", action=argparse.BooleanOptionalAction,
                       help="BatchNorm between each hidden conv/fc layer and its activation")
    group.add_argument("--dropout", type=float, metavar="P", help="dropout in front of the last fc layer, 0 ≤ P < 1")
    group.add_argument("--width", type=float, metavar="W",
                       help="width multiplier on channels and hidden units (e.g. 0.5, 2)")
    group.add_argument("--init", choices=["default", "xavier", "kaiming"], help="weight initialisation")


def _model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Only the options given on the command line: the others take the model's defaults."""
    return {name: getattr(args, name) for name in MODEL_OPTIONS if getattr(args, name, None) is not None}


def _new_train_config(args: argparse.Namespace):
    """A TrainConfig from the command line: the model's recipe (with --init-from, the fine-tuning recipe for the
    checkpoint's architecture), overridden by the options given."""
    from cnndesk.engine import TrainConfig, load_model, require_weights
    from cnndesk.engine.data import canonical_dataset
    from cnndesk.engine.digits import fine_tune_config

    overrides = dict(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        schedule=args.schedule,
        device=args.device,
        seed=args.seed,
        dataset=canonical_dataset(args.dataset),  # a folder's absolute path: the checkpoint says what it was
        train_samples=args.train_samples,
        target_accuracy=args.target_accuracy,
        weight_decay=args.weight_decay,
    )
    if args.init_from:
        # The checkpoint's architecture unless --model names another (then fit says that they differ).
        start, _ = load_model(args.init_from)
        require_weights(start, "trained further (train a new model instead)")
        name = args.model or start.name
        options = {**(start.config["options"] if name == start.name else {}), **_model_options(args)}
        config = fine_tune_config({"name": name, "options": options}, **overrides)
    else:
        config = TrainConfig.for_model(args.model or "lenet5", **overrides)
        config.model_options = _model_options(args)
    if args.no_augment:
        config.augment = False
    return config


@contextlib.contextmanager
def _stop_on_interrupt(controller):
    """The first Ctrl+C stops the run after its batch (and what it saved stays); a second one aborts."""

    def on_interrupt(signum, frame):
        sys.stderr.write("\nStopping after this batch (Ctrl+C again to abort)…\n")
        controller.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """IMAGE or --test-index N: the one input that `inspect` and `explain` look at."""
    parser.add_argument("image", nargs="?", help="an image file (dark-on-light or light-on-dark)")
    parser.add_argument("--test-index", type=int, metavar="N",
                        help="MNIST test image N instead of a file (0 is a 7, 1 is a 2)")


def _input_image(args: argparse.Namespace):
    """The 28×28 model input (float32 in [0, 1], ink high) that IMAGE or --test-index names."""
    from cnndesk.engine import CnndeskError, load_image, load_splits, preprocess

    if (args.image is None) == (args.test_index is None):
        raise CnndeskError("Give an image file or --test-index N (not both).")
    if args.test_index is not None:
        test = load_splits("mnist").test
        if not 0 <= args.test_index < len(test):
            raise CnndeskError(f"--test-index is a test image number from 0 to {len(test) - 1}, "
                               f"not {args.test_index}.")
        return test.images[args.test_index, 0].float().div(255.0).numpy()
    prepared = preprocess(load_image(args.image), even_strokes=True)  # a file has no stroke paths: even its strokes
    if prepared is None:
        raise CnndeskError(f"{args.image}: no digit found (the image is blank).")
    return prepared.centred


def _add_snapshot_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--snapshot", type=int, metavar="K", help="the model as it was at snapshot K of its "
                        "training history (see `cnndesk history`; 0: before training, -1: the last)")
    # (here, so that every command that reads --checkpoint takes it)
    parser.add_argument("--input", choices=("unit", "mnist-normalized"),
                        help="for a --checkpoint from elsewhere (.pth, .pt, .onnx): the pixels its model was trained "
                        "on, unit ([0, 1], as ToTensor gives) or mnist-normalized ((x - 0.1307) / 0.3081); default "
                        "unit, and a hint says if the other reads MNIST better")


def _matched(meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON entry that says which architecture a model from elsewhere was matched to (none for cnndesk's)."""
    return {"matched": meta["foreign"]} if "foreign" in meta else {}


def _checkpoint_path(checkpoint: str | None) -> Path:
    from cnndesk.locations import pretrained_path

    return Path(checkpoint) if checkpoint else pretrained_path("lenet5")


def _training_history(checkpoint: str | None):
    """The training history of --checkpoint's model (default: the bundled LeNet5); CnndeskError if it has none."""
    from cnndesk.engine import CnndeskError, load_history

    path = _checkpoint_path(checkpoint)
    history = load_history(path)
    if history is None:
        which = str(path) if checkpoint else f"The bundled LeNet5 ({path.name})"
        raise CnndeskError(f"{which} has no training history (weight snapshots): only models trained by "
                           "`cnndesk train` or in the window keep one.")
    return history


def _at_snapshot(args: argparse.Namespace, loaded: tuple[Any, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """``(model, meta)`` as loaded, or with --snapshot K, the model as it was at snapshot K of its history."""
    from cnndesk.engine import CnndeskError

    if "foreign" in loaded[1]:  # what the file was taken for, said once, beside any JSON on stdout
        from cnndesk.engine import describe_match

        report = loaded[1]["foreign"]
        hint = report["better_input"] not in (None, report["input"])
        sys.stderr.write(describe_match(report) + (f" (hint: --input {report['better_input']} reads MNIST "
                                                   "better)" if hint else "") + "\n")
    if args.snapshot is None:
        return loaded
    history = _training_history(args.checkpoint)
    count = len(history)
    if not -count <= args.snapshot < count:
        raise CnndeskError(f"--snapshot is a snapshot number from 0 to {count - 1} (or -1 to -{count} from the "
                           f"end), not {args.snapshot}: this history keeps {count}.")
    return history.model_at(args.snapshot), loaded[1]


def _load_dataset(spec: str):
    """The splits a command trains or tests on, read once; a folder's files that could not be read: one warning."""
    from cnndesk.engine import load_splits

    return _load_dataset_splits(load_splits(spec))


def _load_dataset_splits(splits):
    if splits.unreadable:
        sys.stderr.write(f"cnndesk: warning: {len(splits.unreadable)} file(s) could not be read and were skipped; "
                         f"the first: {splits.unreadable[0]}\n")
    return splits


def cmd_train(args: argparse.Namespace) -> int:
    from cnndesk.engine import CnndeskError
    from cnndesk.session.runs import DIVERGED, NOTHING_SAVED, RunController, new_run, resume_run
    from cnndesk.session.text import outcome_text

    if args.resume:
        if args.init_from:
            raise CnndeskError("A run either resumes a checkpoint (--resume) or starts from one's weights "
                               "(--init-from), not both.")
        # A resumed run keeps its own settings; only the device may change. It goes on saving into its file.
        plan = resume_run(args.resume, device=None if args.device == "auto" else args.device)
        if args.out:
            plan = replace(plan, out=Path(args.out))
    else:
        plan = new_run(_new_train_config(args), out=args.out, init_from=args.init_from)
    controller = RunController()
    if plan.out is None and plan.resume is None:
        controller.checkpoints_folder()  # a data folder that cannot hold the run: its one error, before any reading
    splits = _load_dataset(plan.config.dataset)
    # The checkpoint is written after every epoch: a crash loses one epoch at most (--resume continues).
    with _stop_on_interrupt(controller):
        outcome = controller.run(plan, callbacks=[_progress_printer(sys.stderr, plan.config.epochs)], splits=splits)
    result = outcome.result
    hint = f"`cnndesk train --resume {outcome.checkpoint}` continues it." if outcome.checkpoint else None
    message = outcome_text(outcome, full_path=True, resume_hint=hint)
    sys.stderr.write(f"cnndesk: error: {message}\n" if outcome.status == DIVERGED else f"{message}\n")
    if args.json:
        _emit_json({
            "model": plan.config.model,
            "status": outcome.status,
            "epochs": outcome.epochs,
            "epochs_trained": round(result.epochs_trained, 4) if result else 0.0,
            "test_accuracy": outcome.test_accuracy,
            "train_seconds": result.train_seconds if result else 0.0,
            "samples_per_second": result.samples_per_second if result else 0.0,
            "checkpoint": str(outcome.checkpoint) if outcome.checkpoint else None,
        })
    if outcome.status == DIVERGED:
        return 2
    return 130 if outcome.status == NOTHING_SAVED else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from cnndesk.engine import CnndeskError, evaluate, load_model
    from cnndesk.engine.data import FOLDER, base_dataset, canonical_dataset, dataset_parts, load_folder
    from cnndesk.engine.digits import has_train_test_layout

    model, meta = _at_snapshot(args, load_model(args.checkpoint, input=args.input))
    # Default: the test set the checkpoint's run was tested on (MNIST's for a run fine-tuned on mnist+folder:…).
    dataset = canonical_dataset(args.dataset or base_dataset(meta.get("training", {}).get("dataset") or "mnist"))
    parts = dataset_parts(dataset)
    if args.dataset and len(parts) == 1 and parts[0].startswith(FOLDER) \
            and not has_train_test_layout(parts[0][len(FOLDER):]):
        # A folder named to test on, that does not say which images are for testing (your exported digits, a
        # scan): all of them. (A run trained on it is tested by default on what it held out, as during the run.)
        test = _load_dataset_splits(load_folder(parts[0][len(FOLDER):], hold_out=False)).train
    else:
        test = _load_dataset(dataset).test
    if not len(test):
        raise CnndeskError(f"{dataset} has no test images (a folder without train/ and test/ folders holds out "
                           "about a fifth of its images: give it more).")
    result = evaluate(model, test, per_sample=args.json)
    if args.json:
        wrong = result.samples.misclassified()
        for item in wrong if test.paths else ():
            item["path"] = test.paths[item["index"]]
        _emit_json({
            "dataset": dataset,
            "test_images": len(test),
            "test_accuracy": result.accuracy,
            "per_class_accuracy": result.per_class_accuracy,
            "confusion_matrix": result.confusion_matrix,
            "misclassified": wrong,
            **_matched(meta),
        })
        return 0
    print(f"{meta['model']['name']}: test accuracy {result.accuracy:.2%} on {dataset} ({len(test):,} test images)")
    counts = [sum(row) for row in result.confusion_matrix]  # a digit without test images has no accuracy
    print("per class: " + "  ".join(f"{d}: {a:.1%}" if counts[d] else f"{d}: –"
                                    for d, a in enumerate(result.per_class_accuracy)))
    print("confusion matrix (rows: true digit, columns: predicted)")
    print("     " + "".join(f"{d:>6}" for d in range(10)))
    for d, row in enumerate(result.confusion_matrix):
        print(f"{d:>5}" + "".join(f"{v:>6}" for v in row))
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """A checkpoint's training history: one row per weight snapshot (the replay's timeline)."""
    history = _training_history(args.checkpoint)
    rows = history.summary()
    name = history.model_config["name"]
    if args.json:
        _emit_json({"checkpoint": str(_checkpoint_path(args.checkpoint)), "model": name,
                    "test_images": history.test_images, "snapshots": rows})
        return 0
    measured = f"test accuracy on the first {history.test_images:,} test images" if history.test_images else \
        "no test images"
    print(f"{name}: {len(rows)} snapshots, {measured}")
    print(f"{'index':>5} {'step':>8} {'epoch':>7} {'test':>8}")
    for row in rows:
        accuracy = "—" if row["test_accuracy"] is None else f"{row['test_accuracy']:.2%}"
        print(f"{row['index']:>5} {row['step']:>8,} {row['epoch']:>7.2f} {accuracy:>8}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    import torch

    from cnndesk.engine import CnndeskError, load_image, load_model, predict_probabilities, preprocess

    model, meta = _at_snapshot(args, load_model(args.checkpoint, input=args.input))
    inputs, readable, predictions = [], [], []
    failed = 0
    for path in args.images:  # a file that cannot be read is reported; the others are still predicted
        try:
            prepared = preprocess(load_image(path), even_strokes=True)
            if prepared is None:
                raise CnndeskError(f"{path}: no digit found (the image is blank).")
        except CnndeskError as exc:
            failed += 1
            sys.stderr.write(f"cnndesk: error: {exc}\n")
            predictions.append({"path": str(path), "error": str(exc)})
            continue
        inputs.append(prepared.tensor())
        readable.append((len(predictions), path))
        predictions.append({})
    probabilities = predict_probabilities(model, torch.cat(inputs)).tolist() if inputs else []
    for (index, path), probs in zip(readable, probabilities, strict=True):
        if not all(map(math.isfinite, probs)):  # finite weights can overflow: no label beats a made-up one
            failed += 1
            message = f"{path}: the model's output is not a number (its weights overflow on this image)."
            sys.stderr.write(f"cnndesk: error: {message}\n")
            predictions[index] = {"path": str(path), "error": message}
            continue
        label = max(range(10), key=probs.__getitem__)
        predictions[index] = {"path": str(path), "label": label, "probabilities": probs}
        if not args.json:
            print(f"{path}: {label} ({probs[label]:.1%})")
    if args.json:
        _emit_json({"predictions": predictions, **_matched(meta)})
    return 2 if failed else 0


def _filters_maximized(args: argparse.Namespace, model) -> int:
    """`filters --maximize`: what each channel wants (gradient ascent) and the MNIST patches that excite it."""
    from cnndesk.engine import CnndeskError, load_splits
    from cnndesk.engine.maximize import LOGITS, maximizable_layers, maximize_layer
    from cnndesk.engine.pictures import wants_png

    known = maximizable_layers(model)
    if args.layer and args.layer not in known:
        raise CnndeskError(f"{model.name} has no layer '{args.layer}' to maximise. Known: {', '.join(known)}.")
    # Default: every feature-map layer; a model without any (an MLP) has its classes.
    names = [args.layer] if args.layer else [name for name in known if name != LOGITS] or [LOGITS]
    test_images = load_splits("mnist").test.images
    blocks = []
    for name in names:
        started = time.perf_counter()
        blocks.append(maximize_layer(model, name, test_images=test_images))
        sys.stderr.write(f"{name}: {len(blocks[-1])} channels in {time.perf_counter() - started:.1f} s\n")
    out = wants_png(blocks, args.out)
    if args.json:
        _emit_json({"out": str(out), "layers": [
            {"name": block[0].layer, "channels": [{"channel": want.channel, "activation": want.activation,
                                                   "top": [patch.index for patch in want.patches]}
                                                  for want in block]}
            for block in blocks]})
    else:
        sys.stderr.write(f"Saved {out}\n")
    return 0


def cmd_filters(args: argparse.Namespace) -> int:
    from cnndesk.engine import CnndeskError, layer_filters, load_model, require_weights
    from cnndesk.engine.pictures import filters_png

    model, _ = _at_snapshot(args, load_model(args.checkpoint, input=args.input))
    require_weights(model, "drawn as filters, nor maximised with gradients")
    if args.maximize:
        return _filters_maximized(args, model)
    layers = layer_filters(model)
    if args.layer:
        names = [layer.name for layer in layers]
        if args.layer not in names:
            raise CnndeskError(f"{model.name} has no layer '{args.layer}' with filters. Known: {', '.join(names)}.")
        layers = [layer for layer in layers if layer.name == args.layer]
    out = filters_png(layers, args.out)
    if args.json:
        _emit_json({"out": str(out), "layers": [{"name": layer.name, "kind": layer.kind,
                                                 "shape": list(layer.weights.shape), "limit": layer.limit}
                                                for layer in layers]})
    else:
        sys.stderr.write(f"Saved {out}\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from cnndesk.engine import load_model, require_weights
    from cnndesk.engine.export import export_checked

    model, meta = _at_snapshot(args, load_model(args.checkpoint, input=args.input))
    require_weights(model, "exported (it is an ONNX file already)")
    # The whole MNIST test set through the exported file, beside the model it came from.
    check = export_checked(model, args.out, args.format)
    out = check.path
    report = {"checkpoint": str(_checkpoint_path(args.checkpoint)), "model": model.name, "bytes": out.stat().st_size,
              **check.to_dict(), **_matched(meta)}
    if args.json:
        _emit_json(report)
    else:
        verdict = "the same predictions" if check.same_predictions == check.images else (
            f"the same prediction for {check.same_predictions:,} of them")
        sys.stderr.write(f"Saved {out} ({args.format}, {report['bytes'] / 1e6:.2f} MB). {check.runtime} on "
                         f"{check.images:,} MNIST test images: {verdict}, largest logit difference "
                         f"{check.max_logit_difference:.1e} (allowed {report['max_logit_difference_allowed']:.0e}).\n")
    if not check.passed:
        sys.stderr.write(f"cnndesk: error: {out} does not compute what {model.name} computes (see above).\n")
        return 1
    return 0


def _parse_cell(text: str) -> tuple[int, ...]:
    from cnndesk.engine import CnndeskError

    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise CnndeskError(f"--cell is C,Y,X for a map layer or U for a vector layer (e.g. 3,5,5 or 7), "
                           f"not '{text}'.") from None


def _explanation_lines(e) -> list[str]:
    """`cnndesk inspect --cell`: the computation of one cell written out, from its inputs to its value."""
    lines = [f"{e.label}, cell {tuple(e.cell)}"]
    source = e.input_layer or "the normalised input"
    if e.kernel is not None:
        k = "×".join(map(str, e.kernel.shape[1:]))
        lines.append(f"input: {source}, a {k} patch under the kernel, stride {e.stride}, padding {e.padding}")
        lines += [f"  input channel {c}: Σ patch × kernel = {s:+.6f}" for c, s in enumerate(e.channel_sums)]
    elif e.window is not None:
        lines.append(f"input: {source}, channel {e.cell[0]}, a {e.window.shape[0]}×{e.window.shape[1]} window "
                     f"({e.pool_op} pooling{', the winner in brackets' if e.winner else ''})")
        for r, row in enumerate(e.window[:8]):
            lines.append("  " + " ".join(f"[{v:+.4f}]" if e.winner == (r, c) else f" {v:+.4f} "
                                         for c, v in enumerate(row[:8])) + (" …" if len(row) > 8 else ""))
    elif e.contributions:
        lines.append(f"input: {source}; the {len(e.contributions)} inputs that weigh most (|input × weight|):")
        lines += [f"  {source}{list(c.where)}  {c.input:+.4f} × {c.weight:+.4f} = {c.product:+.6f}"
                  for c in e.contributions]
    elif e.steps[0][0] == "main":
        lines.append(f"input: {source}; main path conv · BN · activation · conv · BN, plus the shortcut")
    last_own = max((i for i, (name, _) in enumerate(e.steps) if name in ("sum", "bias")), default=None)
    for i, (name, value) in enumerate(e.steps):
        lines.append(f"{name:<15} {value:+.6f}" if name in ("sum", "bias") else f"{name:<13} → {value:+.6f}")
        if i == last_own:
            lines.append(f"{'pre-activation':<15} {e.pre_activation:+.6f}")
    x0, y0, x1, y1 = e.receptive_field
    lines += [f"{'value (NumPy)':<15} {e.value:+.6f}",
              f"{'PyTorch':<15} {e.torch_value:+.6f}  (difference {abs(e.value - e.torch_value):.1e})",
              f"receptive field: columns {x0}–{x1 - 1}, rows {y0}–{y1 - 1} of the 28×28 input "
              f"({x1 - x0}×{y1 - y0} pixels)"]
    return lines


def cmd_inspect(args: argparse.Namespace) -> int:
    from cnndesk.engine import CnndeskError, load_model, require_weights
    from cnndesk.engine.explain import explain_cell, layer_activation
    from cnndesk.engine.pictures import maps_png

    if args.cell is None and not args.out:
        raise CnndeskError("Give --cell C,Y,X (U for a vector layer) to see how one cell was computed, "
                           "or --out PNG to draw the layer's maps.")
    cell = _parse_cell(args.cell) if args.cell is not None else None
    model, meta = _at_snapshot(args, load_model(args.checkpoint, input=args.input))
    if cell is not None:
        require_weights(model, "explained cell by cell (that needs its kernels); --out draws its maps")
    image = _input_image(args)
    explanation = explain_cell(model, image, args.layer, cell) if cell is not None else None  # checks the cell
    out = None
    if args.out:
        layer = layer_activation(model, image, args.layer)
        out = maps_png(layer, args.out, mark=cell)
    if explanation is None:
        if args.json:
            _emit_json({"layer": layer.name, "label": layer.label, "shape": list(layer.shape), "out": str(out),
                        **_matched(meta)})
        else:
            sys.stderr.write(f"Saved {out}\n")
        return 0
    if args.json:
        _emit_json({**explanation.to_dict(), **({"out": str(out)} if out else {}), **_matched(meta)})
    else:
        print("\n".join(_explanation_lines(explanation)))
        if out:
            sys.stderr.write(f"Saved {out}\n")
    return 0


# The attribution methods (engine.attribution.METHODS), spelled out here: importing the engine loads PyTorch.
EXPLAIN_METHODS = ("saliency", "integrated-gradients", "gradcam", "occlusion")


def cmd_explain(args: argparse.Namespace) -> int:
    import torch

    from cnndesk.engine import attribute, load_model, predict_probabilities, require_weights
    from cnndesk.engine.pictures import attribution_png

    model, _ = _at_snapshot(args, load_model(args.checkpoint, input=args.input))
    if args.method != "occlusion":  # (forward passes only: it needs no weights)
        require_weights(model, "explained with gradients (--method occlusion needs none)")
    image = _input_image(args)
    result = attribute(model, image, args.method, target=args.target, versus=args.versus, layer=args.layer)
    confidence = float(predict_probabilities(model, torch.from_numpy(image).reshape(1, 1, 28, 28))[0, result.predicted])
    out = attribution_png(result, image, args.out) if args.out else None
    if args.json:
        _emit_json({"method": result.method, "target": result.target, "versus": result.versus,
                    "predicted": result.predicted, "confidence": confidence, "layer": result.layer,
                    "limit": result.limit, "n_steps": result.n_steps,
                    "attribution": result.values.tolist(), "completeness_error": result.completeness_error,
                    "out": str(out) if out else None})
        return 0
    print(f"method: {result.method}" + (f" at {result.layer}" if result.layer else "")
          + (f" ({result.n_steps} steps from a blank input, no ink)" if result.n_steps else ""))
    print(f"predicted: {result.predicted} ({confidence:.1%})")
    print(f"target: {result.target}" + (f" versus {result.versus} (logit {result.target} minus logit {result.versus})"
                                       if result.versus is not None else " (its logit)"))
    if result.completeness_error is not None:
        print(f"completeness error: {result.completeness_error:.2%} (the attributions' sum against "
              f"f(input) - f(black))")
    print(f"largest |attribution|: {result.limit:.4g}")
    if out:
        sys.stderr.write(f"Saved {out}\n")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from cnndesk.engine import CnndeskError, TrainConfig, count_parameters
    from cnndesk.engine.data import canonical_dataset
    from cnndesk.engine.experiments import row_of, write_csv
    from cnndesk.session.runs import FAILED, RunController, new_run
    from cnndesk.session.text import model_run_label

    entries = [entry.strip() for entry in args.models.split(",") if entry.strip()]
    if not entries:
        raise CnndeskError("Name at least one model, e.g. --models lenet5,mlp or mlp:relu,mlp:tanh.")
    dataset = canonical_dataset(args.dataset)
    plans = []
    for entry in entries:
        name, _, activation = entry.partition(":")
        config = TrainConfig.for_model(name, epochs=args.epochs, device=args.device, seed=args.seed,
                                       train_samples=args.train_samples, test_samples=args.test_samples,
                                       dataset=dataset)
        config.model_options = _model_options(args)
        if activation:
            config.model_options["activation"] = activation
        plans.append(new_run(config, save=False))  # a comparison reports; it keeps no checkpoints

    def callbacks_for(plan):
        index = plans.index(plan)
        return [_progress_printer(sys.stderr, plan.config.epochs, prefix=f"[{index + 1}/{len(plans)}] ")]

    splits = _load_dataset(dataset)  # read once for every run
    controller = RunController()
    with _stop_on_interrupt(controller):
        outcomes = controller.run_queue(plans, callbacks_for, splits=splits)
    failed = [o for o in outcomes if o.status == FAILED]
    if failed:
        raise CnndeskError(failed[0].error or "A run failed.")
    rows = [row_of(o.result, count_parameters(o.result.model)) for o in outcomes if o.result is not None]
    if args.csv:
        sys.stderr.write(f"Saved {write_csv(rows, args.csv)}\n")
    if args.json:
        _emit_json({"runs": [row.to_dict() for row in rows]})
        return 0
    labels = [model_run_label(row.model, row.options) for row in rows]
    width = max(24, *map(len, labels))
    print(f"{'model':<{width}} {'test':>8} {'train':>8} {'seconds':>9} {'params':>10}")
    for label, row in zip(labels, rows, strict=True):
        print(f"{label:<{width}} {row.test_accuracy:>8.2%} {row.train_accuracy:>8.2%} {row.train_seconds:>9.1f} "
              f"{row.params:>10,}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from cnndesk.engine import MODELS, CnndeskError, build_model, count_parameters

    options = _model_options(args)
    if args.summary:
        from cnndesk.engine.summary import summarize
        from cnndesk.session.text import summary_table

        summary = summarize(build_model(args.summary, **options))
        if args.json:
            _emit_json(summary.to_dict())
        else:
            print(summary_table(summary))
        return 0

    if options:
        raise CnndeskError("Model options go with --summary NAME, e.g. models --summary lenet5 --width 2.")
    rows = [{"name": name, "params": count_parameters(build_model(name)), "description": spec.description}
            for name, spec in MODELS.items()]
    if args.json:
        _emit_json({"models": rows})
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['params']:>9,}  {r['description']}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    if args.self_test:
        from cnndesk.ui.selftest import main as self_test

        return self_test(train_samples=args.train_samples)
    from cnndesk.ui.app import run_app

    return run_app(checkpoint=args.checkpoint)


def _gui_rows(quick: bool) -> list[dict[str, Any]]:
    """The GUI half of the benchmark: a `cnndesk gui --self-test` child process, plus a headless reference."""
    import subprocess

    from cnndesk.engine.bench import cnndesk_throughput, row

    samples = 15360 if quick else 60000
    # The headless reference runs just before and just after the GUI run (the recipe, as the GUI trains it): the
    # machine's speed drifts, and the mean of the two brackets the GUI run.
    headless_before = cnndesk_throughput(samples, batch_size=None)
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    env["CNNDESK_LAUNCH_TIME"] = repr(time.time())
    done = subprocess.run(cnndesk_command("gui", "--self-test", "--train-samples", str(samples)),
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [row("gui_self_test", None, "", "runs", False, error=tail)]
    gui = json.loads(done.stdout.strip().splitlines()[-1])
    headless = (headless_before + cnndesk_throughput(samples, batch_size=None)) / 2
    share = gui["gui_train_samples_per_s"] / headless
    return [
        row("draw_feedback_idle_p95", round(gui["draw_idle_p95_ms"], 1), "ms", "≤ 16 ms",
            gui["draw_idle_p95_ms"] <= 16, median_ms=round(gui["draw_idle_median_ms"], 1),
            stroke_points=gui["stroke_points"]),
        row("draw_feedback_training_p95", round(gui["draw_training_p95_ms"], 1), "ms", "≤ 33 ms",
            gui["draw_training_p95_ms"] <= 33, median_ms=round(gui["draw_training_median_ms"], 1)),
        row("draw_feedback_saliency_idle_p95", round(gui["draw_saliency_idle_p95_ms"], 1), "ms", "≤ 16 ms",
            gui["draw_saliency_idle_p95_ms"] <= 16, note="the Why? tab in front: the saliency map follows the pen"),
        row("draw_feedback_saliency_training_p95", round(gui["draw_saliency_training_p95_ms"], 1), "ms", "≤ 33 ms",
            gui["draw_saliency_training_p95_ms"] <= 33),
        row("explain_click_p95", round(gui["explain_click_p95_ms"], 1), "ms", "≤ 50 ms",
            gui["explain_click_p95_ms"] <= 50, median_ms=round(gui["explain_click_median_ms"], 1),
            note="a click on a cell of conv2 until the explainer has repainted"),
        row("history_replay_p95", round(gui["replay_p95_ms"], 1), "ms", "≤ 33 ms", gui["replay_p95_ms"] <= 33,
            with_filters_ms=round(gui["replay_filters_p95_ms"], 1), snapshots=gui["replay_snapshots"],
            note="a move of the replay slider until the prediction and the maps (or the kernels) show that step"),
        row("gui_timer_gap_max", round(gui["timer_gap_max_ms"], 1), "ms", "≤ 50 ms",
            gui["timer_gap_max_ms"] <= 50, p99_ms=round(gui["timer_gap_p99_ms"], 1), p99_goal="≤ 20 ms"),
        row("gui_train_throughput", round(share, 2), "of headless", "≥ 0.85", share >= 0.85,
            gui_samples_per_s=round(gui["gui_train_samples_per_s"]), headless_samples_per_s=round(headless),
            samples=samples),
        row("startup_visible", round(gui["visible_s"], 2), "s", "≤ 1.5 s", gui["visible_s"] <= 1.5,
            note="the main window, shown before PyTorch loads"),
        row("startup_ready", round(gui["ready_s"], 2), "s", "≤ 3 s", gui["ready_s"] <= 3),
        row("peak_rss_training", round(gui["peak_rss_mb"]), "MB", "≤ 1500 MB", gui["peak_rss_mb"] <= 1500,
            train_samples=samples),
    ]


def cmd_bench(args: argparse.Namespace) -> int:
    from cnndesk.engine.bench import format_table, run_benchmarks

    def progress(message: str) -> None:
        sys.stderr.write(f"bench: {message}…\n")
        sys.stderr.flush()

    report = run_benchmarks(quick=args.quick, gui=None if args.no_gui or args.robustness else _gui_rows,
                            progress=progress, only_robustness=args.robustness)
    if args.json:
        _emit_json(report)
    else:
        print(format_table(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cnndesk", description="Draw a digit, see inside a CNN, train it live. Without a command: the GUI."
    )
    parser.add_argument("--version", action="version", version=f"cnndesk {__version__}")
    sub = parser.add_subparsers(dest="command")

    gui = sub.add_parser("gui", help="open the desktop app (the default)")
    gui.add_argument("--checkpoint", help=f"start with this model instead of the bundled {STARTING_MODEL}")
    gui.add_argument("--self-test", action="store_true",
                     help="open the window, draw, train, measure; print a JSON report and exit")
    gui.add_argument("--train-samples", type=int, default=60000, help="training images for --self-test")
    gui.set_defaults(func=cmd_gui)

    bench = sub.add_parser("bench", help="measure training and GUI speed side by side")
    bench.add_argument("--quick", action="store_true", help="a short run (smaller slices, no time-to-accuracy)")
    bench.add_argument("--no-gui", action="store_true", help="engine rows only")
    bench.add_argument("--robustness", action="store_true",
                       help="only the robustness rows: each bundled model on MNIST test digits drawn in families "
                            "(thick marker, thin pen, small, slanted, rotated) and on your own digits")
    bench.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    bench.set_defaults(func=cmd_bench)

    train = sub.add_parser("train", help="train a model on MNIST and save a checkpoint")
    train.add_argument("--model", help="registry name (see `cnndesk models`); default lenet5, or with --init-from "
                       "the checkpoint's")
    train.add_argument("--epochs", type=int, help="default: the model's recipe")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lr", type=float, help="learning rate (peak rate for onecycle)")
    train.add_argument("--optimizer", choices=["adam", "adamw", "sgd"])
    train.add_argument("--schedule", choices=["onecycle", "cosine", "step", "constant"])
    train.add_argument("--weight-decay", type=float, help="L2 penalty (decoupled with adamw); default 0")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--dataset", default="mnist", help=DATASET_HELP)
    train.add_argument("--train-samples", type=int, help="use only the first N training images")
    train.add_argument("--target-accuracy", type=float, help="stop once the test accuracy reaches this, e.g. 0.99")
    train.add_argument("--no-augment", action="store_true", help="train without random affine augmentation")
    train.add_argument("--out", help="checkpoint path, or a folder to save it in under a name that says what it "
                       "holds (default: the user data folder); written after every epoch")
    train.add_argument("--init-from", metavar="CHECKPOINT", help="fine-tune: start from this checkpoint's weights "
                       "with a fresh optimizer and the fine-tuning recipe (1 epoch of 12,000 images, a tenth of the "
                       "model's learning rate, cosine), which the options given override; e.g. with "
                       "--dataset mnist+folder:PATH")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue an interrupted run from its checkpoint "
                       "(its own settings; --device may change)")
    train.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    _add_model_options(train)
    train.set_defaults(func=cmd_train)

    ev = sub.add_parser("eval", help="test accuracy, per class, and the confusion matrix")
    ev.add_argument("--checkpoint", help="default: the bundled LeNet5")
    ev.add_argument("--dataset", help="the test set of this dataset (" + DATASET_HELP + "); default: the one the "
                    "checkpoint was tested on when it was trained, MNIST's for most")
    ev.add_argument("--json", action="store_true")
    _add_snapshot_argument(ev)
    ev.set_defaults(func=cmd_eval)

    history = sub.add_parser("history", help="the weight snapshots a checkpoint keeps of its training: step, epoch, "
                             "test accuracy (what --snapshot K and the window's replay show)")
    history.add_argument("checkpoint", nargs="?", help="default: the bundled LeNet5")
    history.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    history.set_defaults(func=cmd_history)

    pr = sub.add_parser("predict", help="classify image files (dark-on-light or light-on-dark)")
    pr.add_argument("images", nargs="+")
    pr.add_argument("--checkpoint", help="default: the bundled LeNet5")
    pr.add_argument("--json", action="store_true")
    _add_snapshot_argument(pr)
    pr.set_defaults(func=cmd_predict)

    compare = sub.add_parser("compare", help="train several models one after another and compare them")
    compare.add_argument("--models", required=True, help="comma-separated registry names, each optionally with "
                         "an activation: lenet5,cnn2,mlp or mlp:relu,mlp:tanh,mlp:sigmoid; the model options "
                         "below apply to every run (an activation after ':' wins)")
    compare.add_argument("--epochs", type=int, help="default: each model's recipe")
    compare.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--train-samples", type=int, help="use only the first N training images")
    compare.add_argument("--test-samples", type=int, help="evaluate on the first N test images only")
    compare.add_argument("--dataset", default="mnist", help=DATASET_HELP)
    compare.add_argument("--csv", help="also write the table to this CSV file")
    compare.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    _add_model_options(compare)
    compare.set_defaults(func=cmd_compare)

    filters = sub.add_parser("filters", help="draw what each layer looks for: its kernels, as a PNG")
    filters.add_argument("--checkpoint", help="default: the bundled LeNet5")
    filters.add_argument("--layer", help="only this layer (e.g. conv2)")
    filters.add_argument("--out", required=True, help="the PNG to write")
    filters.add_argument("--maximize", action="store_true",
                         help="instead of the kernels, what each channel wants: the input that excites it most "
                         "(gradient ascent) and the 9 MNIST test patches that do; every feature-map layer, or "
                         "--layer NAME (--layer logits: the ten classes)")
    filters.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    _add_snapshot_argument(filters)
    filters.set_defaults(func=cmd_filters)

    export = sub.add_parser("export", help="write a model as ONNX or TorchScript, checked on the MNIST test set")
    export.add_argument("--format", required=True, choices=("onnx", "torchscript"),
                        help="onnx (onnxruntime, Netron, …) or torchscript (torch.jit.load)")
    export.add_argument("--checkpoint", help="default: the bundled LeNet5")
    export.add_argument("--out", required=True, help="the file to write (e.g. lenet5.onnx, lenet5.pt)")
    export.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    _add_snapshot_argument(export)
    export.set_defaults(func=cmd_export)

    inspect = sub.add_parser("inspect", help="how one cell of a layer was computed, or a layer's maps as a PNG")
    _add_input_arguments(inspect)
    inspect.add_argument("--layer", required=True, help="a layer as the views name it (e.g. conv2, fc1)")
    inspect.add_argument("--cell", metavar="C,Y,X", help="channel,row,column of a map layer (U: a unit of a vector "
                         "layer): write out how that value was computed")
    inspect.add_argument("--checkpoint", help="default: the bundled LeNet5")
    inspect.add_argument("--out", metavar="PNG", help="write the layer's maps as a picture (needed without --cell)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    _add_snapshot_argument(inspect)
    inspect.set_defaults(func=cmd_inspect)

    explain = sub.add_parser("explain", help="which pixels made the model say what it said: saliency, "
                             "Integrated Gradients, Grad-CAM, occlusion")
    _add_input_arguments(explain)
    explain.add_argument("--method", required=True, choices=EXPLAIN_METHODS, help="the attribution method")
    explain.add_argument("--target", type=int, metavar="D", help="the class to explain (default: the prediction)")
    explain.add_argument("--versus", type=int, metavar="D", help="why the target and not D: explain the target's "
                         "logit minus D's")
    explain.add_argument("--layer", metavar="NAME", help="Grad-CAM's conv layer (default: the last one, e.g. conv2)")
    explain.add_argument("--checkpoint", help="default: the bundled LeNet5")
    explain.add_argument("--out", metavar="PNG", help="write the attribution over the input as a picture")
    explain.add_argument("--json", action="store_true", help="print one JSON object as the last line of stdout")
    _add_snapshot_argument(explain)
    explain.set_defaults(func=cmd_explain)

    models = sub.add_parser("models", help="list the architectures and their parameter counts")
    models.add_argument("--summary", metavar="NAME", help="one model layer by layer: shapes, parameters, "
                        "multiply-adds, the output-size formula and the receptive field")
    models.add_argument("--json", action="store_true")
    _add_model_options(models)
    models.set_defaults(func=cmd_models)
    return parser


def run() -> None:
    """The entry point of the `cnndesk` command and `python -m cnndesk`: main(), then exit at once.

    Once PyTorch is loaded, Python's own shutdown (tearing down every module and object) takes 0.5–1 s after the
    command's work is done: 0.45 s with torch imported, 0.9 s once torch.optim has imported torch._dynamo. Every
    file a command writes is written and closed by the time main() returns, so the process ends there.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class _WarningLines(logging.Handler):
    """cnndesk's logged warnings (a data folder that cannot hold the MNIST cache) as one stderr line each, written
    to the sys.stderr of the moment."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"cnndesk: warning: {record.getMessage()}\n")


def main(argv: Sequence[str] | None = None) -> int:
    logger = logging.getLogger("cnndesk")
    if not any(isinstance(handler, _WarningLines) for handler in logger.handlers):
        logger.addHandler(_WarningLines(logging.WARNING))
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["gui", *(sys.argv[1:] if argv is None else argv)])
    from cnndesk.errors import CnndeskError  # torch-free: the GUI shows its window before PyTorch loads

    try:
        return int(args.func(args) or 0)
    except CnndeskError as exc:
        sys.stderr.write(f"cnndesk: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("cnndesk: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
