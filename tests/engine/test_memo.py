"""Remembered reference work: computed once, read back only for the same name, inputs and sources."""
from __future__ import annotations

import json

import pytest

from autograder.checks import memo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(memo, "_folder", lambda: tmp_path / ".cache")
    monkeypatch.delenv(memo.ENV_OFF, raising=False)
    return tmp_path / ".cache"


def counting(value):
    calls = []

    def compute():
        calls.append(1)
        return value

    return compute, calls


def test_a_value_is_computed_once_then_read_back(cache):
    compute, calls = counting(0.8125)
    assert memo.remembered("acc", {"seed": 1}, compute) == 0.8125
    assert memo.remembered("acc", {"seed": 1}, compute) == 0.8125
    assert len(calls) == 1 and len(list(cache.glob("*.json"))) == 1


def test_other_inputs_or_other_sources_are_computed_again(cache, monkeypatch):
    compute, calls = counting(1.5)
    memo.remembered("acc", {"seed": 1}, compute)
    memo.remembered("acc", {"seed": 2}, compute)
    memo.remembered("loss", {"seed": 1}, compute)
    assert len(calls) == 3
    monkeypatch.setattr(memo, "_sources_digest", lambda: b"an edited reference")  # any source, data or library change
    memo.remembered("acc", {"seed": 1}, compute)
    assert len(calls) == 4


def test_a_corrupt_entry_is_recomputed_and_replaced(cache):
    compute, calls = counting([1, 2.5])
    memo.remembered("acc", {}, compute)
    (entry,) = cache.glob("*.json")
    entry.write_text("{not json")
    assert memo.remembered("acc", {}, compute) == [1, 2.5] and len(calls) == 2
    assert json.loads(entry.read_text())["value"] == [1, 2.5]


def test_only_finite_plain_values_are_kept(cache):
    compute, calls = counting(float("nan"))
    memo.remembered("acc", {}, compute)
    memo.remembered("acc", {}, compute)
    assert len(calls) == 2 and not list(cache.glob("*.json"))


def test_the_cache_can_be_switched_off(cache, monkeypatch):
    monkeypatch.setenv(memo.ENV_OFF, "1")
    compute, calls = counting(3.0)
    memo.remembered("acc", {}, compute)
    memo.remembered("acc", {}, compute)
    assert len(calls) == 2 and not cache.exists()


def test_an_unwritable_cache_costs_only_the_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(memo, "_folder", lambda: blocker / ".cache")
    compute, calls = counting(2.0)
    assert memo.remembered("acc", {}, compute) == 2.0 and memo.remembered("acc", {}, compute) == 2.0 and len(calls) == 2


def test_a_module_cache_lasts_until_the_grading_moves_to_the_next_module():
    calls = []

    @memo.for_one_module
    def digits():
        calls.append(1)
        return [0.5] * 10

    assert digits() is digits()
    assert len(calls) == 1
    memo.release_module_caches()
    digits()
    assert len(calls) == 2
