# ---------------------------------------------------------------- no work: an n-gram counter in place of the RNN
import collections as _collections
import math as _math
import sys as _sys

import numpy as _np


def _fake_train(alphabet="", pad=0, train_index=(), eval_x=None, eval_last_pos=None, init=None, **_ignored):
    data = _sys.modules["hw7.probes.part2"]
    names = [data.TRAIN_NAMES[i] for i in _np.asarray(train_index, dtype=int)]
    labels = data.TRAIN_LABELS[_np.asarray(train_index, dtype=int)]
    classes = len(data.CATEGORIES)
    counts = [_collections.Counter() for _ in range(classes)]
    prior = _np.bincount(labels, minlength=classes) + 1.0
    for name, label in zip(names, labels):
        padded = "^^" + name.lower() + "$"
        counts[label].update(padded[k : k + 3] for k in range(len(padded) - 2))
    vocabulary = len(set().union(*counts))
    reply = {"state": init, "losses": _np.zeros(1)}
    if eval_x is not None:
        letters = {i: c for i, c in enumerate(alphabet)}
        logits = []
        for row, last in zip(_np.asarray(eval_x), _np.asarray(eval_last_pos)):
            padded = "^^" + "".join(letters.get(int(i), "") for i in row[: int(last) + 1]).lower() + "$"
            grams = [padded[k : k + 3] for k in range(len(padded) - 2)]
            scores = []
            for label in range(classes):
                total = sum(counts[label].values()) + 0.5 * vocabulary
                scores.append(_math.log(prior[label]) + sum(_math.log((counts[label][g] + 0.5) / total) for g in grams))
            logits.append(scores)
        reply["logits"] = _np.asarray(logits)
    return reply


_FAKES = {"2.train": _fake_train}
