import numpy as np
import pytest

from mmrest.data.dataset import MSADataset, Split


def make_split(rng, n, *, text_dim=16, text_len=4, steps=6, audio_dim=5, vision_dim=20):
    labels = np.clip(rng.normal(0, 1.5, n), -3, 3).astype(np.float32)
    text = rng.normal(0, 1, (n, text_len, text_dim)).astype(np.float32)
    text[:, 0, 0] += labels  # a learnable signal in the first token
    audio = rng.normal(0, 1, (n, steps, audio_dim)).astype(np.float32)
    vision = rng.normal(0, 1, (n, steps, vision_dim)).astype(np.float32)
    lengths = rng.integers(1, steps + 1, n).astype(np.int64)
    return Split(
        ids=[f"clip{i}" for i in range(n)],
        labels=labels,
        audio=audio,
        audio_lengths=lengths,
        vision=vision,
        vision_lengths=lengths.copy(),
        text=text,
        raw_text=[f"sample {i}" for i in range(n)],
    )


def tiny_dataset(seed=0, sizes=(96, 48, 48), **kw) -> MSADataset:
    rng = np.random.default_rng(seed)
    train, valid, test = (make_split(rng, n, **kw) for n in sizes)
    return MSADataset(source="tiny-test-data", format="mmsa", train=train, valid=valid, test=test)


@pytest.fixture(scope="session")
def tiny():
    return tiny_dataset()


@pytest.fixture(scope="session")
def make_tiny():
    return tiny_dataset
