"""Notebook submissions: autograder.notebook.module_source, and grading the notebook fixtures end to end.

The fixtures in tests/fixtures/notebooks/ are built by make_notebooks.py from reference/ and
student_template/ in the course notebooks' style (see that script). The end-to-end tests grade
each part whose checks are registered (a rubric entry and an @check function); parts whose
checks do not exist yet are skipped and join by themselves once they do.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import traceback
import types

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import notebook
from autograder.config import PROJECT_ROOT
from autograder.probes.registry import ProbeError
from autograder.rubric import load as load_rubric
from tests.support import run_grade

NOTEBOOKS = PROJECT_ROOT / "tests" / "fixtures" / "notebooks"
FILLED, UNFILLED, SYNTAX = NOTEBOOKS / "filled", NOTEBOOKS / "unfilled", NOTEBOOKS / "syntax_error"
PART_MODULES = {"1": "q_rnn_and_grad", "2": "q_rnn_last_name", "3a": "q_autoencoder", "5": "q_graph_clustering"}
# Checks of TODOs inside a class only the handout provides (these generated notebooks have another).
HANDOUT_ONLY = ("1d.3", "1d.4")


# --------------------------------------------------------------------------- helpers
def nb(*cells, nbformat: int = 4) -> bytes:
    """A notebook from cell sources; a ("md", text) tuple is a markdown cell."""
    out = []
    for cell in cells:
        if isinstance(cell, tuple):
            out.append({"cell_type": "markdown", "metadata": {}, "source": cell[1]})
        else:
            out.append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": cell.splitlines(True)})
    return json.dumps({"cells": out, "metadata": {}, "nbformat": nbformat, "nbformat_minor": 5}).encode()


def load(raw: bytes, module: str = "q_nb_test", path: str = "/submission/q_nb_test.ipynb") -> types.ModuleType:
    """Build the module from ``raw`` and run it the way registry.student() does."""
    source = notebook.module_source(raw, module)
    mod = types.ModuleType(module)
    mod.__file__ = path
    exec(compile(source, path, "exec", dont_inherit=True), mod.__dict__)
    return mod


def steps(raw: bytes, module: str = "q_nb_test") -> list[tuple]:
    """The (cell, line, kind, flags, text, label, imports) steps of the generated module."""
    import ast

    tree = ast.parse(notebook.module_source(raw, module))
    call = next(n.value for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call))
    return ast.literal_eval(call.args[2])


def notes(raw: bytes, module: str = "q_nb_test") -> list[str]:
    """What the generated module prints when it loads: one note per cell it had to skip."""
    import ast

    tree = ast.parse(notebook.module_source(raw, module))
    call = next(n.value for n in tree.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call))
    return ast.literal_eval(call.args[1])


def syntax_error(raw: bytes, module: str = "q_nb_test") -> ProbeError:
    """The error of a notebook whose every code cell fails to parse (nothing else to grade)."""
    with pytest.raises(ProbeError) as info:
        notebook.module_source(raw, module)
    assert info.value.kind == "syntax_error"
    return info.value


# --------------------------------------------------------------------------- module_source
def test_shell_and_magic_lines_are_dropped_and_python_continuations_kept():
    mod = load(nb(
        "!wget -q https://example.edu/data.zip\n!unzip -q data.zip\n%matplotlib inline\n%load_ext autoreload\nimport math",
        "files = !ls data\nlen?\n?math.sqrt\nLABEL = ('loss %d'\n         % 3)",
        "%%time\ndef timed():\n    return 'kept'",
        "%%bash\nfor f in *.txt; do echo $f; done",
        "%%writefile helper.py\ndef helper():\n    return 1",
        "def f():\n    if True:\n        !echo hi\n    return math.sqrt(4)",
    ))
    assert mod.f() == 2.0
    assert mod.timed() == "kept"
    assert mod.LABEL == "loss 3"
    assert not hasattr(mod, "helper") and mod.files is None  # ``x = !cmd`` binds None


def test_colab_widget_and_tqdm_imports_survive_as_placeholders():
    mod = load(nb(
        "from google.colab import drive\ndrive.mount('/content/drive')",
        "import ipywidgets as widgets\nfrom tqdm.notebook import tqdm\nimport google.colab.output\nimport math",
        "def count(n):\n    return sum(1 for _ in tqdm(range(n)))\n\nclass View(widgets.VBox):\n    pass",
        "def shown():\n    return display('x')",
    ))
    assert mod.count(5) == 5  # tqdm(iterable) hands the iterable back
    assert "not available" in repr(mod.drive) and "not available" in repr(mod.widgets)
    assert mod.drive.mount("/content/drive") == "/content/drive"
    assert isinstance(mod.View(), object) and mod.google is not None and mod.math.sqrt(9) == 3
    assert mod.shown() is None


def test_a_failed_import_keeps_what_it_can_and_never_replaces_an_earlier_binding():
    mod = load(nb(
        "from math import sqrt, no_such_name\nfrom os import path as p, also_missing",
        "from collections import OrderedDict\nfrom tqdm.notebook import OrderedDict",
        "from . import sibling\nfrom os.path import *",
    ))
    assert mod.sqrt(16) == 4 and mod.p is os.path
    assert "not available" in repr(mod.no_such_name) and "not available" in repr(mod.also_missing)
    assert mod.OrderedDict.__name__ == "OrderedDict"
    assert "not available" in repr(mod.sibling) and callable(mod.join)


def test_the_later_definition_wins():
    mod = load(nb(
        "def answer():\n    return 'first'\n\nclass Model:\n    kind = 'old'",
        "# TODO\ndef answer():\n    return 'second'\n# END TODO",
        "class Model:\n    kind = 'new'",
    ))
    assert mod.answer() == "second" and mod.Model.kind == "new"


def test_constants_the_graded_code_needs_are_kept_transitively():
    mod = load(nb(
        "import string\nall_letters = string.ascii_letters + \" .,;'\"\nn_letters = len(all_letters)\npad = n_letters\n"
        "vocab_size = n_letters + 1\nSCALE = {'a': 2}\nSCALE['b'] = 3",
        "def letterToIndex(letter):\n    return all_letters.index(letter)\n\ndef padded(xs):\n    return xs + [pad] * SCALE['b']",
    ))
    assert mod.letterToIndex("'") == 56 and mod.n_letters == 57 and mod.vocab_size == 58
    assert mod.padded([1]) == [1, 57, 57, 57]


def test_a_helper_kept_inside_a_class_sees_module_names_not_its_locals():
    # ``model`` is local to fit(); the module-level ``model = ...`` must not be kept for it.
    mod = load(nb(
        "class Boom:\n    def __init__(self):\n        raise RuntimeError('built at import')",
        "model = Boom()",
        "def fit(data):\n    model = len(data)\n    return model",
    ))
    assert mod.fit([1, 2]) == 2 and not hasattr(mod, "model")


def test_training_cells_calls_and_plots_are_dropped():
    mod = load(nb(
        "import numpy as np\nTRAINED = []\n\ndef train(epochs):\n    TRAINED.append(epochs)\n    raise RuntimeError('trained at import')",
        "%%time\nfor epoch in range(10**9):\n    train(epoch)",
        "losses = train(50000)\nhistory = np.array(losses)\nprint('done')\nraise SystemExit",
        "def report():\n    return len(TRAINED), losses",
    ))
    assert mod.TRAINED == []
    with pytest.raises(NameError):  # ``losses = train(...)`` is never kept, even though report() reads it
        mod.report()


def test_a_device_choice_in_an_if_block_is_kept_and_runs_on_the_cpu():
    mod = load(nb(
        "import torch\ntry:\n    import google.colab\n    IN_COLAB = True\nexcept ImportError:\n    IN_COLAB = False\n    print('not on colab')",
        "if torch.cuda.is_available():\n    device = torch.device('cuda')\n    torch.cuda.manual_seed(0)\nelse:\n    device = torch.device('cpu')",
        "def where():\n    return str(torch.zeros(1).to(device).device), IN_COLAB",
    ))
    assert mod.where() == ("cpu", False)


def test_cuda_calls_and_device_strings_are_rewritten_to_the_cpu():
    raw = nb(
        "import torch\nfrom torch import nn\ndevice = 'cuda:0'\nGPU = torch.cuda.is_available()",
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.lin = nn.Linear(2, 1).cuda()\n\n"
        "    def forward(self, x):\n        x = x.cuda(non_blocking=True)\n        h = torch.zeros(1, device='cuda')\n"
        "        return self.lin(x.to(device)) + h.cuda(\n            0)\n\n"
        "def describe():\n    return f'cuda:{0}', 'CUDA', GPU, torch.cuda.is_available()",
        "net = Net().cuda()",
    )
    texts = "".join(step[4] for step in steps(raw))
    assert ".cuda(" not in texts and "'cuda'" not in texts and "'cuda:0'" not in texts and "is_available" not in texts
    assert "self.lin = nn.Linear(2, 1).cpu()" in texts and "h.cpu(\n)" in texts and "device = 'cpu'" in texts
    mod = load(raw)
    out = mod.Net()(torch_tensor([[1.0, 2.0]]))
    assert out.device.type == "cpu" and out.shape == (1, 1)
    assert mod.device == "cpu" and mod.GPU is False
    assert mod.describe() == ("cuda:0", "CUDA", False, False)  # f-strings and other text are left alone


def torch_tensor(value):
    import torch

    return torch.tensor(value)


def test_rewritten_lines_keep_their_numbers_and_tracebacks_point_into_the_cell():
    raw = nb(
        "import torch",
        ("md", "## 1c"),
        "# YOUR CODE HERE\ndef loss(x):\n    y = x.cuda()  # moved\n\n    return y / undefined_name\n# END",
    )
    mod = load(raw, path="/submission/q_nb_test.ipynb")
    with pytest.raises(NameError) as info:
        mod.loss(torch_tensor([1.0]))
    frame = traceback.extract_tb(info.value.__traceback__)[-1]
    assert frame.filename == "/submission/q_nb_test.ipynb, cell 3"  # its position among all cells, as the notebook shows it
    assert frame.lineno == 5 and frame.line == "return y / undefined_name"


def test_a_cell_with_a_syntax_error_is_skipped_and_named_by_its_position_and_first_line():
    raw = nb(
        "import torch",
        ("md", "markdown cells count too: the notebook shows them"),
        "%matplotlib inline\nx = 1",
        "def loss_fn(pred, y):\n    '''doc'''\n    if pred\n        return y",
        "def other():\n    return 2",
    )
    assert notes(raw) == ["q_nb_test.ipynb, cell 4 (def loss_fn(pred, y):), line 3: expected ':': 'if pred'; that cell is skipped (Jupyter would not run it), so what it defines is missing"]
    mod = load(raw)
    assert mod.other() == 2 and not hasattr(mod, "loss_fn")  # only the broken cell's definitions are lost
    assert notes(nb("def f():\n    break", "x = 1")) == ["q_nb_test.ipynb, cell 1 (def f():), line 2: 'break' outside loop: 'break'; def f is skipped"]
    error = syntax_error(nb("y = (1,\n     2"))
    assert str(error).startswith("q_nb_test.ipynb, cell 1 (y = (1,), line 1: ")


def test_nbformat_3_worksheets_are_read():
    raw = json.dumps({"nbformat": 3, "worksheets": [{"cells": [{"cell_type": "code", "input": ["def f():\n", "    return 3"]}]}]}).encode()
    assert load(raw).f() == 3


def test_module_source_only_parses():
    # A notebook whose every top-level statement would fail loudly: building its source must not run any.
    raw = nb("import os\nos._exit(3)", "raise SystemExit('ran')", "while True:\n    pass", "def f():\n    return 1")
    kept = steps(raw)
    assert [step[5] for step in kept] == ["import os", "def f"]


def test_the_built_module_embeds_runtime_py_and_the_package_loads_whole():
    # The worker cannot import autograder/ once it is hidden: runtime.py travels as text, and
    # importing the package must already have loaded every submodule.
    package = PROJECT_ROOT / "autograder" / "notebook"
    runtime = (package / "runtime.py").read_text(encoding="utf-8")
    assert runtime[runtime.index("\ndef __autograder_notebook__(") :].strip() in notebook.module_source(nb("x = 1"), "q_nb_test")
    assert {f"autograder.notebook.{path.stem}" for path in package.glob("*.py") if path.stem != "__init__"} <= set(sys.modules)


FRAGMENTS = [
    "!ls", "%time x = 1", "x = !ls", "%matplotlib inline", "foo?", "%%time", "%%bash", "\\", '"""', "(", ")", "@dec",
    "if x:", "    pass", "    return 1", "import torch", "from google.colab import drive", "def f(a=N):\n    return a + M",
    "N = 3", "M = N * 2", "losses = f(3)", "class K(torch.nn.Module):\n    def forward(self, x):\n        return x.cuda(0)",
    "try:\n    import google.colab\nexcept ImportError:\n    C = 1", "with open('x') as fh:\n    M = fh.read()",
    "é = 'ü'; K.w = é", "await y", "return 1", "del N", "device = 'cuda' if torch.cuda.is_available() else 'cpu'",
    "setattr(K, 'z', 1)", "for i in range(10**9):\n    f(i)", "def g(:", "\tx = 1", "x = 'cuda'; y = x.cuda(\n1)",
]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=6), min_size=1, max_size=5))
def test_module_source_raises_only_probe_errors_and_otherwise_returns_code_that_compiles(cells):
    raw = nb(*("\n".join(cell) for cell in cells))
    try:
        source = notebook.module_source(raw, "q_nb_test")
    except ProbeError as exc:
        assert exc.kind in ("syntax_error", "import_error"), exc
        return
    compile(source, "q_nb_test.ipynb", "exec", dont_inherit=True)


