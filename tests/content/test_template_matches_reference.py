"""The student template is the reference with only the student parts blanked out.

For every homework module present in both ``reference/`` and ``student_template/``
(``q_*.py``), these tests prove by AST that

1. every provided statement (top level and inside classes) is identical;
2. every difference is a student part: a function or method whose template body is
   [docstring] + ``raise NotImplementedError("<part>: ...")``, with the same name,
   signature, decorators and docstring as the reference;
3. the template imports, every student part raises NotImplementedError naming its
   part, and both trees define the same public names.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "reference"
TEMPLATE = ROOT / "student_template"
PART_RE = re.compile(r"^(1[a-h]|2|3a|3b|5[a-g]):")

MODULES = sorted(p.stem for p in REFERENCE.glob("q_*.py") if (TEMPLATE / p.name).is_file())

FunctionNode = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class StudentPart:
    qualname: str  # "func" or "Class.method"
    part: str  # "1a", "2", ...
    message: str  # the NotImplementedError message in the template


@dataclass
class Comparison:
    parts: list[StudentPart]
    problems: list[str]


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _dump(node: ast.AST | None) -> str:
    return "" if node is None else ast.dump(node, include_attributes=False)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)
    )


def _stub_message(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The message if fn's body is [docstring] + raise NotImplementedError("<literal>"), else None."""
    body = fn.body[1:] if fn.body and _is_docstring(fn.body[0]) else fn.body
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].cause is not None:
        return None
    exc = body[0].exc
    if not (
        isinstance(exc, ast.Call)
        and isinstance(exc.func, ast.Name)
        and exc.func.id == "NotImplementedError"
        and len(exc.args) == 1
        and not exc.keywords
        and isinstance(exc.args[0], ast.Constant)
        and isinstance(exc.args[0].value, str)
    ):
        return None
    return exc.args[0].value


def _label(stmt: ast.stmt) -> str:
    name = getattr(stmt, "name", None)
    return f"{type(stmt).__name__} {name}" if name else f"{type(stmt).__name__} at line {stmt.lineno}"


def _compare_body(ref: list[ast.stmt], tpl: list[ast.stmt], prefix: str, out: Comparison) -> None:
    if len(ref) != len(tpl):
        out.problems.append(
            f"{prefix or 'module'}: {len(ref)} statements in the reference, {len(tpl)} in the template "
            f"(reference: {[_label(s) for s in ref]}; template: {[_label(s) for s in tpl]})"
        )
        return
    for r, t in zip(ref, tpl):
        if _dump(r) == _dump(t):
            continue
        if isinstance(r, FunctionNode) and type(r) is type(t) and r.name == t.name:
            _check_student_part(r, t, prefix, out)
        elif isinstance(r, ast.ClassDef) and isinstance(t, ast.ClassDef) and r.name == t.name:
            for field in ("bases", "keywords", "decorator_list", "type_params"):
                if _dump_list(getattr(r, field, [])) != _dump_list(getattr(t, field, [])):
                    out.problems.append(f"class {prefix}{r.name}: {field} differ")
            _compare_body(r.body, t.body, f"{prefix}{r.name}.", out)
        else:
            out.problems.append(
                f"{prefix}{_label(t)} (template line {t.lineno}) is provided code but differs from the reference"
            )


def _dump_list(nodes: list[ast.AST]) -> list[str]:
    return [_dump(n) for n in nodes]


def _check_student_part(
    ref: ast.FunctionDef | ast.AsyncFunctionDef,
    tpl: ast.FunctionDef | ast.AsyncFunctionDef,
    prefix: str,
    out: Comparison,
) -> None:
    qualname = f"{prefix}{ref.name}"
    message = _stub_message(tpl)
    if message is None:
        out.problems.append(
            f"{qualname} differs from the reference but its template body is not "
            f'[docstring] + raise NotImplementedError("<part>: ...")'
        )
        return
    match = PART_RE.match(message)
    if match is None:
        out.problems.append(f"{qualname}: stub message {message!r} does not start with a part label like '1a:'")
        return
    if _dump(ref.args) != _dump(tpl.args) or _dump(ref.returns) != _dump(tpl.returns):
        out.problems.append(f"{qualname}: signature differs between reference and template")
    if _dump_list(ref.decorator_list) != _dump_list(tpl.decorator_list):
        out.problems.append(f"{qualname}: decorators differ between reference and template")
    ref_doc, tpl_doc = ast.get_docstring(ref), ast.get_docstring(tpl)
    if not tpl_doc:
        out.problems.append(f"{qualname}: template stub has no docstring describing the task")
    elif ref_doc != tpl_doc:
        out.problems.append(f"{qualname}: template docstring differs from the reference's")
    if _stub_message(ref) is not None:
        out.problems.append(f"{qualname}: the reference does not implement this part (its body is a stub too)")
    out.parts.append(StudentPart(qualname, match.group(1), message))


def compare_module(name: str) -> Comparison:
    out = Comparison(parts=[], problems=[])
    _compare_body(_parse(REFERENCE / f"{name}.py").body, _parse(TEMPLATE / f"{name}.py").body, "", out)
    return out


def _placeholder_args(fn: object, skip_first: bool) -> list[None]:
    """One None per required positional parameter (minus self/cls when skip_first)."""
    params = list(inspect.signature(fn).parameters.values())
    if skip_first and params:
        params = params[1:]
    return [
        None
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]


def _required_kwonly(fn: object) -> dict[str, None]:
    return {
        p.name: None
        for p in inspect.signature(fn).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    }


