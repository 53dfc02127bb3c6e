"""The students' self-check: up-to-date data, grader-like output, and no solution or hidden check in the template."""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path


from autograder import rubric as rubric_mod
from hw7 import selfcheck_data
from tests.workflow.conftest import REFERENCE, ROOT, TEMPLATE, copy_modules

SELFCHECK = TEMPLATE / "selfcheck.py"
DATA = TEMPLATE / "selfcheck_data.json"


def run_selfcheck(folder: Path, *args: str, data: Path = DATA) -> subprocess.CompletedProcess:
    # -I: the template's script must not need the project on sys.path
    return subprocess.run([sys.executable, "-I", str(SELFCHECK), "--dir", str(folder), "--data", str(data), *args], capture_output=True, text=True, timeout=900)


def rows(stdout: str) -> dict[str, tuple[str, str, str]]:
    """check id -> (points, status, message) from the table."""
    out = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\d[a-h]?\.\d+)\s{2,}.*?\s{2,}(\S+/\S+)\s{2,}(passed|failed|not here)\s{2,}(.*)$", line)
        if match:
            out[match.group(1)] = (match.group(2), match.group(3), match.group(4))
    return out


def test_data_file_is_up_to_date_with_the_rubric_and_reference():
    fresh = selfcheck_data.generate(log=lambda s: None)
    assert selfcheck_data.same(json.loads(DATA.read_text(encoding="utf-8")), fresh), "run: python -m autograder kit"


def test_up_to_date_means_equal_but_for_the_last_bits_of_a_float():
    same = selfcheck_data.same
    assert same({"x": [0.1, 2, "a"]}, {"x": [0.1 * (1 + 1e-13), 2, "a"]})  # another machine's BLAS
    assert not same({"x": [0.1]}, {"x": [0.1001]})
    assert not same({"x": 2}, {"x": 3})
    assert not same({"x": "a"}, {"x": "b"})
    assert not same({"x": 1, "y": 2}, {"y": 2, "x": 1})  # the generated order is part of the file
    assert not same({"x": [1, 2]}, {"x": [1, 2, 3]})
    assert not same({"x": True}, {"x": 1})


def test_reference_passes_every_local_example(tmp_path):
    folder = copy_modules(REFERENCE, tmp_path / "ref")
    result = run_selfcheck(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    data = json.loads(DATA.read_text())
    with_cases = {c["check"] for c in data["cases"]}
    assert with_cases and all(table[c][1] == "passed" for c in with_cases)
    assert all(table[c["id"]][1] == "not here" for c in data["checks"] if c["id"] not in with_cases)
    assert result.stdout.splitlines()[0].split() == ["check", "title", "points", "status", "message"]  # the grader's table


def test_template_fails_with_the_graders_not_implemented_message(tmp_path):
    folder = copy_modules(TEMPLATE, tmp_path / "tpl")
    result = run_selfcheck(folder, "1a", "1c")
    assert result.returncode == 1
    table = rows(result.stdout)
    assert table["1a.1"][1] == "failed" and table["1a.1"][0] == "0/1"
    assert table["1a.1"][2] == "Not implemented yet: your code raised NotImplementedError: 1a: implement RNNLayer.__init__"
    assert table["1c.1"][2].startswith("Not implemented yet: your code raised NotImplementedError: 1c:")
    assert "1b.1" not in table  # filtered by part


def test_wrong_code_gets_a_mismatch_message_like_the_grader(tmp_path):
    folder = copy_modules(REFERENCE, tmp_path / "mutant", modules=("q_rnn_and_grad",))
    path = folder / "q_rnn_and_grad.py"
    path.write_text(path.read_text().replace("    return F.mse_loss(pred, y)\n", "    return F.mse_loss(pred, y, reduction='sum')\n"))
    result = run_selfcheck(folder, "1c", "-v")
    assert result.returncode == 1
    assert "loss_fn(pred, y, last_timestep_only=False) on the homework's example: expected 3.007, got 18.04 (abs err 15.03, rel err 5; tolerance rtol=0.0001, atol=1e-05)." in result.stdout
    assert rows(result.stdout)["1c.3"][1] == "passed"


def test_missing_module_and_syntax_error_messages(tmp_path):
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "q_rnn_and_grad.py").write_text("def loss_fn(:\n")
    result = run_selfcheck(folder, "1c")
    assert "Your module q_rnn_and_grad has a syntax error, so this check cannot run" in result.stdout
    data = json.loads(DATA.read_text())
    if any(c["module"] == "q_rnn_last_name" for c in data["checks"]):
        result = run_selfcheck(folder, "2")
        assert "q_rnn_last_name.py (or q_rnn_last_name.ipynb) was not found" in result.stdout