# --------------------------------------------------------------------------- the fixtures, end to end
def _registered() -> set[str]:
    """Check ids that have both a rubric entry and an @check function (read, never imported)."""
    functions = set()
    for path in (PROJECT_ROOT / "assignments" / "hw7" / "checks").glob("part*.py"):
        functions |= set(re.findall(r"@check\(\s*[\"']([^\"']+)[\"']", path.read_text(encoding="utf-8")))
    return {c.id for c in load_rubric().checks} & functions


def _part_checks(part: str):
    return [c for c in load_rubric().checks if c.id.startswith(part)]


def _ready(part: str) -> list:
    checks = _part_checks(part)
    registered = _registered()
    assert checks and all(c.id in registered for c in checks), f"the checks for part {part} are not all registered"
    return checks


def _ready_parts() -> tuple[str, ...]:
    registered = _registered()
    return tuple(p for p in (*PART_MODULES, "3b") if _part_checks(p) and all(c.id in registered for c in _part_checks(p)))


@pytest.fixture(scope="module")
def filled_results(tmp_path_factory):
    _, results = run_grade(FILLED, tmp_path_factory.mktemp("nb-filled") / "results.json", only=_ready_parts())
    return {t["number"]: t for t in results["tests"]}


@pytest.fixture(scope="module")
def unfilled_results(tmp_path_factory):
    _, results = run_grade(UNFILLED, tmp_path_factory.mktemp("nb-unfilled") / "results.json", only=_ready_parts())
    return {t["number"]: t for t in results["tests"]}


