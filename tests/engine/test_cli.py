"""The command line, run in-process: train, eval, predict, models, and errors as one clear line."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from cnndesk import __version__, cli
from cnndesk.cli import main
from cnndesk.engine import MODELS, build_model, count_parameters, load_model, model_names, save_checkpoint
from cnndesk.locations import pretrained_path

HAS_PRETRAINED = pretrained_path().exists()
needs_pretrained = pytest.mark.skipif(not HAS_PRETRAINED, reason="the bundled LeNet5 has not been trained yet")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def mnist_png(mnist, index: int, path: Path, write_png) -> Path:
    """A test digit as a person would photograph it: dark on light paper, 10× larger."""
    digit = mnist.test.float_images()[index, 0].numpy()
    return write_png(np.kron(digit, np.ones((10, 10), dtype=np.float32)), name=path.name)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist) -> tuple[dict, Path]:
    """`cnndesk train --model lenet5 --epochs 1 --train-samples 1000 --batch-size 128 --out … --json`, run once.

    The batch size is explicit so that the run has 8 steps whatever the recipe says: with 4 steps the onecycle
    schedule crashes (see test_a_four_step_run_from_the_command_line below). Returns (report, out).
    """
    out = tmp_path_factory.mktemp("cli") / "x.safetensors"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["train", "--model", "lenet5", "--epochs", "1", "--train-samples", "1000", "--batch-size", "128",
                     "--out", str(out), "--json"])
    assert code == 0
    return last_json(stdout.getvalue()), out


@pytest.fixture
def trained_run(trained) -> Path:
    return trained[1]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert __version__ in capsys.readouterr().out


# ---------------------------------------------------------------- models


def test_models_json_lists_every_architecture(capsys):
    code, out, _ = run(capsys, "models", "--json")
    assert code == 0
    rows = {row["name"]: row for row in last_json(out)["models"]}
    assert list(rows) == model_names()
    assert rows["lenet5"]["params"] == 61_706
    for name, row in rows.items():
        assert row["params"] == count_parameters(build_model(name))
        assert row["description"]


def test_models_table_has_a_line_per_model(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == model_names()
    assert "61,706" in lines[0]


def test_cli_without_a_gui_command_never_imports_qt(data_dir):
    """The CLI is usable on a server: `cnndesk models` must not pull in PySide6 or pyqtgraph."""
    code = (
        "import sys\n"
        "from cnndesk.cli import main\n"
        "assert main(['models', '--json']) == 0\n"
        "qt = sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken6', 'cnndesk.ui')))\n"
        "assert not qt, qt\n"
    )
    env = {**os.environ, "CNNDESK_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["models"][0]["params"] == 61_706


# ---------------------------------------------------------------- train, eval, predict


def test_train_json_reports_the_run_and_writes_the_checkpoint(trained):
    report, out = trained
    assert set(report) >= {"model", "epochs", "test_accuracy", "train_seconds", "samples_per_second",
                           "checkpoint"}
    assert report["model"] == "lenet5"
    assert report["epochs"] == 1
    assert 0.1 < report["test_accuracy"] <= 1.0  # 1,000 images are enough to beat guessing
    assert report["train_seconds"] > 0 and report["samples_per_second"] > 0
    assert Path(report["checkpoint"]) == out and out.is_file()
    model, meta = load_model(out)
    assert model.name == "lenet5"
    assert meta["training"]["epochs"] == 1
    assert meta["training"]["train_samples"] == 1000
    assert meta["metrics"]["epochs_completed"] == 1
    assert meta["metrics"]["test_accuracy"] == report["test_accuracy"]


def test_a_four_step_run_from_the_command_line(capsys, tmp_path, mnist):
    batch = MODELS["lenet5"].recipe["batch_size"]
    out = tmp_path / "four.safetensors"
    code, _, err = run(capsys, "train", "--model", "lenet5", "--epochs", "1", "--train-samples", str(4 * batch),
                       "--out", str(out))
    assert code == 0, err
    assert out.is_file()


def test_train_with_a_model_option_keeps_it_in_the_checkpoint(capsys, tmp_path, mnist):
    out = tmp_path / "avg.safetensors"
    code, stdout, err = run(capsys, "train", "--model", "lenet5", "--pooling", "avg", "--train-samples", "256",
                            "--epochs", "1", "--json", "--out", str(out))
    assert code == 0, err
    assert Path(last_json(stdout)["checkpoint"]) == out
    model, meta = load_model(out)
    assert meta["model"]["options"] == {**MODELS["lenet5"].defaults, "pooling": "avg"}
    assert meta["training"]["model_options"] == {"pooling": "avg"}
    assert [type(m) for name, m in model.named_children() if name.startswith("pool")] == [torch.nn.AvgPool2d] * 2


def test_only_the_model_options_given_reach_the_config():
    parser = cli.build_parser()
    config = cli._new_train_config(parser.parse_args(["train", "--model", "cnn2-bn"]))
    assert config.model_options == {}
    config = cli._new_train_config(parser.parse_args([
        "train", "--model", "cnn2-bn", "--no-batchnorm", "--dropout", "0.2", "--width", "0.5", "--init", "xavier",
        "--activation", "tanh"]))
    assert config.model_options == {"batchnorm": False, "dropout": 0.2, "width": 0.5, "init": "xavier",
                                    "activation": "tanh"}
    config.validate()
    config = cli._new_train_config(parser.parse_args(["train", "--model", "mlp", "--batchnorm"]))
    assert config.model_options == {"batchnorm": True}


def test_summary_takes_the_model_options(capsys):
    code, out, _ = run(capsys, "models", "--summary", "cnn2", "--width", "0.5", "--batchnorm", "--pooling", "avg",
                       "--json")
    assert code == 0
    summary = last_json(out)
    rows = {row["name"]: row for row in summary["layers"]}
    assert rows["conv1"]["output_shape"] == [8, 28, 28] and rows["bn1"]["type"] == "BatchNorm2d"
    assert rows["pool1"]["type"] == "AvgPool2d"
    assert summary["total_params"] == count_parameters(build_model("cnn2", width=0.5, batchnorm=True))


def test_compare_applies_the_options_and_labels_the_runs(capsys, mnist):
    code, out, err = run(capsys, "compare", "--models", "mlp:tanh,mlp", "--batchnorm", "--epochs", "1",
                         "--train-samples", "64", "--test-samples", "64")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[1].startswith("mlp (tanh, batchnorm=True) ")
    assert lines[2].startswith("mlp (relu, batchnorm=True) ")


def test_train_without_out_saves_into_the_data_folder(capsys, data_dir, mnist):
    code, stdout, stderr = run(capsys, "train", "--model", "mlp", "--epochs", "1", "--train-samples", "200",
                               "--no-augment")
    assert code == 0
    assert stdout == ""  # without --json the report goes to stderr, stdout stays clean
    saved = list((data_dir / "checkpoints").glob("mlp-*.safetensors"))
    assert len(saved) == 1
    assert str(saved[0]) in stderr
    assert "epoch 1/1" in stderr and "test accuracy" in stderr
    _, meta = load_model(saved[0])
    assert meta["training"]["augment"] is False
    # The name says what the file holds: the model, when the run started, the test accuracy it reached.
    accuracy = meta["metrics"]["test_accuracy"]
    assert re.fullmatch(rf"mlp-\d{{4}}-\d{{2}}-\d{{2}}-\d{{4}}-{accuracy * 100:.2f}\.safetensors", saved[0].name)
    saved[0].unlink()


def test_eval_json_reports_accuracy_per_class_and_confusion(trained_run, capsys, mnist):
    _, meta = load_model(trained_run)
    code, out, _ = run(capsys, "eval", "--checkpoint", str(trained_run), "--json")
    assert code == 0
    report = last_json(out)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10)
    assert matrix.sum() == 10_000
    assert matrix.sum(axis=1).tolist() == torch.bincount(mnist.test.labels, minlength=10).tolist()
    assert report["test_accuracy"] == pytest.approx(np.trace(matrix) / 10_000)
    assert len(report["per_class_accuracy"]) == 10
    np.testing.assert_allclose(report["per_class_accuracy"], np.diag(matrix) / matrix.sum(axis=1))
    # the checkpoint is the model that was trained: the same accuracy on the same 10,000 images
    assert report["test_accuracy"] == pytest.approx(meta["metrics"]["test_accuracy"], abs=5e-4)
    # Every mistake, once: as many as the matrix has off its diagonal, each where the matrix counts it.
    wrong = report["misclassified"]
    assert len(wrong) == matrix.sum() - np.trace(matrix)
    counted = np.zeros((10, 10), np.int64)
    model, _ = load_model(trained_run)
    for item in wrong:
        assert item["label"] == int(mnist.test.labels[item["index"]]) != item["predicted"]
        counted[item["label"], item["predicted"]] += 1
    np.testing.assert_array_equal(counted + np.diag(np.diag(matrix)), matrix)
    # and the model does say that, that sure, about the first of them
    first = wrong[0]
    with torch.no_grad():
        probs = torch.softmax(model(mnist.test.images[first["index"]:first["index"] + 1].float() / 255), 1)[0]
    assert int(probs.argmax()) == first["predicted"]
    assert float(probs.max()) == pytest.approx(first["confidence"], abs=1e-5)


def test_eval_table(trained_run, capsys):
    code, out, _ = run(capsys, "eval", "--checkpoint", str(trained_run))
    assert code == 0
    assert out.startswith("lenet5: test accuracy")
    rows = [line.split() for line in out.strip().splitlines()[-10:]]
    assert [int(r[0]) for r in rows] == list(range(10))
    assert sum(int(v) for r in rows for v in r[1:]) == 10_000


def test_predict_json_gives_one_prediction_per_image(trained_run, capsys, mnist, tmp_path, write_png):
    paths = [mnist_png(mnist, 0, tmp_path / "img1.png", write_png),
             mnist_png(mnist, 1, tmp_path / "img2.png", write_png)]
    code, out, _ = run(capsys, "predict", *map(str, paths), "--checkpoint", str(trained_run), "--json")
    assert code == 0
    predictions = last_json(out)["predictions"]
    assert [p["path"] for p in predictions] == [str(p) for p in paths]
    for p in predictions:
        assert len(p["probabilities"]) == 10
        assert sum(p["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert min(p["probabilities"]) >= 0.0
        assert p["label"] == int(np.argmax(p["probabilities"]))


def test_predict_text_output(trained_run, capsys, mnist, tmp_path, write_png):
    path = mnist_png(mnist, 0, tmp_path / "seven.png", write_png)
    code, out, _ = run(capsys, "predict", str(path), "--checkpoint", str(trained_run))
    assert code == 0
    assert out.startswith(f"{path}: ")
    assert out.strip().endswith("%)")


# ---------------------------------------------------------------- the bundled model (a product requirement)


@needs_pretrained
def test_bundled_lenet5_reaches_99_percent(capsys, mnist):
    code, out, _ = run(capsys, "eval", "--json")
    assert code == 0
    assert last_json(out)["test_accuracy"] >= 0.99


@needs_pretrained
def test_bundled_lenet5_reads_drawn_and_photographed_digits(capsys, mnist, tmp_path, write_png, bar_image):
    bar = write_png(bar_image, name="bar.png")
    bar_inverted = write_png(bar_image, name="bar-light.png", polarity="light-on-dark")
    seven = mnist_png(mnist, 0, tmp_path / "seven.png", write_png)
    two = mnist_png(mnist, 1, tmp_path / "two.png", write_png)
    code, out, _ = run(capsys, "predict", str(bar), str(bar_inverted), str(seven), str(two), "--json")
    assert code == 0
    assert [p["label"] for p in last_json(out)["predictions"]] == [1, 1, 7, 2]


# ---------------------------------------------------------------- errors: one line, exit code 2


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    return save_checkpoint(build_model("lenet5"), tmp_path / "untrained.safetensors")


@pytest.fixture
def files(tmp_path, write_png, bar_image) -> dict[str, Path]:
    notes = tmp_path / "notes.txt"
    notes.write_text("buy milk\n")
    fake = tmp_path / "fake.safetensors"
    fake.write_bytes(b"definitely not a checkpoint")
    blank = write_png(np.zeros((100, 100), dtype=np.float32), name="blank.png")
    return {"notes": notes, "fake": fake, "blank": blank, "digit": write_png(bar_image, name="digit.png"),
            "missing": tmp_path / "missing.png", "folder": tmp_path}


ERROR_CASES = {
    "missing-image": (["predict", "{missing}", "--checkpoint", "{checkpoint}"], "{missing}"),
    "image-is-a-folder": (["predict", "{folder}", "--checkpoint", "{checkpoint}"], "{folder}"),
    "text-file-as-image": (["predict", "{notes}", "--checkpoint", "{checkpoint}"], "{notes}"),
    "blank-image": (["predict", "{blank}", "--checkpoint", "{checkpoint}"], "no digit"),
    "not-a-checkpoint-eval": (["eval", "--checkpoint", "{fake}"], "{fake}"),
    "not-a-checkpoint-predict": (["predict", "{digit}", "--checkpoint", "{fake}"], "{fake}"),
    "missing-checkpoint": (["eval", "--checkpoint", "{missing}"], "No such checkpoint"),
    "image-as-checkpoint": (["eval", "--checkpoint", "{digit}"], "not a cnndesk checkpoint, or it is damaged"),
    "unknown-model": (["train", "--model", "resnet9000", "--epochs", "1"], "Unknown model 'resnet9000'"),
    "zero-epochs": (["train", "--epochs", "0"], "Epochs must be at least 1"),
    "negative-lr": (["train", "--lr", "-1", "--epochs", "1"], "learning rate"),
    "target-above-one": (["train", "--target-accuracy", "99", "--epochs", "1"], "target accuracy"),
    "unknown-device": (["train", "--device", "tpu", "--epochs", "1", "--train-samples", "10"], "Unknown device"),
    "unknown-dataset": (["train", "--dataset", "imagenet", "--epochs", "1", "--train-samples", "10"],
                        "Unknown dataset 'imagenet'"),
    "option-the-model-lacks": (["train", "--model", "mlp", "--pooling", "avg", "--epochs", "1"],
                               "Model 'mlp' has no option pooling: it has no convolutions"),
    "resnet-batchnorm": (["train", "--model", "resnet-mini", "--no-batchnorm", "--epochs", "1"],
                         "Model 'resnet-mini' has no option batchnorm"),
    "zero-width": (["train", "--width", "0", "--epochs", "1"], "The width multiplier is a number above 0"),
    "dropout-one": (["train", "--dropout", "1", "--epochs", "1"], "Dropout is a probability p with 0 ≤ p < 1"),
    "compare-option-a-model-lacks": (["compare", "--models", "lenet5,mlp", "--pooling", "avg", "--epochs", "1"],
                                     "Model 'mlp' has no option pooling"),
    "options-without-summary": (["models", "--width", "2"], "Model options go with --summary NAME"),
    "init-from-another-architecture": (["train", "--init-from", "{checkpoint}", "--model", "mlp", "--epochs", "1",
                                        "--train-samples", "10"],
                                       "Cannot start a mlp from a lenet5: the architectures differ"),
    "init-from-and-resume": (["train", "--init-from", "{checkpoint}", "--resume", "{checkpoint}"], "not both"),
    "folder-without-digit-folders": (["train", "--dataset", "folder:{folder}", "--epochs", "1"],
                                     "holds no digit images"),
    "eval-on-a-missing-folder": (["eval", "--checkpoint", "{checkpoint}", "--dataset", "folder:{missing}"],
                                 "No such folder"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_user_errors_are_one_line_and_exit_code_2(case, files, checkpoint, capsys, tmp_path):
    argv, expected = ERROR_CASES[case]
    names = {**{k: str(v) for k, v in files.items()}, "checkpoint": str(checkpoint)}
    out_path = tmp_path / "never.safetensors"
    code, out, err = run(capsys, *(a.format(**names) for a in argv),
                         *(["--out", str(out_path)] if argv[0] == "train" else []))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cnndesk: error: ")
    assert expected.format(**names) in lines[0]
    assert "Traceback" not in err
    assert out == ""
    assert not out_path.exists()


def test_one_unreadable_image_does_not_cost_the_others_their_prediction(files, checkpoint, capsys):
    code, out, err = run(capsys, "predict", str(files["digit"]), str(files["blank"]), str(files["notes"]),
                         "--checkpoint", str(checkpoint), "--json")
    assert code == 2  # something went wrong, and the exit status says so
    errors = err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("cnndesk: error: ") for line in errors)
    predictions = last_json(out)["predictions"]
    assert [p["path"] for p in predictions] == [str(files[k]) for k in ("digit", "blank", "notes")]
    assert 0 <= predictions[0]["label"] <= 9 and "no digit" in predictions[1]["error"]
    assert str(files["notes"]) in predictions[2]["error"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_asking_for_a_missing_gpu_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "train", "--device", "cuda", "--epochs", "1", "--train-samples", "10",
                       "--out", str(tmp_path / "x.safetensors"))
    assert code == 2
    assert err.startswith("cnndesk: error: CUDA was asked for")


def test_offline_download_is_a_clear_error(capsys, tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(tmp_path / "data"))
    code, _, err = run(capsys, "train", "--dataset", "kmnist", "--epochs", "1", "--out", str(tmp_path / "k"))
    assert code == 2
    assert err.startswith("cnndesk: error: Kuzushiji-MNIST is not bundled with cnndesk and could not be downloaded")
    assert "Traceback" not in err


def test_damaged_png_is_a_clear_error(files, checkpoint, capsys, tmp_path):
    data = bytearray(files["digit"].read_bytes())
    data[36] = 0
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(bytes(data))
    code, _, err = run(capsys, "predict", str(damaged), "--checkpoint", str(checkpoint))
    assert code == 2 and err.startswith("cnndesk: error:")


def test_checkpoint_with_a_nameless_model_is_a_clear_error(capsys, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "nameless.safetensors"
    header = {"format": "cnndesk.checkpoint", "version": 1, "model": {"options": {}}, "training": {}, "metrics": {}}
    tensors = {k: v.contiguous() for k, v in build_model("lenet5").state_dict().items()}
    save_file(tensors, str(path), metadata={"cnndesk": json.dumps(header)})
    code, _, err = run(capsys, "eval", "--checkpoint", str(path))
    assert code == 2 and err.startswith("cnndesk: error:")


def test_no_command_opens_the_gui_whatever_the_host_process_argv(monkeypatch):
    opened = []
    monkeypatch.setattr(cli, "cmd_gui", lambda args: opened.append(args) or 0)
    monkeypatch.setattr(sys, "argv", ["host-program", "--some-flag-of-the-host"])
    assert main([]) == 0
    assert len(opened) == 1 and opened[0].checkpoint is None


def test_a_target_reached_inside_an_epoch_stops_there_and_saves_that_model(capsys, tmp_path, mnist, monkeypatch):
    import cnndesk.engine.train as train_module

    # Test quarters from epoch 2 on whatever epoch 1 reached (LeNet5 gets ~73% after one epoch of 2,000 images).
    monkeypatch.setattr(train_module, "NEAR_TARGET", 1.0)
    out = tmp_path / "target.safetensors"
    code, stdout, err = run(capsys, "train", "--model", "lenet5", "--epochs", "3", "--train-samples", "2000",
                            "--batch-size", "64", "--target-accuracy", "0.8",
                            "--device", "cpu", "--out", str(out), "--json")
    assert code == 0, err
    report = last_json(stdout)
    assert report["epochs"] == 1 and 1 < report["epochs_trained"] < 2
    assert f"after {report['epochs_trained']:.2f} epochs" in err and "Stopped mid-epoch" not in err
    _, meta = load_model(out)  # the model that reached the target, not epoch 1's
    assert meta["metrics"]["test_accuracy"] == report["test_accuracy"] >= 0.8


def test_the_command_exits_with_mains_status_and_its_output_complete(tmp_path, data_dir):
    """`python -m cnndesk` ends the process as soon as the command is done: output flushed, status kept."""
    env = {**os.environ, "CNNDESK_DATA_DIR": str(data_dir), "OMP_NUM_THREADS": "1"}
    out = tmp_path / "quick.safetensors"
    done = subprocess.run([sys.executable, "-m", "cnndesk", "train", "--model", "mlp", "--epochs", "1",
                           "--train-samples", "256", "--out", str(out), "--json"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["checkpoint"] == str(out)
    assert "Saved" in done.stderr and load_model(out)[0].name == "mlp"
    failed = subprocess.run([sys.executable, "-m", "cnndesk", "train", "--model", "nosuch"],
                            capture_output=True, text=True, env=env, timeout=120, check=False)
    assert failed.returncode == 2
    assert failed.stderr.startswith("cnndesk: error: Unknown model 'nosuch'")


def test_samples_per_second_is_one_figure_on_stderr_and_in_the_json(capsys, tmp_path):
    """The epoch line and the JSON report the same throughput: training samples per second of training steps."""
    code, out, err = run(capsys, "train", "--model", "mlp", "--epochs", "1", "--train-samples", "2000",
                         "--no-augment", "--out", str(tmp_path / "run.safetensors"), "--json")
    assert code == 0
    epoch_line = next(line for line in err.splitlines() if line.startswith("epoch 1/1"))
    printed = float(re.search(r"([\d,]+) samples/s", epoch_line).group(1).replace(",", ""))
    assert printed == pytest.approx(last_json(out)["samples_per_second"], abs=0.6)  # the line rounds to 1


def test_filters_draws_each_kernel_on_a_scale_with_zero_white(capsys, tmp_path):
    from PIL import Image

    from cnndesk.engine.pictures import GAP, TILE_SCALE, TITLE_HEIGHT

    model = build_model("lenet5")
    with torch.no_grad():
        model.conv1.weight.zero_()
        model.conv1.weight[2, 0, 1, 3] = 0.5  # kernel 2, row 1, column 3: the one red weight
        model.conv1.weight[4, 0, 0, 0] = -0.5
    checkpoint = save_checkpoint(model, tmp_path / "marked.safetensors")
    out = tmp_path / "filters.png"
    code, stdout, _ = run(capsys, "filters", "--checkpoint", str(checkpoint), "--layer", "conv1", "--out", str(out),
                          "--json")
    assert code == 0
    report = last_json(stdout)
    assert report["layers"] == [{"name": "conv1", "kind": "conv", "shape": [6, 1, 5, 5], "limit": 0.5}]
    picture = np.asarray(Image.open(out).convert("RGB"))

    def pixel(kernel: int, row: int, column: int) -> tuple[int, ...]:  # the centre of that weight's square
        y = GAP + TITLE_HEIGHT + row * TILE_SCALE + TILE_SCALE // 2
        x = GAP + (kernel * 6 + column) * TILE_SCALE + TILE_SCALE // 2
        return tuple(int(v) for v in picture[y, x])

    assert pixel(2, 1, 3) == (178, 24, 43)  # +limit: red
    assert pixel(4, 0, 0) == (33, 102, 172)  # -limit: blue
    assert pixel(0, 2, 2) == (255, 255, 255)  # zero: white


def test_filters_of_a_layer_that_has_none_is_one_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "filters", "--layer", "fc1", "--out", str(tmp_path / "x.png"))
    assert code == 2 and err.startswith("cnndesk: error:") and "Known: conv1, conv2" in err
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------- folders of digits, fine-tuning
def digit_folder(mnist, root: Path, count: int) -> Path:
    """``count`` MNIST test digits as PNGs in ``root/<label>/``, dark on light paper, 5× larger."""
    from PIL import Image

    for index in range(count):
        folder = root / str(int(mnist.test.labels[index]))
        folder.mkdir(parents=True, exist_ok=True)
        pixels = np.kron(255 - mnist.test.images[index, 0].numpy(), np.ones((5, 5), np.uint8))
        Image.fromarray(pixels).save(folder / f"{index}.png")
    return root


def test_train_eval_and_compare_take_a_folder_of_digits(capsys, tmp_path, mnist):
    from cnndesk.engine import load_splits

    folder = digit_folder(mnist, tmp_path / "digits", 60)
    (folder / "3" / "broken.png").write_bytes(b"not a png")
    held_out = len(load_splits(f"folder:{folder}").test)
    out = tmp_path / "mlp.safetensors"
    code, stdout, err = run(capsys, "train", "--model", "mlp", "--dataset", f"folder:{folder}", "--epochs", "1",
                            "--batch-size", "16", "--no-augment", "--out", str(out), "--json")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("cnndesk: warning:")]
    assert len(warnings) == 1 and "1 file(s) could not be read" in warnings[0] and "broken.png" in warnings[0]
    assert f"{60 - held_out} training and {held_out} test images" in err
    _, meta = load_model(out)
    assert meta["training"]["dataset"] == f"folder:{folder.resolve()}"  # absolute: eval works from anywhere
    code, stdout, _ = run(capsys, "eval", "--checkpoint", str(out), "--json")  # its own test set by default
    report = last_json(stdout)
    assert report["dataset"] == f"folder:{folder.resolve()}" and report["test_images"] == held_out
    assert report["test_accuracy"] == pytest.approx(meta["metrics"]["test_accuracy"])
    assert all(Path(item["path"]).parent.parent == folder.resolve() for item in report["misclassified"])
    code, stdout, _ = run(capsys, "eval", "--checkpoint", str(out), "--dataset", "mnist", "--json")
    assert last_json(stdout)["test_images"] == 10_000
    # Named to test on, a folder without train/ and test/ is tested whole: every one of your exported digits.
    code, stdout, _ = run(capsys, "eval", "--checkpoint", str(out), "--dataset", f"folder:{folder}", "--json")
    assert last_json(stdout)["test_images"] == 60
    code, stdout, err = run(capsys, "compare", "--models", "mlp", "--dataset", f"folder:{folder}", "--epochs", "1",
                            "--json")
    assert code == 0 and len(last_json(stdout)["runs"]) == 1
    assert f"{60 - held_out} training and {held_out} test images" in err


@needs_pretrained
def test_init_from_fine_tunes_the_checkpoints_weights_on_mnist_and_a_folder(capsys, tmp_path, mnist):
    folder = digit_folder(mnist, tmp_path / "mine", 20)
    out = tmp_path / "tuned.safetensors"
    code, stdout, err = run(capsys, "train", "--init-from", str(pretrained_path()), "--dataset",
                            f"mnist+folder:{folder}", "--train-samples", "256", "--out", str(out), "--json")
    assert code == 0, err
    report = last_json(stdout)
    # 256 images from a fresh LeNet5 reach nowhere near this: the run started from the bundled weights.
    assert report["status"] == "finished" and report["test_accuracy"] >= 0.98
    bundled, _ = load_model(None)
    tuned, meta = load_model(out)
    training = meta["training"]
    assert training["dataset"] == f"mnist+folder:{folder.resolve()}"
    assert (training["epochs"], training["schedule"]) == (1, "cosine") and training["lr"] == pytest.approx(0.0006)
    assert tuned.config == bundled.config  # the checkpoint's architecture, without --model
