"""End to end through the sandbox on part 1: full marks, zero, containment, determinism, deadlines."""
import json
import os
import re

import pytest

from autograder.config import SANDBOX_UID_POOL
from tests.support import TEMPLATE, make_submission, run_grade, scores

PART1 = ("1a", "1b", "1c", "1d", "1h")
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="switching to the sandbox user needs root")


@pytest.fixture(scope="module")
def reference_part1(tmp_path_factory):
    folder = make_submission(tmp_path_factory.mktemp("ref"), modules=("q_rnn_and_grad",))
    return run_grade(folder, tmp_path_factory.mktemp("out") / "results.json", only=("1",))


def test_reference_gets_full_marks_on_part_1(reference_part1):
    report, results = reference_part1
    lost = {t["number"]: t["output"] for t in results["tests"] if t["number"].startswith("1") and t["score"] < t["max_score"]}
    assert len([t for t in results["tests"] if t["number"].startswith("1")]) == 18
    assert not lost, lost
    assert results["extra_data"]["finished"] is True


def test_template_gets_zero_with_a_not_implemented_message_per_check(tmp_path):
    folder = make_submission(tmp_path / "sub", source=TEMPLATE, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1",))
    graded = [t for t in results["tests"] if t["number"].startswith("1")]
    assert graded and all(t["score"] == 0 for t in graded)
    assert all("Not implemented yet" in t["output"] for t in graded), [t["output"][:80] for t in graded if "Not implemented" not in t["output"]]


def test_a_missing_module_costs_only_its_own_checks(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "q_graph_clustering.py").write_text("x = 1\n")
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c",))
    outputs = {t["number"]: t["output"] for t in results["tests"]}
    assert "q_rnn_and_grad.py (or q_rnn_and_grad.ipynb) was not found" in outputs["1c.1"]
    assert "q_graph_clustering.py" in outputs["1c.1"]


def test_a_syntax_error_names_the_file_line_and_code(tmp_path):
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": [("def loss_fn(", "def loss_fn(((")]}, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c.1",))
    output = {t["number"]: t["output"] for t in results["tests"]}["1c.1"]
    assert "syntax error" in output and "q_rnn_and_grad.py, line" in output and "def loss_fn(((" in output


def test_an_import_that_hangs_is_found_once_and_every_check_of_the_module_says_so(tmp_path):
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": [("import torch  # noqa: E402\n", "import torch  # noqa: E402\nimport time as _t\nwhile True:\n    _t.sleep(1)\n")]}, modules=("q_rnn_and_grad",))
    rubric = tmp_path / "rubric.toml"
    from autograder.rubric import default_path

    rubric.write_text(default_path().read_text().replace("timeout = 20.0", "timeout = 2.0"))
    report, results = run_grade(folder, tmp_path / "r.json", only=("1c.1", "1c.2", "1d"), rubric_path=rubric)
    outputs = {t["number"]: t["output"] for t in results["tests"]}
    graded = ["1c.1", "1c.2", "1d.1", "1d.2", "1d.3", "1d.4", "1d.5"]
    assert all("hangs at import" in outputs[c] and "Found at import of q_rnn_and_grad" in outputs[c] for c in graded), outputs
    assert len({"\n".join(outputs[c].splitlines()[:2]) for c in graded}) == 1  # one message (extra-credit notes aside) for every check
    seconds = {o.id: o.seconds for o in report.outcomes}
    assert all(seconds[c] < 0.5 for c in graded[1:]), seconds  # found once: no time spent on the others
    assert report.seconds < 15


def test_an_import_that_crashes_the_worker_is_found_once(tmp_path):
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": [("import torch  # noqa: E402\n", "import torch  # noqa: E402\nimport os as _os\n_os._exit(7)\n")]}, modules=("q_rnn_and_grad",))
    report, results = run_grade(folder, tmp_path / "r.json", only=("1c.1", "1c.2"))
    outputs = {t["number"]: t["output"] for t in results["tests"]}
    assert "crashes at import" in outputs["1c.1"] and "exit status 7" in outputs["1c.1"]
    assert outputs["1c.2"].startswith(outputs["1c.1"].split("\n")[0])


def test_os_exit_in_a_check_fails_that_check_and_the_next_check_runs_fresh(tmp_path):
    patch = ("def loss_fn(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:\n",
             "def loss_fn(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:\n    if last_timestep_only:\n        import os\n        os._exit(0)\n")
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": [patch]}, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c",))
    by_id = {t["number"]: t for t in results["tests"]}
    assert by_id["1c.1"]["score"] == by_id["1c.1"]["max_score"]
    assert "ended the worker process" in by_id["1c.2"]["output"] and "exit status 0" in by_id["1c.2"]["output"]


def test_patching_numpy_allclose_at_import_does_not_reach_the_grader(tmp_path):
    patches = [
        ("import numpy as np  # noqa: E402\n", "import numpy as np  # noqa: E402\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"),
        ("    return F.mse_loss(pred, y)", "    return F.mse_loss(pred, y) * 2"),
    ]
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": patches}, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c.1",))
    assert scores(results)["1c.1"] == (0, 1)


