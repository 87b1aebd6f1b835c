"""Lineage capture against real things: git repositories, a real IPython shell, subprocesses."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import trackbook
from trackbook import gitstate, lineage
from trackbook.values import REDACTED

SRC = str(Path(trackbook.__file__).resolve().parents[1])


def notebook(*cells: tuple[str, str], outputs: str = "1", count: int = 1) -> str:
    """An nbformat 4 notebook whose code cells carry outputs and an execution count."""
    body = []
    for kind, source in cells:
        cell: dict = {"cell_type": kind, "metadata": {}, "source": source.splitlines(True)}
        if kind == "code":
            cell["execution_count"] = count
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [outputs]}]
        body.append(cell)
    return json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(autouse=True)
def quiet_git(tmp_path, monkeypatch):
    """Commit as a test user, ignore the machine's git config, never walk above tmp_path."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository on `main` with a script, a notebook with outputs and a binary file."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "train.py").write_text("lr = 0.001\nepochs = 3\n")
    (root / "analysis.ipynb").write_text(notebook(("markdown", "# Title"), ("code", "print(1)")))
    (root / "blob.bin").write_bytes(bytes(range(256)) * 4)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_repo(repo):
    info = lineage.capture_git(repo)
    assert info is not None
    assert info["root"] == str(repo.resolve())
    assert info["commit"] == git(repo, "rev-parse", "HEAD")
    assert info["branch"] == "main"
    assert info["remote"] is None
    assert info["dirty"] is False
    assert info["diff"] == ""
    assert info["diff_truncated"] is False
    assert info["untracked"] == []
    json.dumps(info)


def test_source_change_is_in_the_diff(repo):
    (repo / "train.py").write_text("lr = 0.01\nepochs = 3\n")
    (repo / "notes.txt").write_text("scratch\n")
    info = lineage.capture_git(repo / "train.py")  # a file inside the tree works too
    assert info["dirty"] is True
    assert "-lr = 0.001" in info["diff"]
    assert "+lr = 0.01" in info["diff"]
    assert info["untracked"] == ["notes.txt"]


def test_staged_and_unstaged_changes_both_count(repo):
    (repo / "train.py").write_text("lr = 0.01\nepochs = 3\n")
    git(repo, "add", "train.py")
    (repo / "train.py").write_text("lr = 0.01\nepochs = 5\n")
    diff = lineage.capture_git(repo)["diff"]
    assert "+lr = 0.01" in diff
    assert "+epochs = 5" in diff


def test_subfolder_resolves_to_the_root(repo):
    (repo / "sub").mkdir()
    assert lineage.capture_git(repo / "sub")["root"] == str(repo.resolve())


def test_notebook_outputs_are_not_diffed(repo):
    path = repo / "analysis.ipynb"
    path.write_text(notebook(("markdown", "# Title"), ("code", "print(1)"), outputs="2", count=7))
    info = lineage.capture_git(repo)
    assert info["dirty"] is True  # the file did change
    assert info["diff"] == ""  # but not in a way that matters for the code


def test_notebook_source_edit_is_diffed(repo):
    path = repo / "analysis.ipynb"
    path.write_text(notebook(("markdown", "# Title"), ("code", "print(2)"), outputs="2", count=9))
    diff = lineage.capture_git(repo)["diff"]
    assert "analysis.ipynb" in diff
    assert "-print(1)" in diff
    assert "+print(2)" in diff
    assert "# %% [code]" in diff
    assert "execution_count" not in diff
    assert "outputs" not in diff


def test_new_notebook_diffs_against_nothing(repo):
    (repo / "new.ipynb").write_text(notebook(("code", "import math\nmath.pi")))
    git(repo, "add", "new.ipynb")
    diff = lineage.capture_git(repo)["diff"]
    assert "+# %% [code]" in diff
    assert "+import math" in diff
    assert "+math.pi" in diff


def test_binary_file_is_listed_by_name_only(repo):
    (repo / "blob.bin").write_bytes(bytes(reversed(range(256))) * 4)
    diff = lineage.capture_git(repo)["diff"]
    assert "blob.bin" in diff
    assert "Binary" in diff
    assert "\x00" not in diff
    assert len(diff) < 500


