"""The fixture catalogue itself: well formed, patches apply, expectations name real checks, coverage."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from autograder import rubric as rubric_mod
from autograder import verify

from .conftest import CATALOGUE


def test_catalogue_loads_and_names_are_unique() -> None:
    fixtures = verify.load_fixture_files()
    keys = [f.key for f in fixtures]
    assert len(keys) == len(set(keys))
    assert all(f.description for f in fixtures), [f.key for f in fixtures if not f.description]


def test_catalogue_is_big_enough() -> None:
    kinds = Counter(f.kind for f in verify.load_fixture_files())
    assert kinds["mutant"] >= 20 and kinds["variant"] >= 15 and kinds["adversarial"] >= 25, kinds


@pytest.mark.parametrize("fixture", [f for f in verify.load_fixture_files() if f.kind != "adversarial" or not f.options.get("builder")], ids=lambda f: f.key)
def test_every_fixture_builds(fixture: verify.Fixture, tmp_path: Path) -> None:
    """Patches apply exactly once; a mutant changes its module; builds write only into their folder."""
    subs = {k: f"/nonexistent/{k.lower()}" for k in ("RESULTS", "RESULTS_DIR", "CANARY", "MARKER", "HEARTBEAT", "PROJECT", "REFERENCE", "RUBRIC", "PLANT")}
    subs.update(TOKEN="0" * 12, PORT="9", UDP_PORT="9")
    built = verify.build_submission(fixture, tmp_path / "sub", subs)
    assert built.exists()
    if fixture.options.get("notebook"):
        notebook = json.loads((built / f"{fixture.module}.ipynb").read_text())
        assert notebook["cells"] and not (built / f"{fixture.module}.py").exists()
        return
    module = built / f"{fixture.module}.py" if built.is_dir() else None
    if fixture.kind == "mutant":
        assert module.read_text() != (verify.REFERENCE / f"{fixture.module}.py").read_text()
        compile(module.read_text(), str(module), "exec")
    if fixture.kind == "variant" and module is not None and module.exists():
        compile(module.read_text(), str(module), "exec")
    if module is not None and module.exists():
        assert "@@" not in module.read_text(), "an @@FIELD@@ was left unfilled"


@pytest.mark.usefixtures("remove_deep_trees")  # the deep_submission_folder builder
def test_builders_make_their_hostile_submissions(tmp_path: Path) -> None:
    subs = {"MARKER": str(tmp_path / "marker")}
    for case in [f for f in verify.load_fixture_files() if f.options.get("builder")]:
        built = verify.build_submission(case, tmp_path / case.name, subs)
        assert built.exists(), case.key
    assert not list(tmp_path.glob("marker*")), "building must never run the hostile payloads"


def test_patch_that_does_not_apply_is_an_error(tmp_path: Path) -> None:
    bad = verify.Fixture(kind="mutant", name="bad", module="q_rnn_and_grad", patches=(("q_rnn_and_grad", (("no such text", "x"),)),), outcome="fails", fails=("1a.1",))
    with pytest.raises(verify.PatchError):
        verify.build_submission(bad, tmp_path)


def test_expected_failures_name_rubric_checks() -> None:
    ids = {c.id for c in rubric_mod.load().checks}
    for f in CATALOGUE.fixtures:
        assert set(f.fails) <= ids, (f.key, set(f.fails) - ids)


def test_every_check_of_a_ready_part_is_killed_by_a_default_mutant() -> None:
    """Mutation coverage: each check fails for at least one mutant of the fast subset."""
    rubric = rubric_mod.load()
    ready_modules = {f.module for f in CATALOGUE.fixtures if f.kind == "mutant"}
    killed = {i for f in CATALOGUE.select(("mutant",), default_only=True) for i in f.fails}
    missing = [c.id for c in rubric.checks if c.module in ready_modules and c.id not in killed]
    assert not missing, f"checks no default mutant fails: {missing}"


def test_every_ready_part_has_variants_and_attacks() -> None:
    for module in {f.module for f in CATALOGUE.fixtures if f.kind == "mutant"}:
        assert any(f.kind == "variant" and f.module == module for f in CATALOGUE.fixtures), module


def test_adversarial_cases_state_their_outcome() -> None:
    for f in [f for f in verify.load_fixture_files() if f.kind == "adversarial"]:
        text = (Path(f.options["dir"]) / "case.toml").read_text()
        assert "[expect]" in text and f.outcome in verify.OUTCOMES, f.key


# ---------------------------------------------------------------------------- the results schema


def _sample() -> dict:
    return {
        "score": 1.0,
        "execution_time": 1.5,
        "output": "ok",
        "output_format": "text",
        "stdout_visibility": "hidden",
        "extra_data": {"finished": True},
        "tests": [{"number": "1c.1", "name": "1c.1 loss", "score": 1.0, "max_score": 1.0, "status": "passed", "visibility": "visible", "output": "Passed."}],
    }


def test_schema_accepts_a_valid_results_file() -> None:
    assert verify.validate(_sample()) == []
    assert verify.validate({"tests": [{"score": 1, "max_score": 2}]}) == []
    assert verify.validate({"score": 0, "tests": []}) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("tests"),
        lambda d: d.update(score="3"),
        lambda d: d.update(score=-1),
        lambda d: d.update(output_format="pdf"),
        lambda d: d.update(stdout_visibility="public"),
        lambda d: d.update(surprise=1),
        lambda d: d["tests"][0].update(status="ok"),
        lambda d: d["tests"][0].update(score=None),
        lambda d: d["tests"][0].update(visibility="secret"),
        lambda d: d["tests"][0].update(tags="a"),
        lambda d: d["tests"].append("not an object"),
        lambda d: (d.pop("score"), d["tests"][0].pop("score")),
        lambda d: d.update(leaderboard=[{"name": "x"}]),
    ],
)
def test_schema_rejects_invalid_results(change) -> None:
    data = _sample()
    change(data)
    assert verify.validate(data), data


def test_schema_file_is_json_with_the_gradescope_keys() -> None:
    schema = json.loads(verify.SCHEMA_PATH.read_text())
    assert {"score", "tests", "output", "visibility", "stdout_visibility", "extra_data", "leaderboard"} <= set(schema["properties"])


def test_results_problems_catches_caps_and_bad_sums() -> None:
    data = _sample()
    assert verify.results_problems(data) == []
    data["tests"][0]["output"] = "x" * 5000
    data["score"] = 3.0
    problems = verify.results_problems(data)
    assert any("cap" in p for p in problems) and any("sum" in p for p in problems)
