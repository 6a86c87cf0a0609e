"""Comparing models: a queue of runs, one row each, as JSON and as CSV."""

import csv
import json

from cnndesk.cli import main
from cnndesk.engine import TrainConfig, TrainingControl
from cnndesk.engine.experiments import run_queue


def test_compare_two_models_gives_two_rows(capsys, tmp_path):
    out = tmp_path / "runs.csv"
    code = main(["compare", "--models", "lenet5,mlp", "--epochs", "1", "--train-samples", "512",
                 "--test-samples", "500", "--csv", str(out), "--json"])
    assert code == 0
    runs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]
    assert [r["model"] for r in runs] == ["lenet5", "mlp"]
    assert [r["params"] for r in runs] == [61706, 79510]
    for r in runs:
        assert 0.0 <= r["test_accuracy"] <= 1.0 and 0.0 <= r["train_accuracy"] <= 1.0
        assert r["train_seconds"] > 0 and r["epochs"] == 1
    with out.open() as handle:
        table = list(csv.DictReader(handle))
    assert [row["model"] for row in table] == ["lenet5", "mlp"]
    assert table[1]["options"] == "activation=relu;batchnorm=False;dropout=0.0;init=default;width=1.0"


def test_activation_comparison_keeps_each_runs_options():
    configs = [TrainConfig.for_model("mlp", epochs=1, train_samples=256, test_samples=200) for _ in range(2)]
    configs[1].model_options = {"activation": "tanh"}
    rows = run_queue(configs)
    assert [row.options["activation"] for row in rows] == ["relu", "tanh"]


def test_a_stopped_queue_runs_nothing_more():
    control = TrainingControl()
    control.stop()
    configs = [TrainConfig.for_model("mlp", epochs=1, train_samples=256, test_samples=200)]
    assert run_queue(configs, control=control) == []


def test_compare_with_an_unknown_model_is_one_clear_error(capsys):
    assert main(["compare", "--models", "lenet5,alexnet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnndesk: error:") and "alexnet" in err and "Traceback" not in err


def test_compare_activations_from_the_command_line(capsys):
    code = main(["compare", "--models", "mlp:relu,mlp:tanh,mlp:sigmoid", "--epochs", "1", "--train-samples", "256",
                 "--test-samples", "200", "--json"])
    assert code == 0
    runs = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["runs"]
    assert [r["options"]["activation"] for r in runs] == ["relu", "tanh", "sigmoid"]


def test_an_unknown_activation_is_refused_before_training(capsys):
    assert main(["compare", "--models", "mlp:swish"]) == 2
    assert "Unknown activation 'swish'" in capsys.readouterr().err
