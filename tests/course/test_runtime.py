"""One variable picks the device; nbgrader's own variable switches demos to their grading size."""

import pytest
import torch

import course


def test_device_from_the_environment(monkeypatch):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    assert course.device() == torch.device("cpu")
    monkeypatch.setenv("COURSE_DEVICE", "auto")
    assert course.device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.delenv("COURSE_DEVICE")
    assert course.device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_asking_for_cuda_without_a_gpu_says_so(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    monkeypatch.setenv("COURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="COURSE_DEVICE=cuda but PyTorch sees no CUDA device"):
        course.device()


@pytest.mark.parametrize(("mode", "grading"), [("", False), ("autograde", True), ("validate", True)])
def test_grading_mode_shrinks_demos_only(monkeypatch, mode, grading):
    monkeypatch.setenv("COURSE_DEVICE", "cpu")
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    assert course.is_grading() is grading
    assert course.budget(cpu=100, gpu=1000, grading=5) == (5 if grading else 100)
    assert course.budget(cpu=100) == 100


def test_seeding_gives_the_same_draws():
    first = course.seed_everything(3)
    a = torch.randn(4, generator=first), torch.randn(2)
    second = course.seed_everything(3)
    b = torch.randn(4, generator=second), torch.randn(2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
