"""Build a homework module from a Jupyter notebook, by parsing only (json + ast; nothing is run here).

``module_source(raw, module)`` returns Python source that ``registry.student()`` compiles
(filename = the notebook's path) and executes as the module. What it keeps (``classify``):

* every ``import`` / ``from ... import``, each run on its own: if it fails (``google.colab``,
  ``ipywidgets`` ... are not installed here), the names it would bind are imported one by one
  where possible and the rest bound to a harmless ``Unavailable`` placeholder (``runtime``),
  never replacing a name an earlier cell bound;
* every ``def`` and ``class``, in notebook order (a later definition wins);
* module-level assignments (``=``, ``+=``, annotated, ``setattr(X, ...)``) rebinding or mutating
  a name kept code loads (transitively), or patching a notebook-defined function or class,
  unless their value calls a notebook function or a ``train*`` / ``fit`` / ``run_*`` /
  ``sweep*`` method;
* cheap constants (``NAME = <literals, names, operators but @, len/str/int/... calls>``) even
  when no kept code reads them (a probe may); they run quietly;
* top-level ``if`` / ``try`` / ``with`` blocks holding any of the above, every other statement
  in them replaced by ``pass``.

Everything else at the top level (calls, loops, training, plots) is dropped. Shell, line-magic
and help lines are neutralised, cells with a non-Python cell magic are dropped, and
``.cuda()``, ``'cuda'`` and ``torch.cuda.is_available()`` are rewritten for the CPU (``colab``),
by edits at AST positions so that comments and line numbers stay as written (``edits``).

Each kept statement is compiled at run time of the generated module under the file name
``"<notebook path>, cell N"`` at its own line in the cell, and the cells' text is registered
with ``linecache``, so tracebacks show the student's line; a statement that raises is reported
in a one-line note and loading goes on (``runtime``).

Errors: a cell that does not parse, or a kept statement that does not compile, gives
``ProbeError("syntax_error", "<module>.ipynb, cell N, line L: <msg>", "<offending line>")``
(a note, or raised if nothing else is left to grade); a file that is not a notebook (not JSON,
no cells, no code) or is too large raises ``ProbeError("import_error", ...)`` (``parsing``).

Every submodule is imported here, eagerly: the sandboxed worker that builds the module cannot
import anything from autograder/ later.
"""
from __future__ import annotations

from autograder.notebook import bindings, build, cells, classify, colab, edits, parsing, runtime  # noqa: F401 - all loaded before workers fork
from autograder.notebook.bindings import EXPENSIVE_METHOD
from autograder.notebook.build import module_source
from autograder.notebook.cells import cell_name
from autograder.notebook.colab import CUDA_STRING, PYTHON_CELL_MAGICS
from autograder.notebook.parsing import MAX_CODE_CELLS, MAX_CODE_CHARS, MAX_NOTEBOOK_BYTES

__all__ = [
    "CUDA_STRING",
    "EXPENSIVE_METHOD",
    "MAX_CODE_CELLS",
    "MAX_CODE_CHARS",
    "MAX_NOTEBOOK_BYTES",
    "PYTHON_CELL_MAGICS",
    "cell_name",
    "module_source",
]
