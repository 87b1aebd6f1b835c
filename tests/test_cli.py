"""The ``trackbook`` command: every command through CliRunner, then as real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import time
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import trackbook as tb
from conftest import PYTHON, python_env
from trackbook import cli, spool
from trackbook.cli import main
from trackbook.store import Store


def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, input=input, catch_exceptions=False)


def ok(*args: str, **kwargs: object) -> Result:
    result = invoke(*args, **kwargs)  # type: ignore[arg-type]
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def fails(*args: str, code: int = 1) -> str:
    """The error a command prints: exactly one line (plus context lines for a filter or an
    ambiguous prefix), no traceback, on stderr, with the exit code."""
    result = invoke(*args)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    return result.stderr


def copy_store(source: Path, target: Path) -> None:
    """A copy of a store at rest (file and artifacts): cheaper than logging the runs again."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    shutil.copytree(f"{source}.artifacts", f"{target}.artifacts")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A small store, made once: finished runs, a failed one, files, a deleted one."""
    folder = tmp_path_factory.mktemp("template")
    store = folder / "trackbook.duckdb"
    files = folder / "files"
    (files / "ckpt").mkdir(parents=True)
    (files / "ckpt" / "w.bin").write_bytes(b"\x00" * 100)
    (files / "model.pt").write_bytes(b"model")
    made = {}
    for lr in (1e-4, 1e-3, 1e-2):
        with tb.start_run(f"lr={lr}", experiment="sweep", params={"lr": lr, "opt": "adam"},
                          tags=["baseline", "owner=ana"], store=store) as run:
            for step in range(5):
                run.log(loss=lr * 100 / (step + 1), acc=0.5 + step / 10)
        made[f"lr={lr}"] = run.run_id
    with tb.start_run("with-files", experiment="other", store=store) as run:
        run.log_artifact(files / "model.pt")
        run.log_artifact(files / "ckpt")
        run.log_text("hello", "notes/report.md")
        run.note("kept the good one")
    made["with-files"] = run.run_id
    run = tb.start_run("broken", experiment="other", store=store)
    run.log(loss=9.0)
    run.end("failed", "Traceback (most recent call last):\nRuntimeError: diverged at step 0")
    made["broken"] = run.run_id
    with tb.start_run("gone", experiment="other", store=store) as run:
        pass
    made["gone"] = run.run_id
    tb.delete_runs(ids=[run.run_id], store=store)
    tb.runs(store=store)  # ingest the spool: the store is at rest
    return store, made


@pytest.fixture
def runs(template: tuple[Path, dict[str, str]], store_path: Path) -> dict[str, str]:
    """The template's runs, in this test's own store (``TRACKBOOK_STORE``)."""
    copy_store(template[0], store_path)
    return dict(template[1])


def all_commands(group: click.Group = main, prefix: tuple[str, ...] = ()
                 ) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_has_help_with_an_example(command: tuple[str, ...]) -> None:
    result = ok(*command, "--help")
    assert "Example:" in result.stdout and f"trackbook {command[0]}" in result.stdout


def test_the_commands_the_issue_lists_exist() -> None:
    names = {" ".join(c) for c in all_commands()}
    assert names >= {"runs", "show", "tail", "download", "sql", "experiments", "export summary",
                     "export bundle", "import", "gc", "path", "doctor", "rm", "restore",
                     "rename"}


# -- runs -----------------------------------------------------------------------------------------

def test_runs_table_shows_short_ids_readable_numbers_and_hides_deleted(runs: dict[str, str]
                                                                      ) -> None:
    result = ok("runs")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["run_id", "name", "experiment", "status", "start_time",
                                    "duration_s"]
    assert runs["lr=0.001"][:8] in result.stdout and runs["lr=0.001"] not in result.stdout
    assert runs["gone"][:8] not in result.stdout
    assert len(lines) == 2 + 5
    broken = next(line for line in lines if "broken" in line)
    assert "failed" in broken
    row = next(line for line in lines if "lr=0.01 " in line)
    assert " 0.2" in row  # loss 1.0 / 5 at the last step, 4 significant digits at most
    assert max(len(line) for line in lines) <= 100


