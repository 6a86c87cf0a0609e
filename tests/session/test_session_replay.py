"""The session's replay: a model's training history, one snapshot at a time, without touching the model itself."""

from __future__ import annotations

import numpy as np
import pytest

from cnndesk.engine import Predictor, TrainConfig, build_model, fit
from cnndesk.session.state import Session


@pytest.fixture(scope="module")
def trained():
    config = TrainConfig.for_model("lenet5", epochs=2, batch_size=64, train_samples=640, test_samples=200,
                                   device="cpu")
    return fit(config)


@pytest.fixture
def session(trained) -> Session:
    session = Session()
    session.start_predicting(Predictor(build_model("lenet5")))
    session.set_model(trained.model, {"model": trained.model.config}, None, history=trained.snapshots)
    ink = np.zeros((280, 280), np.float32)
    ink[40:240, 130:150] = 1.0
    session.set_drawing(ink)
    return session


def test_a_snapshot_is_shown_and_the_latest_weights_come_back(session, trained):
    final = session.inspection.probabilities.copy()
    events = []
    session.snapshot_changed.connect(events.append)
    session.show_snapshot(0)
    assert session.snapshot == 0 and events == [0]
    first = session.inspection.probabilities
    expected = Predictor(trained.snapshots.model_at(0)).inspect(session.input.centred).probabilities
    np.testing.assert_allclose(first, expected, atol=1e-6)
    assert np.abs(first - final).max() > 1e-3
    # The model itself is untouched: going back shows exactly its weights.
    session.show_snapshot(None)
    assert events == [0, None]
    np.testing.assert_allclose(session.inspection.probabilities, final, atol=1e-6)


def test_a_run_that_starts_drops_the_old_history_and_live_weights_wait_while_a_snapshot_is_shown(session, trained):
    session.show_snapshot(1)
    shown = session.inspection.probabilities.copy()
    session.follow_run(build_model("lenet5"))
    assert session.history is None and session.snapshot is None  # the new run has none yet
    session.run_history(trained.snapshots)  # (as the worker hands over the run's history)
    session.show_snapshot(1)
    np.testing.assert_allclose(session.inspection.probabilities, shown, atol=1e-6)
    session.load_weights(trained.model.state_dict())  # a live snapshot of the run arrives meanwhile
    np.testing.assert_allclose(session.inspection.probabilities, shown, atol=1e-6)  # the replay stays put
    session.show_snapshot(None)  # and "latest" is the run's newest weights
    latest = Predictor(trained.model).inspect(session.input.centred).probabilities
    np.testing.assert_allclose(session.inspection.probabilities, latest, atol=1e-6)


def test_a_snapshot_out_of_range_is_refused_and_a_model_without_history_has_none(session):
    with pytest.raises(IndexError):
        session.show_snapshot(len(session.history))
    session.set_model(build_model("lenet5"), {"model": {"name": "lenet5"}}, None)
    assert session.history is None
    session.show_snapshot(0)  # nothing to replay: the latest weights stay
    assert session.snapshot is None


def test_the_latest_weights_evaluation_comes_back_with_them_and_a_run_s_newer_weights_drop_it(session, trained):
    evaluation = object()  # (the session only keeps it; the Test set tab shows it)
    session.set_evaluation(evaluation)
    session.show_snapshot(0)
    assert session.evaluation is None  # of other weights
    session.show_snapshot(1)
    session.show_snapshot(None)
    assert session.evaluation is evaluation  # the same weights again: no need to evaluate twice
    session.follow_run(build_model("lenet5"))
    session.run_history(trained.snapshots)
    session.set_evaluation(evaluation)
    session.show_snapshot(0)
    session.load_weights(trained.model.state_dict())  # the run moved on meanwhile
    session.show_snapshot(None)
    assert session.evaluation is None