# ----------------------------------------------------------------------------- nothing secret in the template


def _body_dump(fn: ast.FunctionDef) -> str:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        body = body[1:]
    return "\n".join(ast.dump(stmt, include_attributes=False) for stmt in body)


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _qualified(tree: ast.AST, prefix: str = ""):
    """(qualified name, function) for every function, e.g. ('RNNLayer.forward', node)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
            yield from _qualified(node, prefix + node.name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from _qualified(node, prefix + node.name + ".")


def _is_stub(fn: ast.FunctionDef) -> bool:
    return any(isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and getattr(n.exc.func, "id", "") == "NotImplementedError" for n in ast.walk(fn))


def student_part_bodies() -> dict[str, str]:
    """Reference bodies of the functions the students write (stubs in the template, or every
    reference function for modules whose template is not written yet)."""
    bodies = {}
    for ref_path in REFERENCE.glob("q_*.py"):
        ref_tree = ast.parse(ref_path.read_text())
        tpl_path = TEMPLATE / ref_path.name
        stubs = None
        if tpl_path.is_file():
            stubs = {name for name, fn in _qualified(ast.parse(tpl_path.read_text())) if _is_stub(fn)}
        for name, fn in _qualified(ref_tree):
            if stubs is None or name in stubs:
                dump = _body_dump(fn)
                if len(dump) > 40:  # skip trivial bodies such as `return x`
                    bodies[f"{ref_path.stem}.{name}"] = dump
    return bodies


def test_template_tree_holds_no_reference_implementation():
    secret = student_part_bodies()
    assert secret
    for path in sorted(TEMPLATE.rglob("*.py")):
        for fn in _functions(ast.parse(path.read_text())):
            dump = _body_dump(fn)
            leaked = [name for name, body in secret.items() if body == dump]
            assert not leaked, f"{path.name}:{fn.name} has the body of the reference's {leaked}"
    # nor as text: no multi-line reference body appears verbatim in any template file
    for ref_path in REFERENCE.glob("q_*.py"):
        source = ref_path.read_text()
        for name, fn in _qualified(ast.parse(source)):
            if f"{ref_path.stem}.{name}" not in secret:
                continue
            body = fn.body[1:] if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(getattr(fn.body[0], "value", None), ast.Constant) else fn.body
            if not body:
                continue
            segment = "\n".join(ast.get_source_segment(source, stmt) or "" for stmt in body).strip()
            lines = [l.strip() for l in segment.splitlines() if l.strip()]
            if len(lines) < 2:
                continue
            for path in TEMPLATE.rglob("*"):
                if path.is_file() and path.suffix in (".py", ".json", ".md", ".txt") and path.name not in {f"{ref_path.stem}.py"}:
                    text = "\n".join(l.strip() for l in path.read_text(encoding="utf-8", errors="replace").splitlines())
                    assert "\n".join(lines) not in text, f"{path.name} contains the body of reference {ref_path.stem}.{fn.name}"


def test_no_hidden_rubric_entry_in_the_template(tmp_path):
    data = json.loads(DATA.read_text())
    rubric = rubric_mod.load()
    visible = {c.id: c for c in rubric.checks if c.visibility == "visible"}
    hidden = [c for c in rubric.checks if c.visibility != "visible"]
    assert all(c["id"] in visible for c in data["checks"])
    assert all(case["check"] in visible for case in data["cases"])
    texts = {p: p.read_text(encoding="utf-8", errors="replace") for p in TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    for check in hidden:
        for path, text in texts.items():
            assert check.title not in text, f"{path.name} mentions hidden check {check.id}"
    # The generator drops hidden checks: mark two checks hidden and regenerate.
    text = (ROOT / "assignments" / "hw7" / "rubric.toml").read_text()
    for cid in ("1c.1", "1a.2"):
        text = text.replace(f'id = "{cid}"\n', f'id = "{cid}"\nvisibility = "hidden"\n')
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    generated = selfcheck_data.generate(path, log=lambda s: None)
    dumped = selfcheck_data.dumps(generated)
    assert not any(c["id"] in ("1c.1", "1a.2") for c in generated["checks"])
    assert not any(c["check"] in ("1c.1", "1a.2") for c in generated["cases"])
    assert "loss_fn over all time steps" not in dumped and "gives tanh(0.2)" not in dumped
    assert any(c["id"] == "1c.2" for c in generated["checks"])


def test_message_templates_are_the_graders():
    data = json.loads(DATA.read_text())
    templates = tomllib.loads((ROOT / "autograder" / "messages.toml").read_text())
    assert data["messages"] == {k: templates[k] for k in data["messages"]}


def test_readme_names_every_function_students_write():
    readme = (TEMPLATE / "README.md").read_text()
    for path in sorted(TEMPLATE.glob("q_*.py")):
        for name, fn in _qualified(ast.parse(path.read_text())):
            if not _is_stub(fn):
                continue
            part = next(n.exc.args[0].value.split(":")[0] for n in ast.walk(fn) if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call))
            assert f"**{part}**" in readme, part
            short = name.split(".")[0] if name.endswith("__init__") else name
            assert f"`{short}`" in readme or f"`{name}`" in readme or f"`{name.split('.')[-1]}`" in readme, f"README does not name {name} ({part})"
            assert f"`{path.name}`" in readme
    assert "python selfcheck.py" in readme and "python pack.py" in readme


def test_selfcheck_and_grader_agree_check_for_check_on_the_bundled_sample(tmp_path):
    """Every check the self-check runs gives the grader's verdict on the bundled sample (whose bugs
    are in 1c, 1d.3, 3a.3 and 5g.1): a bug costs the same checks locally as on Gradescope."""
    import zipfile

    from tests.workflow.conftest import cli

    with zipfile.ZipFile(ROOT / "examples" / "sample_submission.zip") as archive:
        archive.extractall(tmp_path)
    folder = tmp_path / "hw7"
    printed = run_selfcheck(folder, "-v").stdout
    local = rows(printed)
    results = tmp_path / "results.json"
    cli("grade", str(ROOT / "examples" / "sample_submission.zip"), "--results", str(results), "--quiet")
    graded = {t["number"]: ("passed" if t["score"] == t["max_score"] else "failed") for t in json.loads(results.read_text())["tests"]}
    compared = {cid: status for cid, (_, status, _) in local.items() if status != "not here"}
    assert len(compared) >= 30
    assert {cid: graded[cid] for cid in compared} == compared
    assert sorted(cid for cid, status in compared.items() if status == "failed") == ["1c.1", "1d.3", "3a.3", "5g.1"]
    # 1c.1 runs the homework's own example in both: the same failure, the same message.
    grader_message = next(t["output"] for t in json.loads(results.read_text())["tests"] if t["number"] == "1c.1")
    local_message = printed.split("--- 1c.1\n", 1)[1].split("\n\n", 1)[0].strip()
    assert local_message == grader_message
    # Each bug's likely mistake is named locally as the grader names it (the kit's catalogued outputs).
    for test in json.loads(results.read_text())["tests"]:
        if test["number"] in compared and compared[test["number"]] == "failed":
            hint_line = test["output"].splitlines()[-1]
            assert hint_line.startswith("Likely mistake: ")
            assert hint_line in printed.split(f"--- {test['number']}\n", 1)[1].split("\n\n", 1)[0], test["number"]


def _selfcheck_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("student_selfcheck", TEMPLATE / "selfcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_selfcheck_words_every_comparison_as_the_grader_does():
    """One compare core (generated into the kit as grader_compare.py): whatever the two values,
    the self-check's message is the grader's, character for character."""
    import numpy as np
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from autograder.checks.compare import CheckFailed, assert_close

    selfcheck = _selfcheck_module()
    msg = selfcheck.Messages(json.loads(DATA.read_text())["messages"])
    numbers = st.one_of(st.floats(-1e6, 1e6), st.just(float("nan")), st.just(float("inf")))
    shapes = st.sampled_from([(), (1,), (3,), (2, 2), (2, 3)])

    def outcome(call):
        try:
            call()
        except (CheckFailed, selfcheck.Failed) as exc:
            return exc.message
        return "passed"

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(shapes, shapes, st.data(), st.sampled_from([(0.0, 1e-9), (1e-4, 1e-5)]))
    def same(got_shape, expected_shape, data, tolerance):
        got = np.array(data.draw(st.lists(numbers, min_size=int(np.prod(got_shape)), max_size=int(np.prod(got_shape))))).reshape(got_shape)
        expected = np.array(data.draw(st.lists(numbers, min_size=int(np.prod(expected_shape)), max_size=int(np.prod(expected_shape))))).reshape(expected_shape)
        as_the_student_sees = selfcheck.plain(got)  # the self-check compares plain lists
        ours = outcome(lambda: assert_close(got, expected, "x", *tolerance))
        theirs = outcome(lambda: selfcheck.assert_close(msg, as_the_student_sees, expected.tolist(), "x", *tolerance))
        assert theirs == ours

    same()
