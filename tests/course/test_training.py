"""course.training: the notebook's small training loop records what it promises and restores settings."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course.data import make_shapes
from course.training import History, cpu_threads, predict, train_segmentation


def tiny_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 1))


def pixel_accuracy(pred, target):
    return {"accuracy": float((pred == target).float().mean()), "ones": 1.0}


def run(seed: int = 0, **kwargs):
    train, held_out = make_shapes(40, size=16, seed=0).split(held_out=0.25)
    model = tiny_model()
    options = dict(loss_fn=F.cross_entropy, metrics_fn=pixel_accuracy, steps=7, batch_size=4, lr=1e-2,
                   evaluate_every=3, seed=seed, progress=False)
    options.update(kwargs)
    return model, train_segmentation(model, train, held_out, **options)


def test_history_has_one_entry_per_evaluation_and_the_last_step():
    model, history = run()
    assert isinstance(history, History)
    assert history.steps == [3, 6, 7]
    assert len(history.seconds) == len(history.train_loss) == 3
    assert history.seconds == sorted(history.seconds)
    assert set(history.metrics) == {"accuracy", "ones"} and len(history.metrics["accuracy"]) == 3
    assert history.last("ones") == 1.0 and history.first_time_reaching("ones", 1.0) == history.seconds[0]
    assert history.first_time_reaching("accuracy", 2.0) is None
    assert history.parameters == sum(p.numel() for p in model.parameters())
    assert not model.training


def test_training_is_deterministic_by_seed_and_learns():
    first, history = run(steps=30, evaluate_every=30)
    second, _ = run(steps=30, evaluate_every=30)
    other, _ = run(seed=1, steps=30, evaluate_every=30)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    assert any(not torch.equal(a, c) for a, c in zip(first.parameters(), other.parameters(), strict=True))
    assert history.last("accuracy") > 0.6


@pytest.mark.parametrize("threads", [1, 2])
def test_a_seeded_run_repeats_exactly_with_one_or_two_threads(threads):
    first, _ = run(steps=12, evaluate_every=12, threads=threads)
    second, _ = run(steps=12, evaluate_every=12, threads=threads)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)


def test_threads_are_set_for_the_run_and_restored():
    seen = []

    def loss(logits, target):
        seen.append(torch.get_num_threads())
        return F.cross_entropy(logits, target)

    before = torch.get_num_threads()
    run(loss_fn=loss, threads=1)
    assert set(seen) == {1} and torch.get_num_threads() == before
    with pytest.raises(RuntimeError), cpu_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_predict_returns_class_maps_by_batches_and_keeps_the_mode():
    model = tiny_model().train()
    images = torch.rand(5, 3, 8, 6)
    pred = predict(model, images, batch_size=2)
    assert pred.shape == (5, 8, 6) and pred.dtype == torch.int64
    assert torch.equal(pred, model.eval()(images).argmax(1))
    model.train()
    predict(model, images)
    assert model.training


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        run(steps=0)
