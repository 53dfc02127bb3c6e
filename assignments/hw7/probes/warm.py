"""Homework 7's hooks into the engine's process tree: warm-up before fork, worker set-up, reseeding."""
from __future__ import annotations

import random


def before_fork() -> None:
    """The first optimizer.step() imports torch._dynamo (seconds): pay that once, before workers fork."""
    import torch
    from torch import nn

    layer = nn.Linear(2, 2)
    for optimizer in (torch.optim.SGD(layer.parameters(), lr=0.0), torch.optim.Adam(layer.parameters(), lr=0.0)):
        layer(torch.zeros(1, 2)).sum().backward()
        optimizer.step()
        optimizer.zero_grad()


def in_worker() -> None:
    """One thread: a thread pool inherited through fork from a parent that already used
    OpenMP is dead in the child, and a parallel region would wait on it forever."""
    import torch

    torch.set_num_threads(1)


def reseed(seed: int) -> None:
    """Every random generator a check may draw from, on the trusted side."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
