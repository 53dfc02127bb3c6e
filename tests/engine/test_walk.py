"""Folder trees a submission made (an upload, or what a worker built in its scratch folder)
are walked iteratively within limits and removed completely, however deep or long their
paths: 1,100 nested folders, or a chain whose path is longer than PATH_MAX (4096 bytes),
never raise RecursionError and never stop grading."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from autograder import batch, intake
from autograder.walk import WalkLimit, remove_tree, walk, walk_strict

DEPTH = 1_100
LONG_NAME = "L" * 200  # 30 levels of these: a path of about 6,000 bytes


def make_chain(top: Path, depth: int, name: str = "d", leaf: tuple[str, bytes] | None = None, every: int = 0) -> None:
    """A chain of ``depth`` folders under ``top``, made relative to directory descriptors
    (so paths longer than PATH_MAX can be built), with a file every ``every`` levels."""
    top.mkdir(parents=True, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for level in range(depth):
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            if every and level % every == 0:
                os.close(os.open("file.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        if leaf is not None:
            out = os.open(leaf[0], os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(out, leaf[1])
            os.close(out)
    finally:
        os.close(fd)


pytestmark = pytest.mark.usefixtures("remove_deep_trees")


@pytest.fixture
def low_recursion_limit():
    """As deep as Python's default: a recursive walk of these trees would fail here."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(old)


def test_a_1100_deep_chain_is_walked_up_to_the_limit_and_the_limit_is_reported(tmp_path, low_recursion_limit):
    make_chain(tmp_path / "t", DEPTH, every=100)
    walker = walk(tmp_path / "t", max_depth=64)
    folders = [folder for folder, _, _ in walker]
    assert len(folders) == 65  # the top and 64 levels below it
    assert walker.truncated and walker.limit.reason == "depth"
    assert "nested more than 64 deep" in walker.describe()


def test_the_whole_1100_deep_chain_can_be_walked_without_recursion(tmp_path, low_recursion_limit):
    make_chain(tmp_path / "t", DEPTH, every=100)
    walker = walk(tmp_path / "t", max_depth=5000, max_path=10**6)
    files = [name for _, _, names in walker for name in names]
    assert files == ["file.txt"] * 11 and not walker.truncated


def test_paths_longer_than_path_max_are_not_walked_but_reported(tmp_path, low_recursion_limit):
    make_chain(tmp_path / "t", 30, name=LONG_NAME, leaf=("x.py", b"x = 1\n"))
    walker = walk(tmp_path / "t", max_depth=64)
    for folder, _, names in walker:
        assert len(os.fsencode(folder)) <= 4000
        for name in names:
            os.lstat(os.path.join(folder, name))  # every path yielded can be used
    assert [limit.reason for limit in walker.limits] == ["path length"]


def test_the_entry_limit_stops_the_walk(tmp_path):
    for i in range(50):
        (tmp_path / f"f{i}").write_text("")
    walker = walk(tmp_path, max_entries=10)
    assert sum(len(files) for _, _, files in walker) == 10
    assert walker.limit.reason == "entries"


def test_walk_strict_raises_the_limit_after_the_walk(tmp_path):
    make_chain(tmp_path / "t", 10)
    with pytest.raises(WalkLimit):
        list(walk_strict(tmp_path / "t", max_depth=3))


def test_links_are_listed_never_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("s = 1")
    root = tmp_path / "root"
    root.mkdir()
    (root / "to_dir").symlink_to(outside, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)
    seen = [(Path(f).name, sorted(d), sorted(n)) for f, d, n in walk(root)]
    assert seen == [("root", [], ["loop", "to_dir"])]


def test_remove_tree_removes_a_1100_deep_chain_and_one_longer_than_path_max(tmp_path, low_recursion_limit):
    top = tmp_path / "scratch"
    make_chain(top / "deep", DEPTH, every=50)
    make_chain(top / "long", 30, name=LONG_NAME, leaf=("x.py", b"x"))
    make_chain(top / "long" / "wide", 1)
    for i in range(200):
        (top / f"file{i}").write_text("x")
    assert remove_tree(top) is True
    assert not os.path.lexists(top)


def test_remove_tree_removes_links_without_following_them_and_never_raises(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("x")
    top = tmp_path / "top"
    make_chain(top, 5)
    (top / "d" / "link").symlink_to(keep, target_is_directory=True)
    (top / "fifo").parent.mkdir(exist_ok=True)
    os.mkfifo(top / "fifo")
    assert remove_tree(top)
    assert (keep / "precious").read_text() == "x"
    link = tmp_path / "alink"
    link.symlink_to(keep, target_is_directory=True)
    assert remove_tree(link) and not os.path.lexists(link) and keep.is_dir()
    assert remove_tree(tmp_path / "missing") is True


def test_remove_tree_makes_its_own_unwritable_folders_removable(tmp_path):
    top = tmp_path / "top"
    make_chain(top, 3, leaf=("f", b"x"))
    for folder in (top / "d" / "d" / "d", top / "d" / "d", top / "d"):
        os.chmod(folder, 0o500)
    assert remove_tree(top) and not os.path.lexists(top)


# --------------------------------------------------------------------------- callers


def test_intake_of_a_folder_nested_too_deep_says_so_and_takes_what_is_near_the_top(tmp_path, low_recursion_limit):
    sub = tmp_path / "upload"
    make_chain(sub / "deep", DEPTH, leaf=("q_rnn_and_grad.py", b"x = 1\n"))
    make_chain(sub / "long", 30, name=LONG_NAME, leaf=("q_autoencoder.py", b"x = 1\n"))
    (sub / "hw7").mkdir()
    (sub / "hw7" / "q_graph_clustering.py").write_text("y = 2\n")
    found = intake.stage(sub, tmp_path / "staged")
    assert found.modules == {"q_graph_clustering": "hw7/q_graph_clustering.py"}
    problem = next(p for p in found.problems if "not searched" in p)
    assert f"nested more than {intake.MAX_FOLDER_DEPTH} deep" in problem
    assert "longer than" in problem
    assert len(problem) < 1000


def test_the_batch_hashes_a_submission_folder_nested_1100_deep(tmp_path, low_recursion_limit):
    sub = tmp_path / "s1"
    make_chain(sub, DEPTH, leaf=("q_rnn_and_grad.py", b"x = 1\n"))
    first = batch.submission_hash(sub)
    assert first == batch.submission_hash(sub)
    (sub / "top.py").write_text("changed")
    assert batch.submission_hash(sub) != first
