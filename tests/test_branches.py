"""fit_together: every member trains exactly as it would alone, only faster."""

import numpy as np
import pytest

from rnn_forecast.branches import fit_together
from rnn_forecast.models import build_model, set_seed
from rnn_forecast.training_record import epoch_orders

import keras

WINDOW, WINDOWS, EPOCHS = 7, 70, 3  # 70 windows: batches of 32, 32 and a short last one of 6


def member(kind: str, seed: int, units: int = 5) -> keras.Model:
    set_seed(seed)
    return build_model(getattr(keras.layers, kind)(units), window=WINDOW)


def trained_alone(model: keras.Model, initial, x, y, seed: int) -> keras.Model:
    """The reference: plain model.fit, one epoch at a time, in the member's order, same start."""
    model.set_weights(initial)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    for order in epoch_orders(seed, len(x), EPOCHS):
        model.fit(x[order], y[order], batch_size=32, shuffle=False, epochs=1, verbose=0)
    return model


def max_difference(first, second) -> float:
    return max(float(np.abs(a - b).max()) for a, b in zip(first, second, strict=True))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(WINDOWS, WINDOW, 1)).astype("float32")
    return x, (x[:, -1, 0] + 0.1 * rng.normal(size=WINDOWS)).astype("float32")


@pytest.mark.slow  # trains four models twice over
def test_each_member_ends_where_it_would_end_alone(data):
    x, y = data
    kinds = [("LSTM", 0), ("SimpleRNN", 1), ("GRU", 2), ("LSTM", 3), ("GRU", 4), ("SimpleRNN", 5)]
    models = [member(kind, seed) for kind, seed in kinds]
    initial = [model.get_weights() for model in models]
    seeds = [10 + index for index in range(len(models))]
    together = fit_together(models, x, y, seeds=seeds, epochs=EPOCHS)
    for (kind, seed), model, start, order_seed in zip(kinds, models, initial, seeds, strict=True):
        alone = trained_alone(member(kind, seed), start, x, y, order_seed)
        assert max_difference(start, model.get_weights()) > 1e-3, f"{kind} {seed} did not train"
        assert max_difference(alone.get_weights(), model.get_weights()) < 1e-6, f"{kind} {seed}"
    columns = together.predict(x)
    for column, model in enumerate(models):
        np.testing.assert_allclose(columns[:, column], model.predict(x, verbose=0)[:, 0], atol=1e-6)


@pytest.mark.slow  # trains models side by side on different data
def test_members_train_on_their_own_data(data):
    x, y = data
    models = [member("GRU", 0), member("GRU", 1)]
    initial = [model.get_weights() for model in models]
    xs, ys = [x, 100 * x], [y, 100 * y]
    fit_together(models, xs, ys, seeds=[0, 1], epochs=EPOCHS)
    for index, model in enumerate(models):
        alone = trained_alone(member("GRU", index), initial[index], xs[index], ys[index], index)
        assert max_difference(alone.get_weights(), model.get_weights()) < 1e-5


def test_a_member_alone_in_the_combined_model_is_not_coupled_to_the_others(data):
    """Training with a noisy neighbour gives the same member as training with a quiet one."""
    x, y = data
    rng = np.random.default_rng(1)
    outcomes = []
    for neighbour_data in (np.zeros_like(x), 50 * rng.normal(size=x.shape).astype("float32")):
        models = [member("LSTM", 0), member("LSTM", 1)]
        fit_together(models, [x, neighbour_data], [y, y], seeds=[0, 1], epochs=EPOCHS)
        outcomes.append(models[0].get_weights())
    assert max_difference(*outcomes) < 1e-6


def test_validation_curve_is_each_members_error_after_each_epoch(data):
    x, y = data
    models = [member("SimpleRNN", 0), member("LSTM", 0)]
    together = fit_together(models, x, y, seeds=[0, 1], epochs=EPOCHS, validation=(x[:20], y[:20]))
    assert together.validation_mse.shape == (EPOCHS, 2)
    for column, model in enumerate(models):
        final = np.mean((model.predict(x[:20], verbose=0)[:, 0] - y[:20]) ** 2)
        assert together.validation_mse[-1, column] == pytest.approx(final, rel=1e-5)
    assert together.seconds > 0