def test_large_diff_is_truncated_with_a_marker(repo):
    line = "x" * 99 + "\n"
    (repo / "train.py").write_text(line * 15_000)  # 1.5 MB of changes
    info = lineage.capture_git(repo)
    assert info["diff_truncated"] is True
    assert len(info["diff"].encode()) <= gitstate.DIFF_LIMIT
    assert info["diff"].endswith(gitstate.DIFF_MARKER.format(limit=gitstate.DIFF_LIMIT))
    assert "+" + line in info["diff"]


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://ana:s3cret@example.com/org/repo.git", "https://example.com/org/repo.git"),
        ("https://ghp_token@github.com/org/repo.git", "https://github.com/org/repo.git"),
        ("ssh://git:pw@example.com:22/org/repo.git", "ssh://git@example.com:22/org/repo.git"),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git"),
        ("https://github.com/org/repo.git", "https://github.com/org/repo.git"),
    ],
)
def test_remote_url_loses_credentials(repo, url, stored):
    git(repo, "remote", "add", "origin", url)
    assert lineage.capture_git(repo)["remote"] == stored


def test_detached_head_has_no_branch(repo):
    git(repo, "checkout", "-q", "--detach")
    info = lineage.capture_git(repo)
    assert info["branch"] is None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")


def test_repository_without_commits(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "a.py").write_text("print('hi')\n")
    info = lineage.capture_git(tmp_path)
    assert info["commit"] is None
    assert info["branch"] == "main"
    assert info["dirty"] is True
    assert info["diff"] == ""
    assert info["untracked"] == ["a.py"]


def test_untracked_list_is_capped(repo):
    for i in range(gitstate.UNTRACKED_LIMIT + 50):
        (repo / f"out_{i:03}.csv").write_text("1\n")
    assert len(lineage.capture_git(repo)["untracked"]) == gitstate.UNTRACKED_LIMIT


def test_capture_leaves_the_index_alone(repo):
    # A touched file makes plain `git status` rewrite the index; capture must not (it would
    # race the user's own git commands for index.lock).
    index = repo / ".git" / "index"
    before = index.read_bytes(), index.stat().st_mtime_ns
    os.utime(repo / "train.py", (time.time() + 5, time.time() + 5))
    assert lineage.capture_git(repo)["dirty"] is False
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before


def test_not_a_repository(tmp_path):
    assert lineage.capture_git(tmp_path) is None
    assert lineage.capture_git(tmp_path / "missing") is None