def _call_stub(module: object, qualname: str) -> None:
    """Call a template student part with placeholder arguments; a stub raises before using them."""
    if "." not in qualname:
        fn = getattr(module, qualname)
        fn(*_placeholder_args(fn, False), **_required_kwonly(fn))
        return
    *owners, method = qualname.split(".")
    cls = module
    for owner in owners:
        cls = getattr(cls, owner)
    if method == "__init__":
        init = cls.__dict__["__init__"]
        cls(*_placeholder_args(init, True), **_required_kwonly(init))
        return
    raw = cls.__dict__[method]
    if isinstance(raw, property):
        raw.fget(None)
    elif isinstance(raw, staticmethod):
        fn = raw.__func__
        fn(*_placeholder_args(fn, False), **_required_kwonly(fn))
    elif isinstance(raw, classmethod):
        fn = raw.__func__
        fn(cls, *_placeholder_args(fn, True), **_required_kwonly(fn))
    else:
        # An instance may need student code to build; the stub raises before touching self.
        raw(None, *_placeholder_args(raw, True), **_required_kwonly(raw))


def _public_names(module: object) -> set[str]:
    return {n for n in vars(module) if not n.startswith("_")}


def test_there_are_modules_to_compare() -> None:
    assert "q_rnn_and_grad" in MODULES and "q_rnn_last_name" in MODULES, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_template_differs_from_reference_only_in_student_part_stubs(name: str) -> None:
    result = compare_module(name)
    assert not result.problems, "\n".join(result.problems)
    assert result.parts, f"{name}: the template has no student parts at all"


@pytest.mark.parametrize("name", MODULES)
def test_each_student_part_is_stubbed_once(name: str) -> None:
    parts = compare_module(name).parts
    qualnames = [p.qualname for p in parts]
    assert len(qualnames) == len(set(qualnames))


@pytest.mark.parametrize("name", MODULES)
def test_template_stubs_raise_not_implemented_naming_their_part(name: str) -> None:
    template = importlib.import_module(f"student_template.{name}")
    for part in compare_module(name).parts:
        with pytest.raises(NotImplementedError) as info:
            _call_stub(template, part.qualname)
        assert str(info.value) == part.message, part.qualname
        assert str(info.value).startswith(f"{part.part}:"), part.qualname


@pytest.mark.parametrize("name", MODULES)
def test_both_trees_define_the_same_public_names(name: str) -> None:
    reference = importlib.import_module(f"reference.{name}")
    template = importlib.import_module(f"student_template.{name}")
    assert _public_names(reference) == _public_names(template)


EXPECTED_PARTS = {
    "q_rnn_and_grad": {
        "RNNLayer.__init__": "1a",
        "RNNLayer.forward": "1a",
        "RecurrentRegressionModel.__init__": "1b",
        "RecurrentRegressionModel.forward": "1b",
        "loss_fn": "1c",
        "scale_parameters": "1d",
        "recurrent_weight": "1d",
        "hidden_grad_norms": "1d",
        "RNN.__init__": "1h",
        "RNN.forward": "1h",
    },
    "q_rnn_last_name": {
        "letterToIndex": "2",
        "RecurrentClassifier.__init__": "2",
        "RecurrentClassifier.forward": "2",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PARTS))
def test_rnn_modules_blank_exactly_the_homework_parts(name: str) -> None:
    found = {p.qualname: p.part for p in compare_module(name).parts}
    assert found == EXPECTED_PARTS[name]


# --- the checker itself must catch the mistakes it exists for ---------------------------------

_REF_SRC = '''
import torch

CONST = 1


class Model:
    def __init__(self, n: int) -> None:
        """1a: store n."""
        self.n = n

    def helper(self) -> int:
        return self.n


def part(x: int) -> int:
    """2: double x."""
    return 2 * x
'''

_GOOD_TPL = '''
import torch

CONST = 1


class Model:
    def __init__(self, n: int) -> None:
        """1a: store n."""
        raise NotImplementedError("1a: implement Model.__init__")

    def helper(self) -> int:
        return self.n


def part(x: int) -> int:
    """2: double x."""
    raise NotImplementedError("2: implement part")
'''


def _compare_sources(ref: str, tpl: str) -> Comparison:
    out = Comparison(parts=[], problems=[])
    _compare_body(ast.parse(ref).body, ast.parse(tpl).body, "", out)
    return out


def test_checker_accepts_a_faithful_template() -> None:
    result = _compare_sources(_REF_SRC, _GOOD_TPL)
    assert result.problems == []
    assert {p.qualname: p.part for p in result.parts} == {"Model.__init__": "1a", "part": "2"}


@pytest.mark.parametrize(
    "old, new, complaint",
    [
        ("CONST = 1", "CONST = 2", "provided code"),
        ("return self.n", "return self.n + 0", "is not [docstring]"),
        ('raise NotImplementedError("2: implement part")', 'raise NotImplementedError("implement part")', "part label"),
        ("def part(x: int) -> int:", "def part(x: int, y: int = 0) -> int:", "signature"),
        ('"""2: double x."""', '"""2: triple x."""', "docstring"),
        ("import torch", "import numpy", "provided code"),
    ],
)
def test_checker_rejects_a_drifted_template(old: str, new: str, complaint: str) -> None:
    assert old in _GOOD_TPL
    problems = _compare_sources(_REF_SRC, _GOOD_TPL.replace(old, new)).problems
    assert any(complaint in p for p in problems), problems