def test_the_fixtures_are_what_make_notebooks_writes(tmp_path):
    """The committed .ipynb files are up to date with make_notebooks.py and the sources it reads."""
    script = NOTEBOOKS / "make_notebooks.py"
    sys.path.insert(0, str(NOTEBOOKS))
    try:
        import make_notebooks
    finally:
        sys.path.remove(str(NOTEBOOKS))
    for module, build in make_notebooks.BUILDERS.items():
        for folder, filled in ((FILLED, True), (UNFILLED, False)):
            build(filled).write(tmp_path / folder.name)
            assert (tmp_path / folder.name / f"{module}.ipynb").read_text() == (folder / f"{module}.ipynb").read_text(), (
                f"{folder.name}/{module}.ipynb is stale: run python {script.relative_to(PROJECT_ROOT)}"
            )


def test_the_course_notebook_layout_is_respected():
    grad = notebook.module_source((FILLED / "q_rnn_and_grad.ipynb").read_bytes(), "q_rnn_and_grad")
    for name in ("scale_parameters", "recurrent_weight", "hidden_grad_norms"):
        assert f"def {name}" not in grad
    assert "class GradientFlowPlotter" in grad
    graph = notebook.module_source((FILLED / "q_graph_clustering.ipynb").read_bytes(), "q_graph_clustering")
    assert "def normalize_adjacency" not in graph
    assert not (FILLED / "q_linear_autoencoder.ipynb").exists()


