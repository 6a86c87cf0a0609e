"""Comparing models: a queue of runs, one row each, as JSON and as CSV."""

import csv
import json

import pytest

from cnndesk.cli import main
from cnndesk.engine import CnndeskError, TrainConfig
from cnndesk.engine.experiments import PRESETS, write_csv
from cnndesk.session.runs import RunController, new_run
from cnndesk.session.text import run_label


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
    outcomes = RunController().run_queue([new_run(config, save=False) for config in configs])
    assert [o.result.model.config["options"]["activation"] for o in outcomes] == ["relu", "tanh"]


def test_a_stopped_run_ends_the_queue_and_the_rest_stay_queued():
    from cnndesk.engine import TrainingCallback
    from cnndesk.session.runs import RunQueue

    controller = RunController()

    class StopAtFirstReport(TrainingCallback):
        def on_batches(self, batches) -> None:
            controller.stop()

    configs = [TrainConfig.for_model("mlp", epochs=1, train_samples=256, test_samples=200) for _ in range(3)]
    queue = RunQueue(new_run(config, save=False) for config in configs)
    outcomes = controller.run_queue(queue, callbacks_for=lambda plan: [StopAtFirstReport()], report_interval=0)
    assert [o.status for o in outcomes] == ["stopped"] and len(queue) == 2
    # A comparison saves nothing, so the model it stopped with is the one it reports.
    assert outcomes[0].checkpoint is None and outcomes[0].model is outcomes[0].result.model


def test_a_stop_between_two_runs_starts_no_other():
    from cnndesk.session.runs import RunQueue

    controller = RunController()
    configs = [TrainConfig.for_model("mlp", epochs=1, train_samples=256, test_samples=200) for _ in range(2)]
    queue = RunQueue(new_run(config, save=False) for config in configs)
    assert controller.run_queue(queue, on_start=lambda plan: controller.stop()) == []
    assert len(queue) == 2  # the run that was about to start is queued again


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


def test_presets_build_the_tutorials_comparisons_from_the_users_run():
    base = TrainConfig.for_model("net2", epochs=2, train_samples=1000, lr=0.01)
    sweep = PRESETS["activations"](base)
    assert [c.model_options["activation"] for c in sweep] == ["relu", "tanh", "sigmoid", "leakyrelu"]
    assert all(c.model == "net2" and c.epochs == 2 and c.train_samples == 1000 and c.lr == 0.01 for c in sweep)
    assert base.model_options == {}  # the user's run is left alone
    models = PRESETS["cnn-vs-mlp"](base)
    assert [c.model for c in models] == ["lenet5", "cnn2", "mlp"]
    # Each model trains with its own recipe, on the same data for the same epochs.
    assert [c.lr for c in models] == [TrainConfig.for_model(c.model).lr for c in models]
    assert all(c.epochs == 2 and c.train_samples == 1000 for c in models)


def test_a_run_label_names_what_sets_the_run_apart():
    config = TrainConfig.for_model("mlp")
    assert run_label(config) == "mlp · relu"
    config.model_options = {"activation": "tanh"}
    config.lr = 0.05
    assert run_label(config) == "mlp · tanh · lr 0.05"


def test_an_unwritable_csv_path_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CnndeskError, match="Cannot write"):
        write_csv([], blocker / "runs.csv")
