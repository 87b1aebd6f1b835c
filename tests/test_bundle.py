"""Run bundles: a round trip into a fresh store, idempotent import, and refused bundles."""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import trackbook as tb
from trackbook import bundle
from trackbook.bundle import BundleError
from trackbook.schema import CORE, TABLES
from trackbook.store import Store


def make_runs(store: Path, folder: Path) -> list[str]:
    """Runs with everything a bundle must carry: params of each type, metrics with NaN,
    tags, notes, file/folder/text artifacts, an input, lineage, a sweep with children."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.bin").write_bytes(bytes(range(256)) * 10)
    (folder / "ckpt").mkdir(exist_ok=True)
    (folder / "ckpt" / "a.txt").write_text("alpha")
    (folder / "ckpt" / "deep").mkdir(exist_ok=True)
    (folder / "ckpt" / "deep" / "b.txt").write_text("beta")
    ids = []
    with tb.start_run("base", experiment="exp_a", store=store,
                      params={"lr": 1e-3, "layers": [64, 32], "opt": {"name": "adam"},
                              "flag": True, "none": None, "seed": 3},
                      tags=["baseline", "owner=ana"], note="first") as run:
        for step in range(20):
            run.log(loss=1 / (step + 1), acc=step / 20)
        run.log(weird=float("nan"))
        run.log_artifact(folder / "model.bin")
        run.log_artifact(folder / "ckpt")
        run.log_text("# report", "reports/summary.md")
        run.log_input("train", pd.DataFrame({"x": [1, 2, 3]}))
        run.note("second")
    ids.append(run.run_id)
    with tb.start_run("sweep", experiment="exp_b", store=store) as sweep:
        for lr in (0.1, 0.2):
            with tb.start_run(f"lr={lr}", experiment="exp_b", store=store,
                              params={"lr": lr}) as child:
                child.log(loss=lr)
            ids.append(child.run_id)
    ids.append(sweep.run_id)
    return ids


def table_counts(store: Path) -> dict[str, int]:
    tables = [t for t in TABLES if t not in ("migrations", "spool_ingested", "store_info")]
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {CORE}.{t}" for t in tables)
    return dict(Store(store).rows(sql))


def snapshot_files(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the sha256 of its content: 'the store is unchanged'."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("template")
    store = folder / "trackbook.duckdb"
    ids = make_runs(store, folder / "files")
    tb.runs(store=store)  # ingest the spool: the store is at rest
    return store, ids


@pytest.fixture
def source(template: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[str]]:
    """The template's runs in a store of this test's own (copying is cheaper than logging)."""
    import shutil

    store = tmp_path / "src" / "trackbook.duckdb"
    store.parent.mkdir()
    shutil.copy(template[0], store)
    shutil.copytree(f"{template[0]}.artifacts", f"{store}.artifacts")
    return store, list(template[1])


def test_round_trip_into_a_fresh_store(source: tuple[Path, list[str]], tmp_path: Path) -> None:
    src, ids = source
    path = tb.export_bundle(tmp_path / "all.tbz", store=src)
    assert path == (tmp_path / "all.tbz").absolute() and zipfile.is_zipfile(path)
    dst = tmp_path / "dst" / "trackbook.duckdb"
    summary = tb.import_bundle(path, store=dst)
    assert sorted(summary.runs_added) == sorted(ids) and summary.runs_present == []
    assert summary.artifacts_added == 5  # model.bin, the folder's manifest and 2 files, .md
    assert "4 new runs" in str(summary)
    for run_id in ids:
        a, b = tb.get_run(run_id, store=src), tb.get_run(run_id, store=dst)
        for attr in ("name", "experiment", "status", "start_time", "end_time", "parent_run_id",
                     "params", "tags", "notes", "inputs", "host", "user"):
            assert getattr(a, attr) == getattr(b, attr), attr
        pd.testing.assert_frame_equal(a.metric_summary, b.metric_summary)
        for key in a.metric_summary["key"]:
            pd.testing.assert_frame_equal(a.history(key), b.history(key))
        assert a.lineage == b.lineage
        assert {n: (x.sha256, x.size, x.kind) for n, x in a.artifacts.items()} == {
            n: (x.sha256, x.size, x.kind) for n, x in b.artifacts.items()}
        for art in b.artifacts.values():
            assert art.path.is_file() and str(art.path).startswith(str(dst))
    base = tb.get_run(ids[0], store=dst)
    assert base.params["layers"] == [64, 32] and base.params["flag"] is True
    assert base.params["none"] is None and math.isnan(base.metrics["weird"])
    assert base.lineage["environment"]["python"] and base.source
    restored = tb.get_run(ids[0], store=dst).artifacts["ckpt"]
    out = tmp_path / "out"
    from trackbook.downloads import download

    download(ids[0], out, ["ckpt"], store=dst)
    assert (out / "ckpt" / "deep" / "b.txt").read_text() == "beta" and restored.kind == "folder"


def test_import_twice_adds_nothing(source: tuple[Path, list[str]], tmp_path: Path) -> None:
    src, ids = source
    path = tb.export_bundle(tmp_path / "all.tbz", store=src)
    dst = tmp_path / "dst.duckdb"
    tb.import_bundle(path, store=dst)
    counts = table_counts(dst)
    files = snapshot_files(Path(f"{dst}.artifacts"))
    again = tb.import_bundle(path, store=dst)
    assert not again.added_anything and sorted(again.runs_present) == sorted(ids)
    assert "nothing new" in str(again)
    assert table_counts(dst) == counts and snapshot_files(Path(f"{dst}.artifacts")) == files
    # Importing into the store it came from adds nothing either.
    before = table_counts(src)
    assert not tb.import_bundle(path, store=src).added_anything
    assert table_counts(src) == before


def test_a_later_bundle_of_the_same_run_adds_only_the_new_points(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    with tb.start_run("long", store=src) as run:
        for step in range(5):
            run.log(loss=float(step))
    first = tb.export_bundle(tmp_path / "1.tbz", store=src)
    with tb.start_run(resume=run.run_id, store=src) as again:
        for _ in range(3):
            again.log(loss=9.0)
    second = tb.export_bundle(tmp_path / "2.tbz", store=src)
    tb.import_bundle(first, store=dst)
    merged = tb.import_bundle(second, store=dst)
    assert merged.runs_present == [run.run_id] and merged.rows_added["points"] == 3
    history = tb.get_run(run.run_id, store=dst).history("loss")
    assert history["step"].tolist() == list(range(8))
    summary = tb.get_run(run.run_id, store=dst).metric_summary.iloc[0]
    assert summary["count"] == 8 and summary["last"] == 9.0 and summary["max_step"] == 5


def test_filters_pick_runs_and_a_sweep_brings_its_children(
        source: tuple[Path, list[str]], tmp_path: Path) -> None:
    src, ids = source
    path = tb.export_bundle(tmp_path / "b.tbz", where="name = 'sweep'", store=src)
    manifest = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert sorted(manifest["run_ids"]) == sorted(ids[1:])
    assert manifest["format_version"] == bundle.FORMAT_VERSION
    assert manifest["counts"]["runs"] == 3 and manifest["source_store"] == str(src)
    assert not any(n.startswith("artifacts/") for n in zipfile.ZipFile(path).namelist())
    only_a = tb.export_bundle(tmp_path / "a.tbz", experiment="exp_a", store=src)
    assert json.loads(zipfile.ZipFile(only_a).read("manifest.json"))["run_ids"] == [ids[0]]
    with pytest.raises(ValueError, match="no runs match"):
        tb.export_bundle(tmp_path / "none.tbz", where="name = 'nobody'", store=src)
    assert not (tmp_path / "none.tbz").exists()


def test_deleted_runs_are_not_bundled(source: tuple[Path, list[str]], tmp_path: Path) -> None:
    src, ids = source
    tb.delete_runs(ids=[ids[0]], store=src)
    path = tb.export_bundle(tmp_path / "b.tbz", store=src)
    assert ids[0] not in json.loads(zipfile.ZipFile(path).read("manifest.json"))["run_ids"]


def test_export_replaces_the_file_atomically(source: tuple[Path, list[str]], tmp_path: Path
                                            ) -> None:
    src, _ = source
    target = tmp_path / "out" / "runs.tbz"
    target.parent.mkdir()
    target.write_text("old")
    tb.export_bundle(target, store=src)
    assert zipfile.is_zipfile(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["runs.tbz"]  # no temp left


# -- refused bundles ------------------------------------------------------------------------------

def rewrite(good: Path, bad: Path, *, drop: tuple[str, ...] = (),
            add: dict[str, bytes] | None = None,
            manifest: dict[str, object] | None = None,
            tables: dict[str, object] | None = None) -> Path:
    """A copy of bundle ``good`` with members dropped, added or replaced."""
    import io

    import pyarrow.parquet as pq

    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as out:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = src.read(info)
            if info.filename == "manifest.json" and manifest is not None:
                data = json.dumps({**json.loads(data), **manifest}).encode()
            table = info.filename.removeprefix("tables/").removesuffix(".parquet")
            if tables and table in tables:
                buffer = io.BytesIO()
                pq.write_table(tables[table], buffer)
                data = buffer.getvalue()
            out.writestr(info.filename, data)
        for name, data in (add or {}).items():
            out.writestr(name, data)
    return bad


@pytest.fixture
def good_bundle(source: tuple[Path, list[str]], tmp_path: Path) -> Path:
    return tb.export_bundle(tmp_path / "good.tbz", store=source[0])


def _artifacts_log(good: Path, **changes: object) -> object:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(zipfile.ZipFile(good).read(
        "tables/artifacts_log.parquet")))
    for column, value in changes.items():
        index = table.column_names.index(column)
        table = table.set_column(index, column, pa.array([value] * table.num_rows,
                                                         table.schema.field(column).type))
    return table


BAD_BUNDLES = {
    "climbs out": ({"add": {"../evil.txt": b"x"}}, "absolute or climbing"),
    "climbs out inside": ({"add": {"artifacts/../../evil": b"x"}}, "absolute or climbing"),
    "absolute": ({"add": {"/etc/evil": b"x"}}, "absolute or climbing"),
    "newer format": ({"manifest": {"format_version": 99, "trackbook_version": "9.0"}},
                     "bundle format 99"),
    "not a bundle": ({"manifest": {"format": "something-else"}}, "does not describe"),
    "no manifest": ({"drop": ("manifest.json",)}, "no manifest.json"),
    "unexpected member": ({"add": {"notes.txt": b"hi"}}, "unexpected member"),
    "a stranger's rows": ({"manifest": {"run_ids": ["0123456789abcdef"]}},
                          "does not list"),
}


@pytest.mark.parametrize("case", sorted(BAD_BUNDLES))
def test_bad_bundles_are_refused_and_change_nothing(case: str, good_bundle: Path,
                                                    tmp_path: Path) -> None:
    changes, message = BAD_BUNDLES[case]
    bad = rewrite(good_bundle, tmp_path / "bad.tbz", **changes)  # type: ignore[arg-type]
    existing = tmp_path / "dst" / "trackbook.duckdb"
    with tb.start_run("already here", store=existing) as run:
        run.log(x=1.0)
    tb.runs(store=existing)  # ingest, so the store is at rest
    before = snapshot_files(existing.parent)
    with pytest.raises(BundleError, match=message) as caught:
        tb.import_bundle(bad, store=existing)
    assert "nothing was imported" in str(caught.value)
    assert snapshot_files(existing.parent) == before
    fresh = tmp_path / "fresh" / "trackbook.duckdb"
    with pytest.raises(BundleError, match=message):
        tb.import_bundle(bad, store=fresh)
    assert not fresh.parent.exists() or not any(fresh.parent.iterdir())


def test_unsafe_artifact_name_is_refused(good_bundle: Path, tmp_path: Path) -> None:
    bad = rewrite(good_bundle, tmp_path / "bad.tbz",
                  tables={"artifacts_log": _artifacts_log(good_bundle, name="../../x")})
    with pytest.raises(BundleError, match="not a safe relative path"):
        tb.import_bundle(bad, store=tmp_path / "dst.duckdb")
    assert not (tmp_path / "dst.duckdb").exists()


def test_altered_artifact_is_refused_and_nothing_is_staged(good_bundle: Path, tmp_path: Path
                                                          ) -> None:
    names = zipfile.ZipFile(good_bundle).namelist()
    member = next(n for n in names if n.startswith("artifacts/"))
    bad = rewrite(good_bundle, tmp_path / "bad.tbz", drop=(member,), add={member: b"evil"})
    dst = tmp_path / "dst" / "trackbook.duckdb"
    with pytest.raises(BundleError, match="does not match its sha256"):
        tb.import_bundle(bad, store=dst)
    assert not dst.exists() and not Path(f"{dst}.artifacts").exists()


def test_altered_lineage_blob_is_refused(good_bundle: Path, tmp_path: Path) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    blobs = pq.read_table(io.BytesIO(zipfile.ZipFile(good_bundle).read(
        "tables/blobs.parquet")))
    blobs = blobs.set_column(blobs.column_names.index("content"), "content",
                             pa.array(["tampered"] * blobs.num_rows))
    bad = rewrite(good_bundle, tmp_path / "bad.tbz", tables={"blobs": blobs})
    with pytest.raises(BundleError, match="does not match its hash"):
        tb.import_bundle(bad, store=tmp_path / "dst.duckdb")


def test_a_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "runs.tbz"
    fake.write_text("not a zip at all")
    with pytest.raises(BundleError, match="not a zip file"):
        tb.import_bundle(fake, store=tmp_path / "dst.duckdb")
    with pytest.raises(FileNotFoundError, match="no bundle at"):
        tb.import_bundle(tmp_path / "missing.tbz", store=tmp_path / "dst.duckdb")
    assert not (tmp_path / "dst.duckdb").exists()
