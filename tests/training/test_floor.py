"""The floor: a mean predictor and ridge regressions, checked against a closed-form ridge on
features built by plain loops; the regularisation is chosen on validation only."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from mmrest.data.dataset import MSADataset
from mmrest.metrics import msa_metrics
from mmrest.training.floor import ALPHAS, MEAN, RIDGE_ALL, RIDGE_TEXT, compute_floor


def loop_features(split, modalities, pooling):
    """Each sample's vector by plain loops: pooled text, acoustic and visual means over real steps."""
    rows = []
    for i in range(len(split)):
        row = []
        for modality in modalities:
            if modality == "text":
                tokens = split.text[i]
                real = [t for t in tokens if np.abs(t).sum() > 0]
                row.extend(tokens[0] if pooling == "cls" else np.mean(real, axis=0))
            else:
                steps = getattr(split, modality)[i][: getattr(split, f"{modality}_lengths")[i]]
                row.extend(np.mean(steps, axis=0) if len(steps) else np.zeros(steps.shape[1]))
        rows.append(row)
    return np.array(rows, dtype=np.float64)


def closed_form_ridge(x_train, y_train, alpha):
    """Ridge with an unpenalised intercept, on features standardised with train statistics."""
    mu, sd = x_train.mean(0), x_train.std(0)
    sd[sd == 0] = 1.0
    xs = (x_train - mu) / sd
    y_mean = y_train.mean()
    w = np.linalg.solve(xs.T @ xs + alpha * np.eye(xs.shape[1]), xs.T @ (y_train - y_mean))
    return lambda x: ((x - mu) / sd) @ w + y_mean


def oracle(data, modalities, pooling):
    """The alpha with the lowest validation MAE and the valid and test predictions it gives."""
    x = {s: loop_features(data.split(s), modalities, pooling) for s in ("train", "valid", "test")}
    y = data.train.labels.astype(np.float64)
    best = None
    for alpha in ALPHAS:
        predict = closed_form_ridge(x["train"], y, alpha)
        mae = np.mean(np.abs(predict(x["valid"]) - data.valid.labels))
        if best is None or mae < best[0]:
            best = (mae, alpha, predict(x["valid"]), predict(x["test"]))
    return best[1:]


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_every_ridge_entry_matches_a_closed_form_fit_on_loop_built_features(make_tiny, pooling):
    data = make_tiny(seed=5, sizes=(60, 30, 30), text_dim=6, audio_dim=3, vision_dim=4)
    floor = compute_floor(data, text_pooling=pooling)
    assert [e.name for e in floor.entries] == [MEAN, RIDGE_ALL, RIDGE_TEXT] and floor.missing == {}
    for name, modalities in ((RIDGE_ALL, ("text", "audio", "vision")), (RIDGE_TEXT, ("text",))):
        entry = floor.entry(name)
        alpha, valid_pred, test_pred = oracle(data, modalities, pooling)
        assert entry.modalities == modalities and entry.alpha == alpha
        for got, want in ((entry.valid, msa_metrics(valid_pred, data.valid.labels)),
                          (entry.test, msa_metrics(test_pred, data.test.labels))):
            assert got == pytest.approx(want, rel=1e-6, abs=1e-9)


def test_mean_predictor_predicts_the_train_mean(make_tiny):
    data = make_tiny(seed=1, sizes=(40, 20, 20))
    entry = compute_floor(data, text_pooling="cls").entry(MEAN)
    mean = float(np.mean(data.train.labels.astype(np.float64)))
    assert entry.alpha is None and entry.modalities == ()
    assert entry.valid["mae"] == pytest.approx(np.mean(np.abs(data.valid.labels - mean)))
    assert entry.test["mae"] == pytest.approx(np.mean(np.abs(data.test.labels - mean)))
    assert entry.test["corr"] == 0.0


def _with_labels(data: MSADataset, split: str, labels: np.ndarray) -> MSADataset:
    changed = dataclasses.replace(data.split(split), labels=labels.astype(np.float32))
    return dataclasses.replace(data, **{split: changed})


def test_alpha_is_chosen_on_validation_never_on_test(make_tiny):
    # Validation labels follow the planted signal, which a small alpha fits best; test labels
    # are constant at the train mean, which only the largest alpha comes near. Choosing on test
    # would pick the largest alpha.
    data = make_tiny(seed=2, sizes=(80, 40, 40), text_dim=4)
    data = _with_labels(data, "train", data.train.text[:, 0, 0] * 1.0)
    data = _with_labels(data, "valid", data.valid.text[:, 0, 0] * 1.0)
    data = _with_labels(data, "test", np.full(len(data.test), float(np.mean(data.train.labels))))
    entry = compute_floor(data, text_pooling="cls").entry(RIDGE_TEXT)
    assert entry.alpha == oracle(data, ("text",), "cls")[0]
    assert entry.alpha <= 1.0
    x = {s: loop_features(data.split(s), ("text",), "cls") for s in ("train", "test")}
    test_mae = [np.mean(np.abs(closed_form_ridge(x["train"], data.train.labels, a)(x["test"]) - data.test.labels))
                for a in ALPHAS]
    assert ALPHAS[int(np.argmin(test_mae))] == ALPHAS[-1]

    # Whatever the test labels, the choice stays.
    noisy = _with_labels(data, "test", np.random.default_rng(0).uniform(-3, 3, len(data.test)))
    assert compute_floor(noisy, text_pooling="cls").entry(RIDGE_TEXT).alpha == entry.alpha


def test_absent_modalities_are_left_out(make_tiny):
    data = dataclasses.replace(make_tiny(seed=3, sizes=(40, 20, 20)), absent_modalities=("audio", "vision"))
    floor = compute_floor(data, text_pooling="mean")
    assert floor.entry(RIDGE_ALL).modalities == ("text",)
    assert floor.entry(RIDGE_ALL).test == floor.entry(RIDGE_TEXT).test


def test_without_text_features_the_text_ridge_is_missing_with_its_reason(make_tiny):
    data = make_tiny(seed=4, sizes=(40, 20, 20))
    no_text = dataclasses.replace(
        data, **{s: dataclasses.replace(data.split(s), text=None) for s in ("train", "valid", "test")}
    )
    floor = compute_floor(no_text, text_pooling="cls")
    assert floor.entry(RIDGE_TEXT) is None
    assert "no pre-extracted text features" in floor.missing[RIDGE_TEXT]
    assert floor.entry(RIDGE_ALL).modalities == ("audio", "vision")


def test_floor_is_json_able_and_rejects_an_unknown_pooling(make_tiny):
    data = make_tiny(seed=6, sizes=(40, 20, 20))
    floor = compute_floor(data, text_pooling="mean")
    back = json.loads(json.dumps(dataclasses.asdict(floor)))
    assert back["entries"][1]["name"] == RIDGE_ALL and back["alphas"] == list(ALPHAS)
    with pytest.raises(ValueError, match="text_pooling"):
        compute_floor(data, text_pooling="max")
