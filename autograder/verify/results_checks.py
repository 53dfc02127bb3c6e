"""What a results.json must satisfy besides its schema: the grader's own promises (caps,
finished, scores), no text of hidden tests or of the trusted side in visible places, and
exactly what the grader decided."""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any, Iterable

from autograder import assignment
from autograder.config import PROJECT_ROOT
from autograder.walk import walk
from autograder.verify.catalogue import REFERENCE, TEMPLATE
from autograder.verify.schema import validate


def results_problems(results: Any, raw: bytes | None = None) -> list[str]:
    """Schema errors plus the grader's own promises: caps, finished, scores within bounds."""
    from autograder.results import TEST_OUTPUT_CAP, TOP_OUTPUT_CAP

    problems = validate(results)
    if problems:
        return problems
    if raw is not None:
        try:
            json.loads(raw.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"not strict JSON: {exc}")
    if not results.get("extra_data", {}).get("finished"):
        problems.append("extra_data.finished is not true")
    if len(results.get("output", "")) > TOP_OUTPUT_CAP:
        problems.append(f"top-level output has {len(results['output'])} characters (cap {TOP_OUTPUT_CAP})")
    total = 0.0
    for t in results["tests"]:
        if len(t.get("output", "")) > TEST_OUTPUT_CAP:
            problems.append(f"{t.get('number')}: output has {len(t['output'])} characters (cap {TEST_OUTPUT_CAP})")
        if t.get("score", 0) > t.get("max_score", 0) + 1e-9:
            problems.append(f"{t.get('number')}: score {t['score']} above max_score {t['max_score']}")
        if (t.get("status") == "passed") != (t.get("score", 0) >= t.get("max_score", 0)):
            if t.get("max_score", 0) > 0:
                problems.append(f"{t.get('number')}: status {t.get('status')} with {t.get('score')}/{t.get('max_score')}")
        total += t.get("score", 0)
    if abs(total - results.get("score", total)) > 1e-6:
        problems.append(f"score {results.get('score')} is not the sum of the tests' scores {total}")
    return problems


def hidden_leaks(results: dict) -> list[str]:
    """Text of non-visible tests (failing inputs, printed output) that shows up in visible places."""
    visible_text = results.get("output", "") + "\n" + "\n".join(t.get("name", "") + "\n" + t.get("output", "") for t in results["tests"] if t.get("visibility", "visible") == "visible")
    leaks = []
    for t in results["tests"]:
        if t.get("visibility", "visible") == "visible":
            continue
        for line in t.get("output", "").splitlines():
            line = line.strip()
            if len(line) >= 16 and ("Smallest failing input" in line or "HIDDEN-INPUT" in line) and line in visible_text:
                leaks.append(f"{t['number']}: {line[:80]}")
        for match in re.findall(r"HIDDEN-INPUT<<[^>]*>>", t.get("output", "")):
            if match in visible_text:
                leaks.append(f"{t['number']}: {match[:80]}")
    return leaks


_SECRET_CACHE: dict[str, set[str]] = {}


def secret_lines() -> set[str]:
    """Distinctive lines of the trusted side (checks, reference) that no submission shows."""
    if "lines" in _SECRET_CACHE:
        return _SECRET_CACHE["lines"]
    task = assignment.current()
    public: set[str] = set()
    for path in list(TEMPLATE.glob("*.py")) + _module_files(task, task.probes) + [PROJECT_ROOT / "autograder" / "messages.toml"]:
        public |= {ln.strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()}
    secret: set[str] = set()
    for path in _module_files(task, task.checks) + list(REFERENCE.glob("*.py")):
        for ln in path.read_text(encoding="utf-8", errors="replace").splitlines():
            ln = ln.strip()
            if len(ln) >= 28 and ln not in public and not ln.startswith(("#", "from ", "import ", '"""', "def ", "class ", "return ", "@")):
                secret.add(ln)
    _SECRET_CACHE["lines"] = secret
    return secret


def _module_files(task, names) -> list[Path]:
    """Every Python file in the folders of the assignment's modules ``names`` (their helpers too)."""
    folders = dict.fromkeys((task.folder / name.replace(".", "/")).parent for name in names)
    return [f for folder in folders for f in sorted(folder.glob("*.py"))]


def leaked_secrets(results_text: str, submission_texts: Iterable[str]) -> list[str]:
    """Secret lines that appear in the results but not in the submission's own files."""
    own: set[str] = set()
    for text in submission_texts:
        own |= {ln.strip() for ln in text.splitlines()}
    found = []
    for line in secret_lines():
        if line not in own and line in results_text:
            found.append(line[:100])
    return sorted(found)


def _submission_texts(path: Path) -> list[str]:
    texts = []
    if path.is_dir():
        for folder, _, names in walk(path):  # iterative and bounded: a case may nest 1,100 folders
            for name in names:
                item = Path(folder) / name
                try:
                    if item.is_file() and not item.is_symlink() and item.stat().st_size < 2_000_000:
                        texts.append(item.read_text(encoding="utf-8", errors="replace"))
                except OSError:
                    pass
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.file_size < 2_000_000:
                    texts.append(archive.read(info).decode("utf-8", "replace"))
    return texts


def _report_matches(results: dict, outcomes: list[dict]) -> list[str]:
    """The file on disk says what the grader decided (nobody rewrote it)."""
    problems = []
    by_id = {t["number"]: t for t in results.get("tests", [])}
    if len(by_id) != len(outcomes):
        problems.append(f"results.json lists {len(by_id)} tests, the grader decided {len(outcomes)}")
    for o in outcomes:
        t = by_id.get(o["id"])
        if t is None:
            problems.append(f"{o['id']} missing from results.json")
        elif abs(t["score"] - round(o["score"], 4)) > 1e-9 or abs(t["max_score"] - round(o["max_score"], 4)) > 1e-9:
            problems.append(f"{o['id']}: results.json says {t['score']}/{t['max_score']}, the grader decided {o['score']}/{o['max_score']}")
    return problems
