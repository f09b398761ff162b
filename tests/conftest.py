import os
import sys
from pathlib import Path

import pytest

# nbgrader runs `alembic` by name, and kernels start from PATH: use this environment's bin/.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("COURSE_DEVICE", "cpu")


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; none is visible to PyTorch")
    for item in items:
        if "needs_cuda" in item.keywords:
            item.add_marker(skip)