def test_the_global_deadline_reports_the_remaining_checks_as_not_run(tmp_path):
    folder = make_submission(tmp_path / "sub", modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1a", "1b", "1c"), deadline_seconds=0.001)
    graded = [t for t in results["tests"] if t["number"][:2] in ("1a", "1b", "1c")]
    assert all("overall time budget" in t["output"] for t in graded)
    assert results["score"] == 0


def test_two_runs_give_identical_scores_and_messages(tmp_path):
    bug = [("            h = self.nonlinearity(self.W_h(h) + self.W_x(x[:, t, :]))", "            h = self.nonlinearity(self.W_h(h) + self.W_x(x[:, max(t - 1, 0), :]))")]
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": bug}, modules=("q_rnn_and_grad",))
    runs = []
    for i in range(2):
        _, results = run_grade(folder, tmp_path / f"r{i}.json", only=("1a.3", "1c.1"))
        runs.append([(t["number"], t["score"], t["output"]) for t in results["tests"]])
    assert runs[0] == runs[1]
    failing = dict((n, o) for n, s, o in runs[0])["1a.3"]
    assert "Smallest failing input" in failing and "expected" in failing


SPY = '''
import os as _os, socket as _socket
_report = ["uid=%d gid=%d" % (_os.getuid(), _os.getgid())]
for _p in {paths!r}:
    try:
        open(_p).read(1)
        _report.append("READ " + _p)
    except OSError as _e:
        _report.append("denied " + type(_e).__name__)
try:
    _socket.create_connection(("127.0.0.1", 9), timeout=1)
    _report.append("NET open")
except OSError as _e:
    _report.append("NET blocked " + type(_e).__name__)
print(" | ".join(_report))
'''


@ROOT_ONLY
def test_the_worker_runs_as_the_sandbox_user_and_sees_no_reference_rubric_or_network(tmp_path):
    import pwd

    from autograder.config import PROJECT_ROOT

    paths = [str(PROJECT_ROOT / "reference" / "q_rnn_and_grad.py"), str(PROJECT_ROOT / "assignments" / "hw7" / "rubric.toml"), str(tmp_path / "r.json")]
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": [("import torch  # noqa: E402\n", "import torch  # noqa: E402\n" + SPY.format(paths=paths))]}, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c.1",))
    output = {t["number"]: t["output"] for t in results["tests"]}["1c.1"]
    uid, gid = (int(v) for v in re.search(r"uid=(\d+) gid=(\d+)", output).groups())
    assert uid in SANDBOX_UID_POOL and uid == results["extra_data"]["sandbox"]["uid"], "a private uid of this grader's own"
    assert gid == uid != pwd.getpwnam("grader-sandbox").pw_gid, "a private group too: another grader's workers cannot read this one's submission"
    assert "READ" not in output and output.count("denied") == 3
    assert "NET blocked" in output
    assert results["extra_data"]["sandbox"]["user"] == "grader-sandbox"


def test_a_daemon_left_behind_is_killed_and_reported(tmp_path):
    daemon = (
        "def loss_fn(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:\n",
        "def loss_fn(pred: torch.Tensor, y: torch.Tensor, last_timestep_only: bool = False) -> torch.Tensor:\n"
        "    import os, time\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            while True:\n"
        "                time.sleep(0.1)\n"
        "        os._exit(0)\n",
    )
    folder = make_submission(tmp_path / "sub", {"q_rnn_and_grad": [daemon]}, modules=("q_rnn_and_grad",))
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c.1",))
    output = {t["number"]: t["output"] for t in results["tests"]}["1c.1"]
    assert "background process" in output
    from autograder.sandbox.client import _ZYGOTE

    me = os.getpid()
    children = [p for p in os.listdir("/proc") if p.isdigit() and _ppid(p) == me and int(p) != _ZYGOTE.pid]
    assert children == [], "only the supervisor zygote of this (test) process may remain"


def _ppid(pid: str) -> int:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return int(stat.read().rsplit(b")", 1)[1].split()[1])
    except OSError:
        return -1


def test_a_process_that_already_loaded_the_reference_starts_a_fresh_supervisor(tmp_path):
    import autograder.checks  # noqa: F401  (this test process holds the reference and the checks)
    import reference.q_rnn_and_grad  # noqa: F401

    folder = make_submission(tmp_path / "sub", source=TEMPLATE, modules=("q_rnn_and_grad",))
    with open(folder / "q_rnn_and_grad.py", "a") as module:
        module.write(
            "\nimport sys as _sys\n\n"
            "def loss_fn(*args, **kwargs):\n"
            "    seen = sorted(m for m in _sys.modules if m == 'reference' or m.startswith(('reference.', 'autograder.checks')))\n"
            "    raise RuntimeError('LOADED=' + ','.join(seen) + '=END')\n"
        )
    _, results = run_grade(folder, tmp_path / "r.json", only=("1c",))
    outputs = {t["number"]: t["output"] for t in results["tests"]}
    assert "LOADED==END" in outputs["1c.1"], outputs["1c.1"][:300]


@ROOT_ONLY
def test_two_graders_at_once_get_different_private_uids_and_files_left_in_tmp_are_removed(tmp_path):
    import threading

    body = (
        "\nimport os as _os\n"
        "def loss_fn(*args, **kwargs):\n"
        "    with open('/tmp/autograder-left-behind-%d' % _os.getuid(), 'w') as handle:\n"
        "        handle.write('x')\n"
        "    raise RuntimeError('UID=%d=' % _os.getuid())\n"
    )
    uids = {}

    def grade(name):
        folder = make_submission(tmp_path / name, source=TEMPLATE, modules=("q_rnn_and_grad",))
        with open(folder / "q_rnn_and_grad.py", "a") as module:
            module.write(body)
        _, results = run_grade(folder, tmp_path / f"{name}.json", only=("1c.1",))
        output = {t["number"]: t["output"] for t in results["tests"]}["1c.1"]
        uids[name] = int(re.search(r"UID=(\d+)=", output).group(1))

    threads = [threading.Thread(target=grade, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert uids["a"] != uids["b"] and all(uid in SANDBOX_UID_POOL for uid in uids.values())
    assert not any(os.path.exists(f"/tmp/autograder-left-behind-{uid}") for uid in uids.values())