def test_no_git_on_path(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert lineage.capture_git(repo) is None


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for git")
def test_hung_git_times_out(repo, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "git"
    fake.parent.mkdir()
    sleep = shutil.which("sleep")
    fake.write_text(f"#!/bin/sh\n{sleep} 30\n")  # sleep is a child that holds the pipe too
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setattr(gitstate, "GIT_TIMEOUT", 0.3)
    start = time.perf_counter()
    assert lineage.capture_git(repo) is None
    assert time.perf_counter() - start < 5


# --- environment ------------------------------------------------------------------------------


def test_environment(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("MY_API_TOKEN", "abc123")
    start = time.perf_counter()
    env = lineage.capture_environment(extra_env_vars=["MY_API_TOKEN"])
    assert time.perf_counter() - start < 1.0
    assert set(env) >= {
        "python", "implementation", "executable", "platform", "system", "machine", "hostname",
        "user", "cpu", "memory_bytes", "gpus", "packages", "env",
    }  # fmt: skip
    assert env["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert env["cpu"]["count"] == os.cpu_count()
    assert env["memory_bytes"] is None or env["memory_bytes"] > 0
    assert isinstance(env["gpus"], list)
    assert env["env"] == {"OMP_NUM_THREADS": "4", "MY_API_TOKEN": REDACTED}
    json.dumps(env)


def test_packages_are_normalised_and_sorted():
    packages = lineage.capture_environment()["packages"]
    assert packages["pytest"] == pytest.__version__
    assert list(packages) == sorted(packages)
    assert all(name == name.lower() and "_" not in name and "." not in name for name in packages)


def test_environment_signature(tmp_path, monkeypatch):
    assert lineage.environment_signature() == lineage.environment_signature()
    site = tmp_path / "site-packages"
    site.mkdir()
    os.utime(site, (1_000_000_000, 1_000_000_000))
    monkeypatch.syspath_prepend(str(site))
    before = lineage.environment_signature()
    (site / "newpkg-1.0.dist-info").mkdir()
    assert lineage.environment_signature() != before


# --- IPython: notebook path, entry point, history ---------------------------------------------


@pytest.fixture(scope="module")
def ip():
    from IPython import get_ipython
    from IPython.testing import globalipapp

    globalipapp.start_ipython()  # returns None if another test module started it already
    return get_ipython()


def test_kernel_history_in_order(ip):
    ip.run_cell("a = 1", store_history=True)
    ip.run_cell("b = a + 1", store_history=True)
    history = lineage.kernel_history()
    assert history[-2:] == ["a = 1", "b = a + 1"]
    assert "" not in history[:1]
    count = ip.execution_count - 1  # the number of the last cell that ran
    assert lineage.kernel_history(upto=count - 1)[-1] == "a = 1"


def test_kernel_history_drops_the_oldest_cells(ip):
    for i in range(5):
        ip.run_cell(f"c{i} = '{'x' * 100}'", store_history=True)
    history = lineage.kernel_history(limit_chars=250)
    assert history[0].startswith("# trackbook:")
    assert "dropped" in history[0]
    assert history[1:] == [f"c{i} = '{'x' * 100}'" for i in (3, 4)]


def test_notebook_path_from_jupyter_session(ip, tmp_path, monkeypatch):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "analysis.ipynb").write_text(notebook(("code", "1")))
    monkeypatch.chdir(tmp_path / "nb")  # the kernel starts in the notebook's folder
    monkeypatch.setenv("JPY_SESSION_NAME", "nb/analysis.ipynb")  # relative to the server root
    assert lineage.notebook_path() == str(tmp_path / "nb" / "analysis.ipynb")
    entry = lineage.entry_point()
    assert entry["kind"] == "notebook"
    assert entry["path"] == str(tmp_path / "nb" / "analysis.ipynb")
    assert entry["cwd"] == str(tmp_path / "nb")
    monkeypatch.setenv("JPY_SESSION_NAME", "elsewhere/other.ipynb")
    assert lineage.notebook_path() == "elsewhere/other.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", "Console 1")
    assert lineage.notebook_path() is None


def test_notebook_path_from_vscode(ip, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setitem(ip.user_ns, "__vsc_ipynb_file__", "/work/project/train.ipynb")
    assert lineage.notebook_path() == "/work/project/train.ipynb"


def test_terminal_ipython_entry_point(ip, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert lineage.entry_point() == {
        "kind": "ipython", "path": None, "argv": [], "cwd": str(Path.cwd()),
    }  # fmt: skip


def run_python(tmp_path: Path, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=True, env=env,
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_script_entry_point_redacts_secrets(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import json\nfrom trackbook import lineage\n"
        "print(json.dumps({'entry': lineage.entry_point(), 'history': lineage.kernel_history(),"
        " 'notebook': lineage.notebook_path()}))\n"
    )
    args = ["--lr=0.1", "--token=abc", "--api-key", "xyz", "password=hunter2", "--epochs", "3"]
    out = run_python(tmp_path, str(script), *args)
    assert out["entry"] == {
        "kind": "script",
        "path": str(script),
        "argv": [
            str(script), "--lr=0.1", f"--token={REDACTED}", "--api-key", REDACTED,
            f"password={REDACTED}", "--epochs", "3",
        ],
        "cwd": str(tmp_path),
    }  # fmt: skip
    assert out["history"] == []
    assert out["notebook"] is None


def test_interactive_entry_point(tmp_path):
    code = "import json; from trackbook import lineage; print(json.dumps(lineage.entry_point()))"
    entry = run_python(tmp_path, "-c", code)
    assert entry == {"kind": "interactive", "path": None, "argv": [], "cwd": str(tmp_path)}


# --- hashes and seeds -------------------------------------------------------------------------


def test_content_hash():
    expected = hashlib.sha256(b"abc").hexdigest()
    assert lineage.content_hash("abc") == expected
    assert lineage.content_hash(b"abc") == expected
    assert lineage.content_hash("é") == hashlib.sha256("é".encode()).hexdigest()


def test_seeds(monkeypatch):
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    params = {
        "seed": 1, "model.seed": 2, "data_seed": 3, "random_state": 4, "split": {"random_state": 5},
        "seeds": 6, "seedling": 7, "lr": 0.1,
    }  # fmt: skip
    assert lineage.seeds(params) == {
        "seed": 1, "model.seed": 2, "data_seed": 3, "random_state": 4, "split.random_state": 5,
        "env.PYTHONHASHSEED": "0",
    }  # fmt: skip
    monkeypatch.delenv("PYTHONHASHSEED")
    assert lineage.seeds({"lr": 0.1}) == {}
