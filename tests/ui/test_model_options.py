"""The model's builder options in the training panel: each model's defaults, disabled where they do not apply."""

from __future__ import annotations

from PySide6.QtCore import Qt
from torch import nn

from cnndesk.engine import MODELS, load_model


def choose(panel, name: str) -> None:
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData(name))


def option_widgets(panel) -> dict:
    return {"activation": panel.activationCombo, "pooling": panel.poolingCombo, "batchnorm": panel.batchnormCheck,
            "dropout": panel.dropoutSpin, "width": panel.widthSpin, "init": panel.initCombo}


def test_each_model_shows_its_own_option_defaults(window):
    panel = window.trainingPanel
    choose(panel, "cnn2")
    assert panel.batchnormCheck.isEnabled() and not panel.batchnormCheck.isChecked()
    choose(panel, "cnn2-bn")
    assert panel.batchnormCheck.isChecked()
    choose(panel, "lenet5-classic")
    assert panel.poolingCombo.currentData() == "avg" and panel.activationCombo.currentData() == "sigmoid"
    choose(panel, "vgg-mini")
    assert panel.dropoutSpin.value() == 0.3
    assert panel.poolingCombo.currentData() == "max" and panel.widthSpin.value() == 1.0
    assert panel.initCombo.currentData() == "default"


def test_options_a_model_does_not_take_are_disabled_with_the_reason(window):
    panel = window.trainingPanel
    choose(panel, "mlp")
    assert not panel.poolingCombo.isEnabled() and panel.poolingCombo.currentIndex() == -1
    assert "no convolutions" in panel.poolingCombo.toolTip()
    assert panel.poolingCombo.isVisible()  # still in place: the layout does not jump
    assert panel.batchnormCheck.isEnabled() and panel.dropoutSpin.isEnabled()
    choose(panel, "resnet-mini")
    assert not panel.batchnormCheck.isEnabled() and panel.batchnormCheck.isChecked()  # it always has BatchNorm
    assert "always has BatchNorm" in panel.batchnormCheck.toolTip()
    choose(panel, "nin-mini")
    assert not panel.dropoutSpin.isEnabled() and panel.poolingCombo.isEnabled()
    choose(panel, "lenet5")
    assert all(widget.isEnabled() for widget in option_widgets(panel).values())
    assert "Width multiplier" in panel.widthSpin.toolTip()


def test_config_carries_the_models_own_options(window):
    panel = window.trainingPanel
    choose(panel, "lenet5")
    panel.poolingCombo.setCurrentIndex(panel.poolingCombo.findData("avg"))
    panel.batchnormCheck.setChecked(True)
    panel.dropoutSpin.setValue(0.25)
    panel.widthSpin.setValue(2.0)
    panel.initCombo.setCurrentIndex(panel.initCombo.findData("kaiming"))
    config = panel.config()
    assert config.model_options == {"activation": "relu", "pooling": "avg", "batchnorm": True, "dropout": 0.25,
                                    "width": 2.0, "init": "kaiming"}
    config.validate()
    choose(panel, "mlp")
    assert panel.widthSpin.value() == 1.0  # a new model starts from its own defaults
    assert set(panel.config().model_options) == set(MODELS["mlp"].defaults)  # no pooling
    choose(panel, "resnet-mini")
    assert "batchnorm" not in panel.config().model_options and "pooling" not in panel.config().model_options


def test_a_run_disables_the_options_and_gives_back_only_the_models_own(window):
    panel = window.trainingPanel
    choose(panel, "mlp")
    panel.set_running(True)
    assert not any(widget.isEnabled() for widget in option_widgets(panel).values())
    panel.set_running(False)
    assert panel.batchnormCheck.isEnabled() and not panel.poolingCombo.isEnabled()


def test_training_with_options_from_the_panel_builds_that_network(window, qtbot):
    panel = window.trainingPanel
    choose(panel, "mlp")
    panel.batchnormCheck.setChecked(True)
    panel.widthSpin.setValue(0.5)
    panel.samplesSpin.setValue(200)
    panel.epochsSpin.setValue(1)
    panel.batchSpin.setValue(64)
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        qtbot.mouseClick(panel.trainButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    layers = dict(window.predictor.model.named_children())
    assert isinstance(layers["bn1"], nn.BatchNorm1d) and layers["fc1"].out_features == 50
    _, meta = load_model(finished.args[0].checkpoint)
    assert meta["model"]["options"]["batchnorm"] is True and meta["model"]["options"]["width"] == 0.5


def test_seed_is_part_of_the_run_and_of_a_shown_config(window):
    panel = window.trainingPanel
    panel.seedSpin.setValue(7)
    config = panel.config()
    assert config.seed == 7
    config.seed = 42
    panel.show_config(config)
    assert panel.seedSpin.value() == 42
    panel.set_running(True)
    assert not panel.seedSpin.isEnabled()
    panel.set_running(False)
    assert panel.seedSpin.isEnabled()
