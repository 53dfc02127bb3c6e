"""A fixture made into the submission that gets graded: the base modules, extra files,
patches, appended or prepended code, a notebook in place of a module, a zip."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Iterable

from autograder import assignment
from autograder.verify.catalogue import MODULE_PART, REFERENCE, TEMPLATE, CatalogueError, Fixture, PatchError


def apply_patches(text: str, edits: Iterable[tuple[str, str]], where: str) -> str:
    for before, after in edits:
        count = text.count(before)
        if count != 1:
            raise PatchError(f"{where}: expected exactly one occurrence of {before!r}, found {count}")
        text = text.replace(before, after)
    return text


def _copy_base(fixture: Fixture, dest: Path, provided: set[str]) -> None:
    source = {"reference": REFERENCE, "template": TEMPLATE}.get(fixture.base)
    if source is None:
        return
    for module in fixture.modules or (fixture.module,):
        if module in provided:
            continue
        src = source / f"{module}.py"
        if src.is_file():
            shutil.copyfile(src, dest / f"{module}.py")


def build_submission(fixture: Fixture, dest: Path, substitutions: dict[str, str] | None = None) -> Path:
    """Write the fixture's submission folder into ``dest`` (created) and return the path to grade.

    Adversarial cases may return a zip built next to ``dest`` or rely on a builder.
    """
    dest.mkdir(parents=True, exist_ok=True)
    subs = substitutions or {}
    provided: set[str] = set()
    if fixture.folder:
        for item in sorted(Path(fixture.folder).iterdir()):
            if item.name in ("README.md", "README", "variant.toml") or item.name.startswith("."):
                continue
            if item.is_file():
                shutil.copyfile(item, dest / item.name)
                if item.suffix in (".py", ".ipynb") and item.stem in MODULE_PART:
                    provided.add(item.stem)
    if fixture.kind == "adversarial":
        case_dir = Path(fixture.options["dir"])
        extra = case_dir / "submission"
        if extra.is_dir():
            for item in sorted(extra.rglob("*")):
                rel = item.relative_to(extra)
                target = dest / rel
                if item.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(_substitute(item.read_bytes(), subs))
                if item.suffix in (".py", ".ipynb") and item.stem in MODULE_PART and len(rel.parts) == 1:
                    provided.add(item.stem)
    _copy_base(fixture, dest, provided)
    for module, edits in fixture.patches:
        path = dest / f"{module}.py"
        if not path.is_file():
            raise PatchError(f"{fixture.key}: {module}.py is not in the submission to patch")
        path.write_text(apply_patches(path.read_text(encoding="utf-8"), edits, f"{fixture.key} {module}"), encoding="utf-8")
    if fixture.options.get("notebook"):
        module_py = dest / f"{fixture.module}.py"
        (dest / f"{fixture.module}.ipynb").write_text(module_to_notebook(module_py.read_text(encoding="utf-8"), fixture.module), encoding="utf-8")
        module_py.unlink()
    if fixture.kind == "adversarial":
        case_dir = Path(fixture.options["dir"])
        path = dest / f"{fixture.module}.py"
        for key in ("prepend", "append"):
            snippets = [(case_dir / name).read_text(encoding="utf-8") for name in fixture.options.get(key, [])]
            if not snippets:
                continue
            body = path.read_text(encoding="utf-8") if path.is_file() else ""
            joined = "\n\n".join(snippets)
            body = (joined + "\n\n" + body) if key == "prepend" else (body + "\n\n" + joined + "\n")
            path.write_text(body, encoding="utf-8")
        if path.is_file():
            path.write_bytes(_substitute(path.read_bytes(), subs))
        builder = fixture.options.get("builder")
        if builder:
            builders = assignment.current().hook("adversarial_builders") or {}
            if builder not in builders:
                raise CatalogueError(f"{fixture.key}: unknown builder {builder!r}")
            return builders[builder](fixture, dest, subs)
        if fixture.options.get("zip"):
            return zip_folder(dest, dest.parent / f"{dest.name}.zip", prefix=str(fixture.options.get("zip")) if isinstance(fixture.options.get("zip"), str) else "")
    return dest


def module_to_notebook(source: str, module: str) -> str:
    """The module as a Colab-style notebook: one cell per top-level definition, plus the
    magics, shell lines, markdown and experiment cells a student's notebook has around them."""
    import ast

    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    cells: list[dict] = [
        {"cell_type": "markdown", "metadata": {}, "source": [f"# {module}\n", "Run all cells in order.\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": ["!pip install -q torch\n", "%matplotlib inline\n"]},
    ]
    chunk: list[str] = []
    for node in tree.body:
        begin = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno) - 1
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and chunk:
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": chunk})
            chunk = []
        chunk += lines[begin:node.end_lineno] + ["\n"]
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": chunk})
            cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [f"{node.name}?\n"]})
            chunk = []
    if chunk:
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": chunk})
    noise_cells = assignment.current().module(module).noise if module in assignment.current().module_names else ()
    for noise in noise_cells:
        cells.append({"cell_type": "code", "metadata": {}, "execution_count": 7, "outputs": [{"output_type": "stream", "name": "stdout", "text": ["epoch 1\n"]}], "source": [ln + "\n" for ln in noise.split("\n")]})
    cells.append({"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": ["%%bash\n", "ls /content\n"]})
    notebook = {"cells": cells, "metadata": {"colab": {"provenance": []}, "kernelspec": {"display_name": "Python 3", "name": "python3"}, "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 0}
    return json.dumps(notebook, indent=1)


def _substitute(data: bytes, subs: dict[str, str]) -> bytes:
    for key, value in subs.items():
        data = data.replace(f"@@{key}@@".encode(), value.encode())
    return data


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(folder.rglob("*")):
            if item.is_file() and not item.is_symlink():
                archive.write(item, (prefix.rstrip("/") + "/" if prefix else "") + item.relative_to(folder).as_posix())
    return target