@pytest.mark.parametrize("part", list(PART_MODULES))
def test_filled_notebooks_get_full_marks_on_every_check_that_applies(part, filled_results):
    checks = _ready(part)
    for check in checks:
        test = filled_results[check.id]
        if check.id in HANDOUT_ONLY:
            continue  # graded through the handout's own GradientVisualizer: tests/test_handouts.py
        if check.notebook:
            assert test["score"] == test["max_score"] == check.points, f"{check.id}: {test['output']}"
        else:
            assert (test["score"], test["max_score"]) == (0, 0) and "Not part of the notebook version" in test["output"], check.id


@pytest.mark.parametrize("part", list(PART_MODULES))
def test_unfilled_notebooks_get_zero_without_a_crash(part, unfilled_results):
    checks = _ready(part)
    for check in checks:
        test = unfilled_results[check.id]
        assert test["score"] == 0, f"{check.id}: {test['output']}"
        if not check.notebook:
            assert test["max_score"] == 0, check.id
            continue
        assert test["max_score"] == check.points
        # The notebook loaded and the stubs ran: each check fails on NotImplementedError or on a check it depends on.
        assert "Not implemented yet" in test["output"] or "own check" in test["output"], f"{check.id}: {test['output']}"
        for crash in ("grader failed", "killed by signal", "Importing your module failed", "syntax error", "Not run"):
            assert crash not in test["output"], f"{check.id}: {test['output']}"


