"""Table 7: which samples are chosen (by hand), seed averaging, alignment by id, determinism."""
import numpy as np
import pytest

from mmrest.analysis.case_study import LARGEST, RANDOM, SMALLEST, Predictions, case_study

IDS = ("a", "b", "c", "d", "e", "f", "g")
LABELS = np.array([1.0, -1.0, 2.0, 0.0, -2.0, 0.5, 3.0])


def _run(pred, ids=IDS, labels=LABELS):
    return Predictions(tuple(ids), np.asarray(labels, float), np.asarray(pred, float))


# full model, two seeds; mean predictions 1.1, -1.0, 0.0, 0.3, -2.2, 0.5, 2.5
# errors:                                   0.1,  0.0, 2.0, 0.3,  0.2, 0.0, 0.5
FULL = [_run([1.0, -1.2, 0.5, 0.2, -2.4, 0.4, 2.0]), _run([1.2, -0.8, -0.5, 0.4, -2.0, 0.6, 3.0])]
OTHER = [_run([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])]


def test_largest_then_smallest_then_random_from_the_rest():
    study = case_study({"full": FULL, "no_bias": OTHER}, reference="full", largest=2, smallest=2, random=2, seed=7)
    cases = study.cases
    assert [(c.id, c.why) for c in cases[:4]] == [("c", LARGEST), ("g", LARGEST), ("b", SMALLEST), ("f", SMALLEST)]
    # b and f tie at error 0: test-set order decides.
    rest = ["a", "d", "e"]
    drawn = [rest[i] for i in np.random.default_rng(7).choice(np.arange(3), size=2, replace=False)]
    assert [(c.id, c.why) for c in cases[4:]] == [(d, RANDOM) for d in drawn]
    c = cases[0]
    assert c.label == 2.0
    full, other = c.predictions
    assert full.variant == "full" and full.prediction.mean == pytest.approx(0.0) and full.error == pytest.approx(2.0)
    assert full.prediction.std == pytest.approx(np.std([0.5, -0.5], ddof=1)) and full.prediction.n == 2
    assert other.variant == "no_bias" and other.prediction.std is None and other.error == pytest.approx(2.0)
    assert (study.samples, study.seed) == (7, 7)


def test_same_seed_same_choice_and_texts_by_id():
    texts = {i: f"text of {i}" for i in IDS if i != "c"}
    one = case_study({"full": FULL}, reference="full", texts=texts, largest=1, smallest=1, random=3, seed=3)
    two = case_study({"full": FULL}, reference="full", texts=texts, largest=1, smallest=1, random=3, seed=3)
    assert one == two
    assert one.cases[0].id == "c" and one.cases[0].text is None
    assert all(c.text == f"text of {c.id}" for c in one.cases[1:])


def test_asking_for_more_than_exists_takes_every_sample_once():
    study = case_study({"full": FULL}, reference="full", largest=5, smallest=5, random=5)
    assert sorted(c.id for c in study.cases) == sorted(IDS)


def test_runs_in_another_order_are_aligned_by_id():
    order = [6, 5, 4, 3, 2, 1, 0]
    shuffled = _run(np.asarray([0.0] * 7), ids=[IDS[i] for i in order], labels=LABELS[order])
    shuffled = Predictions(shuffled.ids, shuffled.labels, np.asarray(FULL[0].pred)[order])
    a = case_study({"full": [FULL[0]], "x": [FULL[0]]}, reference="full", largest=1, smallest=0, random=0)
    b = case_study({"full": [FULL[0]], "x": [shuffled]}, reference="full", largest=1, smallest=0, random=0)
    assert a.cases[0].predictions[1] == b.cases[0].predictions[1]


def test_mismatched_runs_are_refused():
    with pytest.raises(ValueError, match="different test samples"):
        case_study({"full": FULL, "x": [_run([0.0] * 6, ids=IDS[:6], labels=LABELS[:6])]}, reference="full")
    with pytest.raises(ValueError, match="different labels"):
        case_study({"full": FULL, "x": [_run([0.0] * 7, labels=LABELS + 1)]}, reference="full")
    with pytest.raises(ValueError, match="no trained model"):
        case_study({"full": []}, reference="full")
