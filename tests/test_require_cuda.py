"""A GPU job must fail, not skip, when CUDA is missing."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import ROOT


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="this machine has CUDA; the GPU job itself exercises REQUIRE_CUDA=1"
)
def test_require_cuda_fails_at_once_without_a_gpu():
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--collect-only",
        "tests/test_snippets.py",
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "REQUIRE_CUDA": "1"}, timeout=300
    )
    assert result.returncode != 0
    assert "REQUIRE_CUDA=1, but torch.cuda.is_available() is False" in result.stderr + result.stdout
