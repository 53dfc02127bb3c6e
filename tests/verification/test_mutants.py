"""Mutants: realistic student bugs. Each must lose exactly the points its catalogue entry names."""
from __future__ import annotations

import pytest

from .conftest import explain, fixture_params


@pytest.mark.parametrize("key", fixture_params("mutant"))
def test_mutant_is_caught_by_exactly_its_checks(key: str, graded) -> None:
    verdict = graded[key]
    assert verdict.caught, "SURVIVED: " + explain(verdict)
    assert verdict.as_catalogued, explain(verdict)
