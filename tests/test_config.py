import pytest

from mmrest.config import PRESETS, STUDY_HYPERPARAMETERS, make_config
from mmrest.errors import InputError


def test_presets_carry_the_papers_values():
    mosi, mosei = make_config("mosi"), make_config("mosei")
    assert [getattr(mosi, n) for n in STUDY_HYPERPARAMETERS] == [7, 0.8, 1.0, 3.0, 1.0, 0.05, 0.01]
    assert [getattr(mosei, n) for n in STUDY_HYPERPARAMETERS] == [10, 0.7, 0.5, 70.0, 0.7, 0.05, 0.01]
    assert (mosi.batch_size, mosei.batch_size) == (64, 128)
    assert set(PRESETS) == {"mosi", "mosei", "mosi_frozen"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"k": 1}, "key 'k' = 1"),
        ({"xi": -1.0}, "key 'xi' = -1.0"),
        ({"gamma": float("nan")}, "key 'gamma'"),
        ({"eta": float("inf")}, "key 'eta'"),
        ({"lamda": 3}, "unknown key 'lamda'"),
        ({"v1": "big"}, "key 'v1' = 'big'"),
    ],
)
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(InputError, match=message):
        make_config("mosi", overrides, where="--set")


def test_float_hyperparameters_accept_floats():
    # The release declared them as int on its command line; ours must take 0.35 as 0.35.
    assert make_config("mosi", {"v1": 0.35, "gamma": -0.1}).v1 == 0.35


def test_unknown_preset():
    with pytest.raises(InputError, match="unknown preset 'iemocap'"):
        make_config("iemocap")
