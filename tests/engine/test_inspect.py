"""Looking inside a model: probabilities, every layer's output, and the UI's own copy of the weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnndesk.engine import (
    Predictor,
    build_model,
    inspect_input,
    model_names,
    predict_probabilities,
    snapshot_weights,
)

LENET5_LAYERS = [
    ("conv1 · ReLU", "conv", (6, 28, 28)),
    ("pool1", "pool", (6, 14, 14)),
    ("conv2 · ReLU", "conv", (16, 10, 10)),
    ("pool2", "pool", (16, 5, 5)),
    ("fc1 · ReLU", "fc", (120,)),
    ("fc2 · ReLU", "fc", (84,)),
    ("fc3", "fc", (10,)),
]


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    """The first eight test digits as 28×28 float arrays (7, 2, 1, 0, 4, 1, 4, 9)."""
    return mnist.test.float_images()[:8, 0].numpy()


def logits_of(model, image: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(torch.from_numpy(image).reshape(1, 1, 28, 28))[0]


def test_lenet5_inspection_shows_each_layer(trained_lenet, digits):
    inspection = Predictor(trained_lenet.model).inspect(digits[0])
    assert [(layer.label, layer.kind, layer.shape) for layer in inspection.layers] == LENET5_LAYERS
    assert [layer.is_map for layer in inspection.layers] == [True] * 4 + [False] * 3
    # "conv1 · ReLU" shows the maps after the activation: nothing negative
    assert inspection.layers[0].output.min() >= 0.0
    assert all(layer.output.dtype == np.float32 for layer in inspection.layers)


def test_probabilities_are_a_distribution_over_ten_digits(trained_lenet, digits):
    predictor = Predictor(trained_lenet.model)
    for image in digits:
        inspection = predictor.inspect(image)
        probs = inspection.probabilities
        assert probs.shape == (10,)
        assert probs.min() >= 0.0
        assert probs.sum() == pytest.approx(1.0, abs=1e-5)
        assert inspection.label == int(probs.argmax())
        assert inspection.confidence == pytest.approx(float(probs.max()))
        # the probabilities are the softmax of the last layer shown
        np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(inspection.layers[-1].output), 0), rtol=1e-5)


def test_trained_model_recognises_the_first_test_digits(trained_lenet, digits, mnist):
    predictor = Predictor(trained_lenet.model)
    labels = [predictor.inspect(image).label for image in digits]
    truth = mnist.test.labels[:8].tolist()
    assert sum(a == b for a, b in zip(labels, truth, strict=True)) >= 6


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("net2", ["conv1", "pool1 · ReLU", "conv2", "pool2 · ReLU", "fc1"]),
        ("cnn2-bn", ["conv1 · BN · ReLU", "pool1", "conv2 · BN · ReLU", "pool2", "fc1"]),
        ("lenet5-classic", ["conv1 · Sigmoid", "pool1", "conv2 · Sigmoid", "pool2", "conv3 · Sigmoid",
                            "fc1 · Sigmoid", "fc2"]),
        ("mlp", ["fc1 · ReLU", "fc2"]),
    ],
)
def test_activation_and_batchnorm_fold_into_the_layer_before(name, labels, digits):
    inspection = Predictor(build_model(name)).inspect(digits[0])
    assert [layer.label for layer in inspection.layers] == labels
    assert inspection.layers[-1].shape == (10,)


@pytest.mark.parametrize("activation", ["relu", "leakyrelu", "tanh", "sigmoid"])
@pytest.mark.parametrize("name", model_names())
def test_inspector_shows_exactly_what_the_model_computes(name, activation, digits):
    """The layer-by-layer walk and the model's own forward pass give the same logits, bit for bit."""
    torch.manual_seed(1)
    model = build_model(name, activation=activation).eval()
    x = torch.from_numpy(digits[:1]).reshape(1, 1, 28, 28)
    inspection = inspect_input(model, x)
    with torch.no_grad():
        logits = model(x)[0]
    assert torch.equal(torch.from_numpy(inspection.layers[-1].output), logits)
    torch.testing.assert_close(torch.from_numpy(inspection.probabilities), predict_probabilities(model, x)[0])


def test_loading_a_snapshot_makes_the_predictor_match_the_source(trained_lenet, digits):
    torch.manual_seed(123)
    predictor = Predictor(build_model("lenet5"))
    source = trained_lenet.model
    before = predictor.inspect(digits[0]).layers[-1].output.copy()
    assert not np.array_equal(before, logits_of(source, digits[0]).numpy())

    predictor.load_weights(snapshot_weights(source))
    for image in digits:
        shown = torch.from_numpy(predictor.inspect(image).layers[-1].output)
        # equal up to float rounding (the trained model may keep its weights in another memory layout)
        torch.testing.assert_close(shown, logits_of(source, image), rtol=1e-5, atol=1e-5)


