import pytest

from mmrest.config import PRESETS, STUDY_HYPERPARAMETERS, make_config, study_values
from mmrest.errors import InputError


def test_presets_carry_the_papers_values():
    mosi, mosei = make_config("mosi"), make_config("mosei")
    assert [getattr(mosi, n) for n in STUDY_HYPERPARAMETERS] == [7, 0.8, 1.0, 3.0, 1.0, 0.05, 0.01, "warm"]
    assert [getattr(mosei, n) for n in STUDY_HYPERPARAMETERS] == [10, 0.7, 0.5, 70.0, 0.7, 0.05, 0.01, "warm"]
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


# Combinations the model cannot run: refused when the configuration is made, one test each.


def test_hidden_must_equal_d1():
    with pytest.raises(InputError, match="hidden = 32 and d1 = 64 differ.*set both to the same size"):
        make_config("mosi", {"hidden": 32}, where="--set")
    assert make_config("mosi", {"hidden": 32, "d1": 32}).hidden == 32


def test_bert_backend_needs_a_folder():
    with pytest.raises(InputError, match="text_backend = bert needs bert_path.*on a machine with internet"):
        make_config("mosi", {"text_backend": "bert"})


def test_bert_folder_must_hold_a_model(tmp_path):
    with pytest.raises(InputError, match="is not a model folder \\(no config.json there\\)"):
        make_config("mosi", {"text_backend": "bert", "bert_path": str(tmp_path)})
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 40}')
    assert make_config("mosi", {"text_backend": "bert", "bert_path": str(tmp_path), "bert_max_len": 40})


def test_bert_max_len_must_fit_the_models_positions(tmp_path):
    (tmp_path / "config.json").write_text('{"max_position_embeddings": 40}')
    with pytest.raises(InputError, match="bert_max_len = 50 exceeds the 40 positions"):
        make_config("mosi", {"text_backend": "bert", "bert_path": str(tmp_path)})


def test_file_checks_can_be_skipped_to_read_old_results():
    config = make_config("mosi", {"text_backend": "bert", "bert_path": "/gone"}, check_files=False)
    assert config.bert_path == "/gone"


def test_the_kmeans_mode_reads_as_its_index_in_a_study():
    assert make_config("mosi", {"kmeans_mode": 1}).kmeans_mode == "restart"
    assert make_config("mosi", {"kmeans_mode": 0.0}).kmeans_mode == "warm"
    assert study_values(make_config("mosi", {"kmeans_mode": "restart"}))["kmeans_mode"] == 1
    with pytest.raises(InputError, match="key 'kmeans_mode' = 2"):
        make_config("mosi", {"kmeans_mode": 2})