def test_epoch_orders_are_permutations_fixed_by_the_seed():
    orders = epoch_orders(3, 10, 4)
    assert orders.shape == (4, 10)
    assert all(sorted(order) == list(range(10)) for order in orders)
    assert not np.array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(orders, epoch_orders(3, 10, 4))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: build_model(
                keras.layers.LSTM(4, return_sequences=True), keras.layers.LSTM(4), window=WINDOW
            ),
            "Input -> SimpleRNN | GRU | LSTM -> Dense",
        ),
        (lambda: build_model(keras.layers.GRU(4, dropout=0.2), window=WINDOW), "dropout=0.2"),
        (
            lambda: keras.Sequential([keras.Input((WINDOW, 1)), keras.layers.GRU(4), keras.layers.Dense(2)]),
            "Dense\\(1\\)",
        ),
    ],
    ids=["stacked", "dropout", "two outputs"],
)
def test_models_it_cannot_train_exactly_are_refused(data, make, message):
    x, y = data
    with pytest.raises(ValueError, match=message):
        fit_together([make()], x, y, seeds=[0], epochs=1)


def test_mismatched_arguments_are_refused_with_a_clear_message(data):
    x, y = data
    with pytest.raises(ValueError, match="2 models but 1 seeds"):
        fit_together([member("GRU", 0), member("GRU", 1)], x, y, seeds=[0], epochs=1)
    with pytest.raises(ValueError, match="same number of training windows"):
        fit_together([member("GRU", 0), member("GRU", 1)], [x, x[:50]], [y, y[:50]], seeds=[0, 1], epochs=1)
    short = build_model(keras.layers.GRU(5), window=WINDOW - 1)
    with pytest.raises(ValueError, match="sequences of one length"):
        fit_together([member("GRU", 0), short], [x, x[:, 1:]], y, seeds=[0, 1], epochs=1)


def batches_in_order(x, y, orders, batch_size=32):
    for order in orders:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            yield x[batch], y[batch]


def early_stopped_alone(model, initial, x, y, validation, seed, patience):
    """The reference: one Keras fit in the member's orders, with Keras's own EarlyStopping."""
    model.set_weights(initial)
    stopper = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    history = model.fit(
        batches_in_order(x, y, epoch_orders(seed, len(x), EARLY_EPOCHS)),
        steps_per_epoch=-(-len(x) // 32),
        epochs=EARLY_EPOCHS,
        shuffle=False,
        validation_data=validation,
        callbacks=[stopper],
        verbose=0,
    )
    return model, stopper.best_epoch + 1, len(history.history["loss"])


EARLY_EPOCHS = 12


@pytest.mark.slow  # trains three models together and each alone, up to 12 epochs
def test_early_stopping_keeps_each_members_best_epoch_as_keras_early_stopping_does(data):
    x, y = data
    # Each member its own validation targets: one the training misleads about (it stops at once),
    # the training targets themselves (it never stops), and a fraction of them (it stops midway).
    validation_y = [(0.5 - y[:30]).astype("float32"), y[:30], (0.15 * y[:30]).astype("float32")]
    validation = ([x[:30]] * 3, validation_y)
    kinds = [("SimpleRNN", 0), ("GRU", 1), ("LSTM", 2)]
    models = [member(kind, seed) for kind, seed in kinds]
    initial = [model.get_weights() for model in models]
    seeds = [7, 8, 9]
    together = fit_together(models, x, y, seeds=seeds, epochs=EARLY_EPOCHS, validation=validation, patience=2)
    assert len(set(together.epochs_run)) == 3, f"members should stop apart: {together.epochs_run}"
    for index, ((kind, seed), model) in enumerate(zip(kinds, models, strict=True)):
        alone, best, ran = early_stopped_alone(
            member(kind, seed), initial[index], x, y, (x[:30], validation_y[index]), seeds[index], 2
        )
        assert (together.best_epochs[index], together.epochs_run[index]) == (best, ran), kind
        assert max_difference(alone.get_weights(), model.get_weights()) < 1e-6, kind
        assert np.isnan(together.validation_mse[ran:, index]).all()
        assert not np.isnan(together.validation_mse[:ran, index]).any()
    columns = together.predict(x)
    for column, model in enumerate(models):
        np.testing.assert_allclose(columns[:, column], model.predict(x, verbose=0)[:, 0], atol=1e-6)


def test_early_stopping_without_validation_data_is_refused(data):
    x, y = data
    with pytest.raises(ValueError, match="early stopping needs validation data"):
        fit_together([member("GRU", 0)], x, y, seeds=[0], epochs=1, patience=3)