def test_predictor_is_a_separate_copy(digits, mnist):
    source = build_model("lenet5")
    predictor = Predictor(source)
    assert predictor.model is not source
    assert not predictor.model.training
    shown_before = predictor.inspect(digits[0]).probabilities.copy()

    # train the source one step: the predictor does not move until it is given the new weights
    optimizer = torch.optim.SGD(source.parameters(), lr=0.5)
    source.train()
    loss = torch.nn.functional.cross_entropy(source(mnist.train.float_images()[:64]), mnist.train.labels[:64])
    loss.backward()
    optimizer.step()
    np.testing.assert_array_equal(predictor.inspect(digits[0]).probabilities, shown_before)
    assert source.training  # making the predictor did not switch the source's mode

    predictor.load_weights(snapshot_weights(source))
    shown_after = torch.from_numpy(predictor.inspect(digits[0]).layers[-1].output)
    assert torch.equal(shown_after, logits_of(source, digits[0]))
    assert not np.array_equal(predictor.inspect(digits[0]).probabilities, shown_before)


def test_snapshot_is_a_copy_of_the_weights():
    model = build_model("mlp")
    snapshot = snapshot_weights(model)
    assert set(snapshot) == set(model.state_dict())
    kept = {k: v.clone() for k, v in snapshot.items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert all(torch.equal(snapshot[k], kept[k]) for k in snapshot)
    assert all(v.device.type == "cpu" for v in snapshot.values())


def test_snapshot_of_another_architecture_is_refused(digits):
    predictor = Predictor(build_model("lenet5"))
    with pytest.raises(RuntimeError):
        predictor.load_weights(snapshot_weights(build_model("mlp")))


def test_set_model_switches_architecture(digits):
    predictor = Predictor(build_model("lenet5"))
    predictor.set_model(build_model("mlp"))
    assert [layer.label for layer in predictor.inspect(digits[0]).layers] == ["fc1 · ReLU", "fc2"]


def test_batchnorm_model_predicts_one_image_with_its_running_statistics(mnist, digits):
    """The predictor is in eval mode: a lone drawing is not normalised by its own batch statistics."""
    torch.manual_seed(0)
    model = build_model("cnn2-bn").train()
    with torch.no_grad():
        for start in range(0, 512, 128):  # move the running statistics away from their defaults
            model(mnist.train.float_images()[start:start + 128])
    predictor = Predictor(model)
    assert model.training
    batch = torch.from_numpy(digits).reshape(-1, 1, 28, 28)
    expected = predict_probabilities(model, batch)
    for i, image in enumerate(digits):
        torch.testing.assert_close(torch.from_numpy(predictor.inspect(image).probabilities), expected[i],
                                   rtol=1e-4, atol=1e-5)


def test_predict_probabilities_keeps_the_mode(mnist):
    model = build_model("cnn2-bn").train()
    probs = predict_probabilities(model, mnist.test.float_images()[:16])
    assert probs.shape == (16, 10)
    torch.testing.assert_close(probs.sum(1), torch.ones(16))
    assert model.training


def test_a_model_that_is_not_a_sequence_of_layers_is_inspected_through_its_own_forward():
    """Forward hooks capture each layer as the model's own forward runs it (here a skip connection)."""
    import torch
    from torch import nn

    from cnndesk.engine import inspect_input

    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.relu = nn.ReLU()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            features = self.relu(self.conv(x)) + x  # not expressible as a sequence of these layers
            return self.fc(self.pool(features).flatten(1))

    torch.manual_seed(0)
    model = Skip().eval()
    x = torch.rand(1, 1, 28, 28)
    inspection = inspect_input(model, x)
    assert [layer.label for layer in inspection.layers] == ["conv · ReLU", "pool", "fc"]
    with torch.no_grad():
        expected_pool = (torch.relu(model.conv(x)) + x).mean(dim=(2, 3))[0]
        expected = torch.softmax(model(x)[0], dim=0)
    np.testing.assert_allclose(inspection.layers[1].output, expected_pool.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inspection.probabilities, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_layer_filters_are_every_convs_kernels_or_an_mlps_first_layer_as_templates():
    from cnndesk.engine import build_model, layer_filters

    lenet = layer_filters(build_model("lenet5"))
    assert [(f.name, f.kind, f.weights.shape) for f in lenet] == [("conv1", "conv", (6, 1, 5, 5)),
                                                                 ("conv2", "conv", (16, 6, 5, 5))]
    model = build_model("lenet5")
    np.testing.assert_array_equal(lenet[0].weights.shape, model.conv1.weight.shape)
    assert lenet[1].limit == pytest.approx(float(np.abs(lenet[1].weights).max()))
    mlp = layer_filters(build_model("mlp"))
    assert [(f.name, f.kind, f.weights.shape) for f in mlp] == [("fc1", "templates", (100, 28, 28))]
    # A fully connected layer after convolutions is not a picture of the input: not shown.
    assert all(f.kind == "conv" for f in layer_filters(build_model("cnn2")))