def test_runs_table_fits_a_narrow_terminal_and_says_what_it_left_out(runs: dict[str, str]
                                                                     ) -> None:
    result = invoke("runs", env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 60
    assert "more columns not shown" in result.stderr and "--columns" in result.stderr


def test_runs_filters_orders_limits_and_picks_columns(runs: dict[str, str]) -> None:
    result = ok("runs", "-e", "sweep", "--where", "params.lr >= 1e-3", "--order-by",
                "params.lr DESC", "-c", "name,params.*", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["name"] for r in rows] == ["lr=0.01", "lr=0.001"]
    assert list(rows[0]) == ["name", "params.lr", "params.opt"]
    assert float(rows[1]["params.lr"]) == 1e-3
    limited = ok("runs", "--limit", "2", "--format", "json")
    assert len(json.loads(limited.stdout)) == 2


def test_runs_json_is_strict_with_full_ids_and_typed_values(runs: dict[str, str]) -> None:
    rows = json.loads(ok("runs", "--format", "json").stdout)
    by_name = {r["name"]: r for r in rows}
    assert by_name["lr=0.001"]["run_id"] == runs["lr=0.001"]
    assert by_name["lr=0.001"]["params.lr"] == 1e-3 and by_name["broken"]["params.lr"] is None
    assert by_name["lr=0.001"]["start_time"].endswith("+00:00")
    assert by_name["lr=0.001"]["tags.owner"] == "ana"


def test_runs_table_stops_at_its_limit_and_says_more_match(
        runs: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "TABLE_LIMIT", 2)
    result = ok("runs")
    assert len(result.stdout.splitlines()) == 4
    assert "showing the first 2 runs; more match" in result.stderr
    assert len(ok("runs", "--limit", "0").stdout.splitlines()) == 7


def test_bad_inputs_get_one_line_that_says_what_to_do(runs: dict[str, str], tmp_path: Path
                                                      ) -> None:
    message = fails("runs", "--where", "metrics.loss <")
    assert "position 14" in message and "metrics.loss <" in message and "^" in message
    assert "did you mean metrics.loss" in fails("runs", "-c", "name,metrics.los")
    bad_format = fails("runs", "--format", "xml", code=2)
    assert "'xml' is not one of" in bad_format and len(bad_format.splitlines()) == 1
    assert "no run is named 'lr=0.5'" in fails("show", "lr=0.5")
    assert "too short" in fails("show", "abc")
    assert "no run id starts with 'ffffff0'" in fails("show", "ffffff0")
    other = tmp_path / "elsewhere" / "trackbook.duckdb"
    missing = fails("--store", str(other), "runs")
    assert str(other) in missing and "the nearest store is" in missing
    assert len(missing.splitlines()) == 1
    assert "say which runs" in fails("rm", code=2)
    assert "refused" in fails("sql", "DELETE FROM runs")
    assert "No such command" in fails("nosuch", code=2)


def test_an_ambiguous_prefix_lists_the_runs(store_path: Path) -> None:
    rows = [{"run_id": f"abcdef{i:010x}", "experiment": "e", "name": f"twin{i}",
             "start_time": time.time()} for i in range(2)]
    Store(store_path).write_tables({"run_starts": spool.rows_to_arrow("run_starts", rows)})
    message = fails("show", "abcdef")
    assert "matches several runs" in message and "twin0" in message and "twin1" in message


# -- one run --------------------------------------------------------------------------------------

def test_show_prints_params_metrics_tags_and_the_error(runs: dict[str, str]) -> None:
    text = ok("show", runs["lr=0.001"][:6]).stdout
    assert text.startswith(f"run {runs['lr=0.001']}  lr=0.001")
    assert "params (2)" in text and re.search(r"\n  lr +0.001\n", text)
    assert "baseline, owner=ana" in text
    assert "metrics (2)" in text and "loss" in text
    broken = ok("show", "broken").stdout
    assert "status      failed" in broken and "RuntimeError: diverged at step 0" in broken
    files = ok("show", "with-files").stdout
    assert "artifacts (3)" in files and "notes/report.md" in files
    assert "kept the good one" in files


def test_show_json_has_everything(runs: dict[str, str]) -> None:
    doc = json.loads(ok("show", "with-files", "--format", "json").stdout)
    assert doc["run_id"] == runs["with-files"] and doc["notes"] == ["kept the good one"]
    assert {a["name"] for a in doc["artifacts"]} == {"model.pt", "ckpt", "notes/report.md"}
    assert doc["lineage"]["environment"]["python"]
    nan = json.loads(ok("show", "lr=0.001", "--format", "json").stdout)
    assert nan["params"] == {"lr": 0.001, "opt": "adam"}


def test_tail_of_an_ended_run_prints_its_last_steps_and_how_it_ended(runs: dict[str, str]
                                                                     ) -> None:
    result = ok("tail", "lr=0.001", "-n", "2")
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and "step 3" in lines[0] and "step 4" in lines[1]
    assert "acc 0.9" in lines[1] and "loss 0.02" in lines[1]
    assert lines[2].startswith(f"run {runs['lr=0.001'][:8]} 'lr=0.001' finished after")
    failed = invoke("tail", "broken")
    assert failed.exit_code == cli.EXIT_RUN_NOT_FINISHED
    assert "failed" in failed.stdout and "RuntimeError: diverged" in failed.stdout


def test_download_writes_files_and_folders_and_refuses_to_clobber(
        runs: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = ok("download", "with-files", "--to", str(out))
    assert (out / "model.pt").read_bytes() == b"model"
    assert (out / "ckpt" / "w.bin").stat().st_size == 100
    assert (out / "notes" / "report.md").read_text() == "hello"
    assert "3 file(s)" in result.stderr
    again = ok("download", "with-files", "--to", str(out))
    assert "3 already there, unchanged" in again.stderr
    (out / "model.pt").write_bytes(b"changed")
    assert "exists with other content" in fails("download", "with-files", "--to", str(out))
    assert (out / "model.pt").read_bytes() == b"changed"
    ok("download", "with-files", "--to", str(out), "-a", "model.pt", "--overwrite")
    assert (out / "model.pt").read_bytes() == b"model"
    assert "did you mean model.pt" in fails("download", "with-files", "--to", str(out), "-a",
                                            "modl.pt")
    assert "is a file" in fails("download", "with-files", "--to", str(out / "model.pt"))
    assert "has no artifacts" in fails("download", "lr=0.001", "--to", str(out))


def test_sql_and_experiments(runs: dict[str, str]) -> None:
    table = ok("sql", "SELECT name, n_runs FROM experiments ORDER BY name").stdout
    assert table.splitlines()[2].split() == ["other", "2"]
    rows = json.loads(ok("sql", "SELECT key, count(*) AS n FROM metrics GROUP BY key "
                                "ORDER BY key", "--format", "json").stdout)
    assert rows == [{"key": "acc", "n": 15}, {"key": "loss", "n": 16}]
    assert "sweep" in ok("sql", "-", input="SELECT * FROM experiments").stdout
    assert json.loads(ok("experiments", "--format", "json").stdout)[0]["name"] == "sweep"
    assert "sweep" in ok("experiments").stdout


# -- writing --------------------------------------------------------------------------------------

def test_rm_restore_rename(runs: dict[str, str]) -> None:
    result = ok("rm", "lr=0.001")
    assert result.stdout.strip() == f"deleted 1 run: {runs['lr=0.001'][:8]}"
    assert "trackbook restore" in result.stderr
    assert runs["lr=0.001"][:8] not in ok("runs").stdout
    assert "nothing deleted" in ok("rm", "--where", "name = 'nobody'").stderr
    ok("restore", runs["lr=0.001"][:8])
    assert runs["lr=0.001"][:8] in ok("runs").stdout
    assert ok("rm", "--where", "experiment = 'sweep'").stdout.startswith("deleted 3 runs")
    ok("rename", "broken", "kept broken")
    assert tb.get_run(runs["broken"]).name == "kept broken"


def test_export_and_import_a_bundle(runs: dict[str, str], tmp_path: Path) -> None:
    bundle = tmp_path / "sweep.tbz"
    result = ok("export", "bundle", "-e", "sweep", "-o", str(bundle))
    assert result.stdout.strip() == str(bundle) and zipfile.is_zipfile(bundle)
    other = str(tmp_path / "other.duckdb")
    imported = ok("import", str(bundle), "--store", other)
    assert "3 new runs" in imported.stdout and "30 metric points" in imported.stdout
    assert "nothing new" in ok("import", str(bundle), "--store", other).stdout
    assert len(json.loads(ok("--store", other, "runs", "--format", "json").stdout)) == 3
    fake = tmp_path / "fake.tbz"
    fake.write_text("hello")
    assert "not a zip file" in fails("import", str(fake))


def test_export_summary_is_wired_to_export_summary(runs: dict[str, str], tmp_path: Path
                                                   ) -> None:
    target = tmp_path / "summary.html"
    assert ok("export", "summary", str(target), "-e", "sweep").stdout.strip() == str(target)
    assert "<html" in target.read_text()[:400]
    assert "nothing matches filter 'params.lr > 100'" in fails(
        "export", "summary", str(target), "--where", "params.lr > 100")


def test_gc_removes_unreferenced_old_files_and_purges_only_with_yes(
        runs: dict[str, str], store_path: Path) -> None:
    blobs = Path(f"{store_path}.artifacts")
    old = time.time() - 2 * 3600
    orphan = blobs / "ab" / ("ab" * 32)
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"x" * 1000)
    recent = blobs / "cd" / ("cd" * 32)
    recent.parent.mkdir(parents=True, exist_ok=True)
    recent.write_bytes(b"y")
    stale_tmp = blobs / ".tmp-killed"
    stale_tmp.write_bytes(b"z" * 10)
    for path in (orphan, stale_tmp, *blobs.glob("*/*")):
        if path != recent:
            os.utime(path, (old, old))
    dry = ok("gc", "--dry-run").stdout
    assert "would remove 1 unreferenced artifact file(s), 1.0 kB" in dry and orphan.exists()
    done = ok("gc").stdout
    assert "removed 1 unreferenced artifact file(s), 1.0 kB" in done
    assert "removed 1 stale temp file(s), 10 B" in done and "kept 1" in done
    assert not orphan.exists() and recent.exists() and not stale_tmp.exists()
    assert len(list(blobs.glob("*/*"))) == 5  # every run's files stay (+ the recent one)
    # The deleted run (no files) is purged only with --yes; a deleted run's files stay until.
    tb.delete_runs(ids=[runs["with-files"]])
    assert "removed 0 unreferenced" in ok("gc").stdout
    refused = fails("gc", "--purge-deleted")
    assert "removes 2 deleted run(s) for good" in refused and "--yes" in refused
    purged = ok("gc", "--purge-deleted", "--yes").stdout
    assert "removed 2 deleted run(s) for good" in purged
    assert "removed 4 unreferenced artifact file(s)" in purged
    assert Store(store_path).rows("SELECT count(*) FROM core.run_starts WHERE run_id = ?",
                                  [runs["with-files"]])[0][0] == 0
    assert tb.get_run(runs["lr=0.001"]).metrics["loss"] == pytest.approx(0.02)


def test_path_follows_store_option_and_env(store_path: Path, tmp_path: Path) -> None:
    assert ok("path").stdout.strip() == str(store_path)
    other = tmp_path / "x.duckdb"
    assert ok("path", "--store", str(other)).stdout.strip() == str(other)
    assert ok("--store", str(other), "path").stdout.strip() == str(other)


def test_doctor_reports_a_healthy_store_and_problems(runs: dict[str, str], store_path: Path,
                                                     tmp_path: Path) -> None:
    report = ok("doctor").stdout
    assert f"store        {store_path}" in report and "schema 1" in report
    assert "runs         5 in 2 experiment(s): 4 finished, 1 failed; 1 deleted" in report
    assert "problems     none" in report
    quarantine = Path(f"{store_path}.spool") / "unreadable"
    quarantine.mkdir(parents=True)
    (quarantine / "x.points.parquet").write_bytes(b"junk")
    sick = invoke("doctor")
    assert sick.exit_code == 1 and "1 unreadable spool file(s)" in sick.stdout
    missing = invoke("doctor", "--store", str(tmp_path / "sub" / "none.duckdb"))
    assert missing.exit_code == 1 and "(missing)" in missing.stdout
    assert f"nearest      {store_path}" in missing.stdout


# -- real processes -------------------------------------------------------------------------------

def test_every_command_runs_as_a_real_process(runs: dict[str, str], store_path: Path,
                                              tmp_path: Path) -> None:
    """Each command in its own process, all at once, each on its own copy of the store."""
    bundle = tmp_path / "b.tbz"
    tb.export_bundle(bundle)
    commands = {
        "runs": (["runs", "--where", "params.lr > 1e-4"], "lr=0.001"),
        "show": (["show", "lr=0.001"], "params (2)"),
        "tail": (["tail", "lr=0.001", "-n", "1"], "finished after"),
        "download": (["download", "with-files", "--to", str(tmp_path / "dl")], "model.pt"),
        "sql": (["sql", "SELECT count(*) AS n FROM runs"], "5"),
        "experiments": (["experiments"], "sweep"),
        "export bundle": (["export", "bundle", "-o", str(tmp_path / "p.tbz")], "p.tbz"),
        "import": (["import", str(bundle)], "nothing new"),
        "gc": (["gc", "--dry-run"], "would remove"),
        "path": (["path"], "trackbook.duckdb"),
        "doctor": (["doctor"], "problems     none"),
        "rm": (["rm", "broken"], "deleted 1 run"),
        "restore": (["restore", runs["gone"]], "restored 1 run"),
        "rename": (["rename", "broken", "renamed"], "renamed"),
        "export summary": (["export", "summary", str(tmp_path / "s.html")], "s.html"),
        "version": (["--version"], "trackbook, version"),
    }
    procs = {}
    for i, (name, (args, _)) in enumerate(commands.items()):
        copy = tmp_path / f"store{i}" / "trackbook.duckdb"
        copy_store(store_path, copy)
        procs[name] = subprocess.Popen(
            [PYTHON, "-m", "trackbook.cli", *args], env=python_env(TRACKBOOK_STORE=str(copy)),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (name, err)
        assert commands[name][1] in out, (name, out)


def test_errors_from_a_real_process_are_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([PYTHON, "-m", "trackbook.cli", "runs", "--where", "params.lr >"],
                          env=python_env(TRACKBOOK_STORE=str(tmp_path / "none.duckdb")),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("trackbook: ") and "Traceback" not in proc.stderr


WRITER = """
import sys, time
import trackbook as tb
with tb.start_run("live", params={"lr": 0.1}) as run:
    tb.get_run(run.run_id)  # a read, as a notebook would: the run is in the store now
    print(run.run_id, flush=True)
    for step in range(16):
        run.log(loss=1.0 / (step + 1), step=step)
        time.sleep(0.25)
"""


@pytest.mark.slow
def test_runs_and_tail_read_while_a_process_writes(store_path: Path) -> None:
    env = python_env(TRACKBOOK_STORE=str(store_path))
    writer = subprocess.Popen([PYTHON, "-c", WRITER], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    assert len(run_id) == 16, writer.stderr.read() if writer.stderr else ""
    tail = subprocess.Popen([PYTHON, "-m", "trackbook.cli", "tail", run_id, "-n", "100",
                             "--interval", "0.3"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    listed = []
    while writer.poll() is None:
        proc = subprocess.run([PYTHON, "-m", "trackbook.cli", "runs", "--format", "json"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        listed.append(json.loads(proc.stdout)[0]["status"])
    assert writer.wait() == 0
    out, err = tail.communicate(timeout=30)
    assert tail.returncode == 0, err
    lines = out.splitlines()
    steps = [int(line.split("step")[1].split()[0]) for line in lines[:-1]]
    assert steps == list(range(16)), out
    assert lines[-1].startswith(f"run {run_id[:8]} 'live' finished")
    assert "running" in listed


CELL = """%%track live-cell
import time
print("RUN", tb.active_run().run_id, flush=True)
for step in range(16):
    tb.log(loss=1.0 / (step + 1))
    time.sleep(0.25)
"""


@pytest.mark.slow
def test_runs_and_tail_read_while_a_notebook_kernel_writes(store_path: Path) -> None:
    """The same, with the writer a real Jupyter kernel running a %%track cell."""
    from jupyter_client.manager import start_new_kernel

    env = python_env(TRACKBOOK_STORE=str(store_path))
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        client.execute_interactive("%load_ext trackbook\nimport trackbook as tb", timeout=60)
        msg_id = client.execute(CELL)
        run_id = ""
        while not run_id:
            msg = client.get_iopub_msg(timeout=60)
            text = msg["content"].get("text", "") if msg["msg_type"] == "stream" else ""
            if text.startswith("RUN "):
                run_id = text.split()[1]
        # Other processes see a run within about a second (the kernel's writer spools it).
        deadline = time.monotonic() + 10
        while True:
            listed = subprocess.run([PYTHON, "-m", "trackbook.cli", "runs", "--format", "json"],
                                    env=env, capture_output=True, text=True, timeout=60)
            if listed.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)[0]["name"] == "live-cell"
        assert json.loads(listed.stdout)[0]["status"] == "running"
        tail = subprocess.Popen([PYTHON, "-m", "trackbook.cli", "tail", run_id, "-n", "100",
                                 "--interval", "0.3"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        reply = client.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = client.get_shell_msg(timeout=60)
        assert reply["content"]["status"] == "ok"
        out, err = tail.communicate(timeout=30)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert tail.returncode == 0, err
    lines = out.splitlines()
    assert [int(line.split("step")[1].split()[0]) for line in lines[:-1]] == list(range(16))
    assert lines[-1].startswith(f"run {run_id[:8]} 'live-cell' finished")


def test_ctrl_c_stops_tail_cleanly(store_path: Path) -> None:
    import signal

    run_id = "0123456789abcdef"
    now = time.time()
    Store(store_path).write_tables({
        "run_starts": spool.rows_to_arrow("run_starts", [{
            "run_id": run_id, "experiment": "e", "name": "remote", "start_time": now,
            "host": "another-host"}]),
        "run_status": spool.rows_to_arrow("run_status", [{
            "run_id": run_id, "status": "running", "time": now, "host": "another-host"}]),
        "points": spool.points_to_arrow(run_id, [("loss", 0, 0.5, now)]),
    })
    tail = subprocess.Popen([PYTHON, "-m", "trackbook.cli", "tail", run_id, "--interval",
                             "0.2"], env=python_env(TRACKBOOK_STORE=str(store_path)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert tail.stdout is not None
    assert "step 0" in tail.stdout.readline()  # it is following now
    tail.send_signal(signal.SIGINT)
    _, err = tail.communicate(timeout=30)
    assert tail.returncode == 130 and "stopped following" in err and "Traceback" not in err
