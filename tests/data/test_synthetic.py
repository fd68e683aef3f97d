"""The synthetic generator: determinism, shapes, MOSI-like labels, padding, and a planted signal
that a simple model recovers in the documented order and strength."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV

from mmrest.data.dataset import SPLITS
from mmrest.data.readers import load_dataset
from mmrest.data.synthetic import (PRESETS, resolve_spec, synthesize, synthetic_dataset,
                                   write_synthetic)
from mmrest.errors import InputError

SMALL = dict(train=30, valid=10, test=12, text_len=6, text_dim=16, audio_len=9, vision_len=7)


def _arrays(data: dict) -> dict[str, np.ndarray]:
    return {f"{name}/{key}": np.asarray(value) for name in SPLITS for key, value in data[name].items()}


def test_same_seed_gives_identical_arrays_and_file_bytes(tmp_path):
    first, second = _arrays(synthesize("mosi", seed=7, **SMALL)), _arrays(synthesize("mosi", seed=7, **SMALL))
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].dtype == second[key].dtype and first[key].tobytes() == second[key].tobytes(), key
    a = write_synthetic(tmp_path / "a.pkl", "mosi", seed=7, **SMALL)
    b = write_synthetic(tmp_path / "b.pkl", "mosi", seed=7, **SMALL)
    assert a.read_bytes() == b.read_bytes()


def test_different_seeds_give_different_data():
    first, second = synthesize("mosi", seed=0, **SMALL), synthesize("mosi", seed=1, **SMALL)
    for key in ("text", "audio", "vision", "regression_labels", "audio_lengths"):
        assert not np.array_equal(first["train"][key], second["train"][key]), key


def test_presets_have_the_real_split_and_feature_sizes_and_stay_under_1gb():
    mosi, mosei = resolve_spec("mosi", {}), resolve_spec("mosei", {})
    assert (mosi.train, mosi.valid, mosi.test) == (1284, 229, 686)
    assert (mosei.train, mosei.valid, mosei.test) == (16326, 1871, 4659)
    assert (mosi.text_dim, mosi.audio_dim, mosi.vision_dim) == (768, 5, 20)
    assert (mosei.text_dim, mosei.audio_dim, mosei.vision_dim) == (768, 74, 35)
    for spec in PRESETS.values():
        n = spec.train + spec.valid + spec.test
        floats = n * (spec.text_len * spec.text_dim + spec.audio_len * spec.audio_dim + spec.vision_len * spec.vision_dim)
        assert 4 * floats < 0.6e9


@pytest.mark.slow
def test_full_mosi_preset_reads_back_through_the_real_reader(tmp_path):
    path = write_synthetic(tmp_path / "mosi.pkl", "mosi", seed=0)
    assert path.stat().st_size < 0.5e9
    dataset = load_dataset(path)
    assert [len(dataset.split(name)) for name in SPLITS] == [1284, 229, 686]
    assert dataset.train.text.shape == (1284, 50, 768) and dataset.test.text_bert.shape == (686, 3, 50)
    assert dataset.valid.audio.shape == (229, 50, 5) and dataset.valid.vision.shape == (229, 50, 20)
    assert dataset.meta["signal"] == {"text": 0.8, "audio": 0.5, "vision": 0.3}
    assert dataset.absent_modalities == ()


def test_labels_look_like_mosi_annotator_means():
    data = synthesize("mosi", seed=0, text_len=2, text_dim=2)
    labels = np.concatenate([data[name]["regression_labels"] for name in SPLITS]).astype(np.float64)
    assert labels.min() >= -3 and labels.max() <= 3
    # a mean of 3, 4 or 5 integer scores is a multiple of 1/60
    assert np.allclose(labels * 60, np.round(labels * 60), atol=1e-3)
    assert len(np.unique(labels)) > 30
    assert abs(labels.mean()) < 0.3 and 1.3 < labels.std() < 1.8  # MOSI: 0.07 and 1.57
    assert 0.4 < (labels > 0).mean() < 0.6


def test_padding_is_exact_zero_and_lengths_do_not_depend_on_the_label():
    data = synthesize("mosi", seed=2, text_len=12, text_dim=4)
    for name in SPLITS:
        split = data[name]
        for key in ("audio", "vision"):
            steps, lengths = split[key], split[f"{key}_lengths"]
            assert lengths.min() >= 1 and lengths.max() <= steps.shape[1]
            padding = np.arange(steps.shape[1])[None, :] >= lengths[:, None]
            assert (steps[padding] == 0).all() and (np.abs(steps[~padding]).sum(axis=-1) > 0).all()
        tokens = split["text_bert"]
        real = tokens[:, 1].sum(axis=1)
        assert (tokens[:, 0, 0] == 101).all() and (tokens[np.arange(len(real)), 0, real - 1] == 102).all()
        assert (tokens[:, 0][tokens[:, 1] == 0] == 0).all()
    labels = data["train"]["regression_labels"]
    for key in ("audio_lengths", "vision_lengths"):
        assert abs(np.corrcoef(data["train"][key], labels)[0, 1]) < 0.1


def _held_out_corr(train_x, train_y, test_x, test_y) -> float:
    model = RidgeCV(alphas=np.logspace(-2, 4, 13)).fit(train_x, train_y)
    return float(np.corrcoef(model.predict(test_x), test_y)[0, 1])


def _mean_over_true_steps(steps, lengths):
    real = np.arange(steps.shape[1])[None, :] < lengths[:, None]
    return (steps * real[:, :, None]).sum(axis=1) / lengths[:, None]


@pytest.mark.slow
def test_planted_signal_is_recovered_in_order_and_at_its_stated_strength(tmp_path):
    dataset = synthetic_dataset("mosi", seed=0, cache_dir=tmp_path, text_len=8)
    signal = dataset.meta["signal"]
    readouts = {
        "text cls": lambda s: s.text[:, 0],
        "text mean": lambda s: s.text.mean(axis=1),
        "audio": lambda s: _mean_over_true_steps(s.audio, s.audio_lengths),
        "vision": lambda s: _mean_over_true_steps(s.vision, s.vision_lengths),
    }
    corr = {name: _held_out_corr(f(dataset.train), dataset.train.labels, f(dataset.test), dataset.test.labels)
            for name, f in readouts.items()}
    assert corr["text cls"] > corr["audio"] + 0.1 and corr["text mean"] > corr["audio"] + 0.1
    assert corr["audio"] > corr["vision"] + 0.1
    for name, value in corr.items():
        stated = signal[name.split()[0]]
        assert stated - 0.12 < value < stated + 0.08, (name, value, stated)


def test_synthetic_dataset_is_generated_once_per_parameter_set(tmp_path):
    first = synthetic_dataset("mosi", seed=3, cache_dir=tmp_path, **SMALL)
    files = list(tmp_path.iterdir())
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    again = synthetic_dataset("mosi", seed=3, cache_dir=tmp_path, **SMALL)
    assert files[0].stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.train.text, again.train.text)
    assert first.meta["seed"] == 3 and first.meta["spec"]["train"] == 30
    synthetic_dataset("mosi", seed=3, cache_dir=tmp_path, **{**SMALL, "train": 31})
    synthetic_dataset("mosi", seed=4, cache_dir=tmp_path, **SMALL)
    assert len(list(tmp_path.iterdir())) == 3


@pytest.mark.parametrize("bad, message", [
    (dict(preset="imdb"), "unknown synthetic preset"),
    (dict(colour=3), "unknown synthetic size"),
    (dict(train=0), "train=0"),
    (dict(text_len=1), "text_len=1"),
    (dict(audio_dim=2.5), "audio_dim=2.5"),
    (dict(vision_len=True), "vision_len=True"),
    (dict(text_signal=1.5), "text_signal=1.5"),
    (dict(seed=-1), "seed -1"),
])
def test_bad_parameters_are_refused(bad, message):
    kwargs = {"preset": "mosi", **bad}
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        synthesize(**kwargs)
