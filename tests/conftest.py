"""Test session setup: one torch thread per process (as the harness runs), headless plots."""

from __future__ import annotations

import os

import pytest
import torch

from tests.helpers import LRRecorder

torch.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def lr_recorder() -> LRRecorder:
    return LRRecorder()
