"""Model summaries: shapes, parameters, multiply-adds, the output-size formula and receptive fields."""

import json

import pytest

from cnndesk.cli import main
from cnndesk.engine import build_model, count_parameters, model_names
from cnndesk.engine.summary import summarize


def test_lenet5_summary_matches_the_hand_computation():
    summary = summarize(build_model("lenet5"))
    rows = {r.name: r for r in summary.layers}
    assert rows["conv1"].output_shape == [6, 28, 28]
    assert rows["conv1"].params == 1 * 6 * 5 * 5 + 6
    assert rows["conv1"].macs == 6 * 28 * 28 * (1 * 5 * 5)
    assert rows["conv1"].formula == "(28 − 5 + 2·2) / 1 + 1 = 28"
    assert rows["pool1"].output_shape == [6, 14, 14]
    assert rows["pool1"].formula == "(28 − 2 + 2·0) / 2 + 1 = 14"
    assert rows["conv2"].output_shape == [16, 10, 10]
    assert rows["conv2"].macs == 16 * 10 * 10 * (6 * 5 * 5)
    assert rows["conv2"].formula == "(14 − 5 + 2·0) / 1 + 1 = 10"
    assert rows["pool2"].output_shape == [16, 5, 5]
    assert rows["fc1"].params == 400 * 120 + 120 and rows["fc1"].macs == 400 * 120
    # Receptive fields: 5, then a 2×2 pool (+1), a 5×5 conv at stride 2 (+8), another pool (+2).
    assert [rows[n].receptive_field for n in ("conv1", "pool1", "conv2", "pool2")] == [5, 6, 14, 16]
    assert rows["fc1"].receptive_field is None
    assert summary.total_params == 61706
    assert summary.total_macs == 117600 + 240000 + 48000 + 10080 + 840


@pytest.mark.parametrize("name", model_names())
def test_every_summary_adds_up_to_the_model(name):
    model = build_model(name)
    summary = summarize(model)
    assert summary.total_params == count_parameters(model)
    assert summary.layers[-1].output_shape[0] == 10
    assert summary.total_macs > 0


def test_residual_blocks_count_their_convolutions_and_widen_the_field():
    rows = {r.name: r for r in summarize(build_model("resnet-mini")).layers}
    assert rows["block1"].macs == 2 * 16 * 28 * 28 * (16 * 3 * 3)
    assert rows["block1"].output_shape == [16, 28, 28]
    assert [rows[n].receptive_field for n in ("conv1", "block1", "block2", "block3")] == [3, 7, 13, 25]


def test_cli_summary_json(capsys):
    assert main(["models", "--summary", "lenet5", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["model"] == "lenet5" and report["total_params"] == 61706
    assert report["layers"][0]["output_shape"] == [6, 28, 28]


def test_cli_summary_of_an_unknown_model_is_one_clear_error(capsys):
    assert main(["models", "--summary", "resnet50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cnndesk: error:") and "resnet50" in err and "Traceback" not in err
