"""Intake finds the homework modules anywhere in an upload and refuses what is unsafe, with a message."""
import os
import zipfile

from autograder import intake


def zip_with(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def test_modules_are_found_in_nested_folders_and_junk_is_ignored(tmp_path):
    sub = zip_with(tmp_path / "s.zip", {
        "hw7/code/q_rnn_and_grad.py": "x = 1\n",
        "__MACOSX/hw7/code/q_rnn_and_grad.py": "junk",
        "hw7/.hidden/q_autoencoder.py": "junk",
        "hw7/numpy.py": "raise SystemExit",
        "hw7/conftest.py": "raise SystemExit",
    })
    found = intake.stage(sub, tmp_path / "staged")
    assert found.modules == {"q_rnn_and_grad": "hw7/code/q_rnn_and_grad.py"}
    assert sorted(os.listdir(tmp_path / "staged")) == ["q_rnn_and_grad.py"]


def test_zip_slip_paths_are_refused(tmp_path):
    sub = zip_with(tmp_path / "s.zip", {"../../q_rnn_and_grad.py": "x = 1", "/abs/q_autoencoder.py": "y = 2"})
    found = intake.stage(sub, tmp_path / "staged")
    assert found.modules == {}
    assert len(found.problems) == 2 and all("unsafe path" in p for p in found.problems)


def test_a_broken_zip_is_reported_not_raised(tmp_path):
    bad = tmp_path / "s.zip"
    bad.write_bytes(b"PK\x03\x04 definitely not a zip")
    found = intake.stage(bad, tmp_path / "staged")
    assert found.modules == {} and "not a readable zip" in found.problems[0]


def test_links_in_folders_are_refused(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (tmp_path / "secret.py").write_text("s = 1")
    os.symlink(tmp_path / "secret.py", folder / "q_rnn_and_grad.py")
    found = intake.stage(folder, tmp_path / "staged")
    assert found.modules == {} and "not a regular file" in found.problems[0]


def test_oversized_modules_are_refused(tmp_path):
    sub = zip_with(tmp_path / "s.zip", {"q_rnn_and_grad.py": "#" * (intake.MAX_MODULE_BYTES + 10)})
    found = intake.stage(sub, tmp_path / "staged")
    assert found.modules == {} and "larger than" in found.problems[0]


def test_a_py_file_wins_over_a_notebook_and_the_shallowest_copy_wins(tmp_path):
    folder = tmp_path / "sub"
    (folder / "deep").mkdir(parents=True)
    (folder / "q_rnn_and_grad.ipynb").write_text("{}")
    (folder / "deep" / "q_rnn_and_grad.py").write_text("deep = 1")
    (folder / "q_autoencoder.py").write_text("top = 1")
    (folder / "deep" / "q_autoencoder.py").write_text("deep = 1")
    found = intake.stage(folder, tmp_path / "staged")
    assert found.modules == {"q_rnn_and_grad": "deep/q_rnn_and_grad.py", "q_autoencoder": "q_autoencoder.py"}
    assert any("ignored" in note for note in found.notes)
