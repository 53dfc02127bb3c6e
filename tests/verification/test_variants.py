"""Correct variants: other layouts and styles a too-strict grader would reject. Each gets full marks."""
from __future__ import annotations

import pytest

from .conftest import explain, fixture_params


@pytest.mark.parametrize("key", fixture_params("variant"))
def test_correct_variant_gets_full_marks(key: str, graded) -> None:
    verdict = graded[key]
    assert verdict.as_catalogued, "REJECTED: " + explain(verdict)