def test_the_linear_autoencoder_has_no_notebook_so_part_3b_is_not_counted(filled_results):
    for check in _ready("3b"):
        test = filled_results[check.id]
        assert (test["score"], test["max_score"]) == (0, 0) and "Not part of the notebook version" in test["output"], test["output"]


def test_a_syntax_error_in_a_notebook_names_the_cell_and_line(tmp_path):
    cells = json.loads((SYNTAX / "q_rnn_and_grad.ipynb").read_text())["cells"]
    number = next(i for i, c in enumerate(cells, start=1) if c["cell_type"] == "code" and "if last_timestep_only\n" in "".join(c["source"]))
    _, results = run_grade(SYNTAX, tmp_path / "r.json", only=("1c",))
    graded = [t for t in results["tests"] if t["number"].startswith("1c")]
    assert graded
    for test in graded:
        assert test["score"] == 0
        assert f"q_rnn_and_grad.ipynb, cell {number} (def loss_fn(" in test["output"] and "line 3: expected ':'" in test["output"], test["output"]
        assert "if last_timestep_only" in test["output"]


def test_the_command_line_grades_a_notebook(tmp_path):
    """The real path: the worker cannot import autograder.notebook once the project folder is hidden,
    so the grader must have imported it before the sandbox forks (autograder/probes/__init__.py)."""
    results = tmp_path / "r.json"
    subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(FILLED), "--only", "1c", "--results", str(results), "--quiet", "--shared-sandbox"],
        cwd=PROJECT_ROOT, check=False, capture_output=True, timeout=300,
    )
    tests = [t for t in json.loads(results.read_text())["tests"] if t["number"].startswith("1c")]
    assert tests
    for test in tests:
        assert test["score"] == test["max_score"] > 0, test["output"]
