"""The program each module built from a notebook runs: its kept statements, cell by cell.

``build.py`` embeds this file's text from the ``def`` on, because the sandboxed worker cannot
import the autograder package; so the function imports what it needs itself.
"""


def __autograder_notebook__(cells, notes, steps):
    """Run the notebook's kept statements in order; see autograder/notebook/."""
    import ast
    import builtins as B  # used through B.: the notebook may rebind print, type, compile ...
    import importlib
    import linecache
    import sys

    g = B.globals()
    path = g.get("__file__") or (g.get("__name__", "notebook") + ".ipynb")

    class Unavailable:
        """Stands in for something the notebook imports that the grader does not have."""

        def __init__(self, name):
            B.object.__setattr__(self, "_name", name)

        def __getattr__(self, attr):
            if attr.startswith("__") and attr.endswith("__"):
                raise B.AttributeError(attr)
            return Unavailable(self._name + "." + attr)

        def __setattr__(self, attr, value):
            pass

        def __call__(self, *args, **kwargs):
            if B.len(args) == 1 and not kwargs:
                return args[0]  # tqdm(iterable), display(x), @decorator
            return Unavailable(self._name + "(...)")

        def __getitem__(self, key):
            return Unavailable(self._name + "[...]")

        def __iter__(self):
            return B.iter(())

        def __len__(self):
            return 0

        def __bool__(self):
            return False

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __mro_entries__(self, bases):
            return (B.object,)

        def __repr__(self):
            return "<" + self._name + ": not available in the grader>"

    def bind(name, value):
        if name not in g:  # never replace what an earlier cell imported
            g[name] = value

    def fallback(kind, module, level, names):
        if kind == "import":
            for name, asname in names:
                top = name.split(".")[0]
                try:
                    loaded = importlib.import_module(name)
                    g[asname or top] = loaded if asname else sys.modules[top]
                except B.Exception:
                    bind(asname or top, Unavailable(name))
            return
        loaded = None
        if level == 0:
            try:
                loaded = importlib.import_module(module)
            except B.Exception:
                loaded = None
        for name, asname in names:
            if name == "*":
                if loaded is not None:
                    public = B.getattr(loaded, "__all__", None) or [n for n in B.vars(loaded) if not n.startswith("_")]
                    for item in public:
                        if B.hasattr(loaded, item):
                            g[item] = B.getattr(loaded, item)
                continue
            value = None
            if loaded is not None:
                try:
                    value = B.getattr(loaded, name)
                except B.Exception:
                    try:
                        value = importlib.import_module(module + "." + name)
                    except B.Exception:
                        value = None
            if value is not None:
                g[asname or name] = value
            else:
                bind(asname or name, Unavailable("." * level + module + "." + name))

    for number, text in cells.items():
        filename = path + ", cell " + B.str(number)
        linecache.cache[filename] = (B.len(text), None, text.splitlines(True) or [""], filename)

    for note in notes:
        B.print("[notebook] " + note, flush=True)
    g.setdefault("display", lambda *args, **kwargs: None)
    g.setdefault("get_ipython", lambda: Unavailable("get_ipython()"))
    for number, line, kind, flags, text, label, imported in steps:
        filename = path + ", cell " + B.str(number)
        try:
            tree = B.compile(text, filename, "exec", flags | ast.PyCF_ONLY_AST, True)
            ast.increment_lineno(tree, line - 1)  # the statement's own line in the cell
            B.exec(B.compile(tree, filename, "exec", flags, True), g)
        except B.Exception as exc:
            if kind == "import":
                fallback(*imported)
            elif kind != "constant":
                try:
                    message = B.str(exc)
                except B.Exception:
                    message = "?"
                B.print(
                    "[notebook] cell %d, line %d: %s raised %s: %s; loading goes on without it (Jupyter would stop that cell there)"
                    % (number, line, label, B.type(exc).__name__, message[:200]),
                    flush=True,
                )
