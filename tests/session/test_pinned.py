"""A model pinned beside the current one: both inspect the same input, and the pinned copy stays as it was pinned."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnndesk.engine import Predictor, build_model
from cnndesk.engine.preprocess import preprocess
from cnndesk.session.state import Session


def seeded(name: str, seed: int):
    torch.manual_seed(seed)
    return build_model(name)


@pytest.fixture
def session() -> Session:
    """A session predicting with a LeNet5 of random (seeded) weights, and a drawn vertical bar as its input."""
    session = Session()
    session.start_predicting(Predictor(build_model("lenet5")))
    session.set_model(seeded("lenet5", 0), {"model": {"name": "lenet5"}}, None)
    ink = np.zeros((280, 280), np.float32)
    ink[40:240, 130:150] = 1.0
    session.set_drawing(ink)
    return session


def test_pinning_keeps_the_model_while_another_becomes_current(session):
    pinned_events = []
    session.pinned_changed.connect(pinned_events.append)
    lenet_probabilities = session.inspection.probabilities
    pinned = session.pin()
    assert pinned_events == [pinned] and session.pinned is pinned and pinned.name == "lenet5"
    np.testing.assert_allclose(session.pinned_inspection.probabilities, lenet_probabilities, rtol=1e-5)

    session.set_model(seeded("mlp", 1), {"model": {"name": "mlp"}}, None)
    assert session.model.name == "mlp" and session.pinned.name == "lenet5"
    # Both inspect the same input, each with its own layers.
    assert [layer.name for layer in session.inspection.layers] == ["fc1", "fc2"]
    assert session.pinned_inspection.layers[0].name == "conv1"
    np.testing.assert_allclose(session.pinned_inspection.probabilities, lenet_probabilities, rtol=1e-5)
    assert not np.allclose(session.inspection.probabilities, lenet_probabilities)

    # A new drawing goes through both.
    ink = np.zeros((280, 280), np.float32)
    ink[60:80, 60:220] = 1.0
    session.set_drawing(ink)
    expected = Predictor(seeded("lenet5", 0)).inspect(preprocess(ink).centred).probabilities
    np.testing.assert_allclose(session.pinned_inspection.probabilities, expected, rtol=1e-5)
    session.set_drawing(None)
    assert session.pinned_inspection is None and session.pinned is not None


def test_unpinning_forgets_the_pinned_model(session):
    session.pin()
    events = []
    session.pinned_changed.connect(events.append)
    session.unpin()
    assert events == [None]
    assert session.pinned is None and session.pinned_inspection is None
    session.refresh()
    assert session.pinned_inspection is None and session.inspection is not None
    assert session.compare(np.zeros((28, 28), np.float32))[0] is None


def test_the_pinned_copy_does_not_follow_a_runs_weight_snapshots(session):
    session.pin()
    pinned_before = session.pinned_inspection.probabilities.copy()
    pinned_weights = {k: v.clone() for k, v in session.pinned.model.state_dict().items()}
    session.follow_run(build_model("lenet5"))
    shown = session.predictor.model.state_dict()
    session.load_weights({k: v * 3 for k, v in shown.items()})  # a snapshot of the run in progress
    assert not np.allclose(session.inspection.probabilities, pinned_before)  # the shown network moved on...
    np.testing.assert_allclose(session.pinned_inspection.probabilities, pinned_before, rtol=1e-5)  # ...not this
    assert all(torch.equal(v, pinned_weights[k]) for k, v in session.pinned.model.state_dict().items())
    # Nor does training the current model's own network in place touch it.
    with torch.no_grad():
        for parameter in session.model.model.parameters():
            parameter.mul_(0.5)
    assert all(torch.equal(v, pinned_weights[k]) for k, v in session.pinned.model.state_dict().items())


def test_compare_inspects_another_input_with_both_models_and_changes_nothing(session):
    session.pin()
    session.set_model(seeded("mlp", 1), {"model": {"name": "mlp"}}, None)
    inspection, pinned_inspection, inspections = session.inspection, session.pinned_inspection, session.inspections
    moved = np.roll(session.input.centred, 4, axis=1)
    pinned, shown = session.compare(moved)
    assert pinned.layers[0].name == "conv1" and shown.layers[0].name == "fc1"
    assert not np.allclose(shown.probabilities, inspection.probabilities)
    assert session.inspection is inspection and session.pinned_inspection is pinned_inspection
    assert session.inspections == inspections


def test_pinning_needs_a_model():
    with pytest.raises(ValueError, match="no model to pin"):
        Session().pin()
