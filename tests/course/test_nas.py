"""course.nas: the seeded landscape has one best architecture and is learnable; the real reward trains."""

import time

import pytest
import torch

from course.nas import BEST, WORST, RewardLandscape, TrainedReward, describe, make_stripes
from course.nets import one_thread


@pytest.fixture(scope="module")
def landscape():
    return RewardLandscape()


@pytest.fixture(scope="module")
def everything(landscape):
    return landscape.enumerate()


def test_the_landscape_is_deterministic_and_depends_on_its_seed(landscape, everything):
    actions, rewards = everything
    again = RewardLandscape()
    assert torch.equal(again.best, landscape.best)
    assert torch.equal(again(actions), rewards)
    other = RewardLandscape(seed=1)
    assert not torch.equal(other(actions), rewards)


def test_the_best_architecture_is_unique_and_scores_best(landscape, everything):
    actions, rewards = everything
    assert actions.shape == (landscape.size, 4, 2) == (65_536, 4, 2) and rewards.dtype == torch.float32
    assert torch.unique(actions, dim=0).shape[0] == landscape.size
    top = rewards.topk(2)
    assert torch.equal(actions[top.indices[0]], landscape.best)
    assert top.values[0] == pytest.approx(BEST) and top.values[0] - top.values[1] > 0.01
    assert rewards.min() == pytest.approx(WORST, abs=1e-6)
    assert bool(((rewards >= WORST - 1e-6) & (rewards <= BEST + 1e-6)).all())


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7])
@pytest.mark.parametrize("shape", [(3, 2, 2), (1, 3, 3), (5, 2, 3)])
def test_the_best_is_unique_for_other_seeds_and_spaces(seed, shape):
    num_layers, kernels, widths = shape
    landscape = RewardLandscape(num_layers, (1, 3, 5)[:kernels], (8, 16, 32)[:widths], seed=seed)
    actions, rewards = landscape.enumerate()
    assert int((rewards == rewards.max()).sum()) == 1
    assert torch.equal(actions[rewards.argmax()], landscape.best)
    assert (landscape.best[1:, 1] >= landscape.best[:-1, 1]).all(), "widths of the best do not shrink with depth"


def test_rewards_follow_the_batch_shape_and_reject_bad_actions(landscape):
    batch = torch.zeros(2, 3, 4, 2, dtype=torch.int64)
    assert landscape(batch).shape == (2, 3)
    with pytest.raises(TypeError):
        landscape(torch.zeros(1, 4, 2))
    with pytest.raises(ValueError):
        landscape(torch.zeros(1, 3, 2, dtype=torch.int64))
    with pytest.raises(ValueError):
        landscape(torch.full((1, 4, 2), 4, dtype=torch.int64))
    assert landscape.choices == [[1, 3, 5, 7], [8, 16, 32, 64]]
    assert describe(landscape.best, landscape.kernels, landscape.widths).count(">") == 3


def _reinforce(landscape, steps, batch=16, lr=0.05, seed=0):
    """A reference REINFORCE with a factorised policy, to check that the landscape is learnable."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.zeros(landscape.num_layers, 2, 4, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=lr)
    baseline = None
    with one_thread():
        for _ in range(steps):
            probs = torch.softmax(logits.detach(), -1).reshape(-1, 4)
            actions = torch.multinomial(probs, batch, replacement=True, generator=generator)
            actions = actions.reshape(landscape.num_layers, 2, batch).permute(2, 0, 1)
            log_probs = torch.log_softmax(logits, -1).expand(batch, -1, -1, -1).gather(-1, actions[..., None])
            rewards = landscape(actions)
            baseline = float(rewards.mean()) if baseline is None else baseline
            loss = -((rewards - baseline) * log_probs.sum((1, 2, 3))).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            baseline = 0.9 * baseline + 0.1 * float(rewards.mean())
    return torch.log_softmax(logits, -1).gather(-1, landscape.best[..., None]).sum().exp().item()


@pytest.mark.parametrize(("landscape_seed", "seed"), [(0, 0), (0, 1), (6, 0), (6, 2), (3, 1)])
def test_reinforce_concentrates_on_the_best_within_a_few_hundred_steps(landscape_seed, seed):
    assert _reinforce(RewardLandscape(seed=landscape_seed), steps=300, seed=seed) > 0.8


def test_stripes_are_balanced_and_seeded():
    images, labels = make_stripes(400, 10, torch.Generator().manual_seed(0))
    again, _ = make_stripes(400, 10, torch.Generator().manual_seed(0))
    assert images.shape == (400, 1, 10, 10) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.equal(images, again)
    assert set(labels.tolist()) == {0, 1, 2, 3}
    means = torch.stack([images[labels == c].mean() for c in range(4)])
    assert float(means.max() - means.min()) < 0.06, "classes must not differ in mean brightness"


def test_the_trained_reward_is_fast_cached_and_prefers_a_receptive_field():
    reward = TrainedReward()
    sensible = torch.tensor([[1, 2], [1, 2]])  # 3x3/16, 3x3/16
    degenerate = torch.tensor([[0, 2], [0, 2]])  # 1x1/16, 1x1/16: sees single pixels
    start = time.perf_counter()
    scores = reward(torch.stack([sensible, degenerate, sensible]))
    elapsed = time.perf_counter() - start
    assert scores.shape == (3,) and scores.dtype == torch.float32
    assert reward.trainings == 2 and scores[0] == scores[2]
    assert float(scores[0]) > 0.8, f"a 3x3 network should learn the stripes: {float(scores[0]):.3f}"
    assert float(scores[1]) < 0.45, f"a 1x1 network cannot beat chance by much: {float(scores[1]):.3f}"
    assert elapsed < 10, f"two trainings took {elapsed:.1f} s"
    assert TrainedReward().accuracy(sensible) == float(scores[0]), "the training is seeded"
