"""The course's fit records its training, and the record proves it: every way of making up a
record without the training fails, an honest one passes, whatever travels through bytes."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from rnn_forecast import training_record
from rnn_forecast.models import build_model, fit, set_seed
from rnn_forecast.training_record import ModelState, TrainingRecord, record_of, training_problem
from rnn_forecast.windows import to_scale_free

import keras

EPOCHS = 6


@pytest.fixture(scope="module")
def data(split):
    train = to_scale_free(split.x_train, split.y_train)
    return {
        "the scale-free training windows": (train.x, train.y),
        "the raw training windows": (split.x_train, split.y_train),
    }


@pytest.fixture(scope="module")
def train(data):
    return data["the scale-free training windows"]


def trained(train, epochs: int = EPOCHS, seed: int = 0) -> keras.Model:
    set_seed(seed)
    model = build_model(keras.layers.GRU(4))
    fit(model, *train, epochs=epochs)
    return model


def forged(model: keras.Model, change) -> keras.Model:
    """``model`` with a deep copy of its record that ``change`` alters, and no cached verdicts."""
    record = copy.deepcopy(record_of(model))
    record.verdicts.clear()
    change(record)
    training_record.attach(model, record)
    return model


def test_an_honest_training_is_confirmed_and_survives_the_trip_through_bytes(train, data):
    model = trained(train)
    record = record_of(model)
    assert record.epochs == EPOCHS
    assert len(record.states) == EPOCHS + 1
    assert training_problem(model, data) is None
    training_record.attach(model, TrainingRecord.from_bytes(record.to_bytes()))
    assert training_problem(model, data) is None


def test_the_same_seed_gives_the_same_training_bit_for_bit(train):
    first, second = trained(train, epochs=2), trained(train, epochs=2)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_training_again_continues_the_record(train, data):
    set_seed(0)
    model = build_model(keras.layers.GRU(4))
    fit(model, *train, epochs=2)
    fit(model, *train, epochs=3)
    assert record_of(model).epochs == 5
    assert training_problem(model, data) is None


def test_raw_prices_count_as_training_and_other_data_does_not(data, split):
    set_seed(0)
    raw = build_model(keras.layers.GRU(4))
    fit(raw, split.x_train, split.y_train, epochs=2)
    assert training_problem(raw, data) is None
    test = to_scale_free(split.x_test, split.y_test)
    set_seed(0)
    on_test = build_model(keras.layers.GRU(4))
    fit(on_test, test.x, test.y, epochs=2)
    assert "trained on data other than the course's training windows" in training_problem(on_test, data)


def test_a_model_changed_after_training_is_not_confirmed(train, data):
    model = trained(train)
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([np.zeros_like(kernel), np.ones_like(bias)])
    assert "not where its recorded training ended" in training_problem(model, data)


def test_a_record_that_skips_an_epoch_is_caught_by_the_replay(train, data):
    """The forger's shortcut: one state copied over the next, so one epoch was never trained.
    The first and the last epochs are always replayed."""

    def skip_last(record):
        record.states[-2] = record.states[-1]

    def skip_first(record):
        record.states[0] = ModelState(record.states[1].weights, record.states[0].optimizer)

    assert "of its recorded training does not replay" in training_problem(
        forged(trained(train), skip_last), data
    )
    problem = training_problem(forged(trained(train), skip_first), data)
    assert "did not start from a freshly built model" in problem or "does not replay" in problem


def test_a_record_made_up_from_a_model_set_by_hand_is_caught(train, data):
    """Every state but the first replaced by the naive forecast's weights: nothing replays."""
    model = trained(train)

    def naive_everywhere(record):
        kernel, bias = model.layers[-1].get_weights()
        naive = [*model.get_weights()[:-2], np.zeros_like(kernel), np.ones_like(bias)]
        for index in range(1, len(record.states)):
            record.states[index] = ModelState(tuple(naive), record.states[index].optimizer)

    model.layers[-1].set_weights([np.zeros_like(model.layers[-1].get_weights()[0]), np.ones(1, "float32")])
    assert "does not replay" in training_problem(forged(model, naive_everywhere), data)


def test_a_record_that_starts_from_a_trained_model_is_not_confirmed(train, data):
    set_seed(0)
    model = build_model(keras.layers.GRU(4))
    fit(model, *train, epochs=2)
    model.set_weights([w + 0 for w in model.get_weights()])  # same weights, but changed by hand
    model.optimizer.iterations.assign(model.optimizer.iterations + 1)
    fit(model, *train, epochs=2)  # a new record, starting from a trained model
    assert "did not start from a freshly built model" in training_problem(model, data)


def test_an_order_that_is_not_a_permutation_is_refused(train, data):
    def repeat_one_window(record):
        record.orders[0] = np.zeros_like(record.orders[0])

    problem = training_problem(forged(trained(train), repeat_one_window), data)
    assert "do not each visit every training window once" in problem


def test_a_record_from_bytes_never_unpickles_and_refuses_extra_parts(train):
    record = record_of(trained(train, epochs=1))
    with pytest.raises(ValueError):
        TrainingRecord.from_bytes(b"not an npz")
    object_array = {"batch_size": np.array(32), "data": np.array("x"), "orders": np.array([object()])}
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **object_array, allow_pickle=True)
    with pytest.raises(ValueError):
        TrainingRecord.from_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    arrays = dict(np.load(io.BytesIO(record.to_bytes())))
    np.savez(buffer, **arrays, payload=np.zeros(3))
    with pytest.raises(ValueError, match="unexpected parts"):
        TrainingRecord.from_bytes(buffer.getvalue())
