"""Run bundles (``.tbz``): runs with their metrics, lineage and artifacts in one zip file.

A bundle holds ``manifest.json``, one Parquet file per internal table (``tables/<table>.parquet``,
only the bundled runs' rows, plus the lineage blobs they point to) and ``artifacts/<sha256>``.
Importing merges it into another store: runs keep their ids, rows already there are skipped, so
importing twice adds nothing. Everything is checked (:mod:`trackbook.bundlecheck`) and every
artifact staged and hash-verified before the first row is written; a refused bundle leaves the
store as it was.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trackbook import queries, reads, refs, textable
from trackbook._version import __version__
from trackbook.artifacts import CHUNK, BlobStore
from trackbook.bundlecheck import (
    BUNDLED,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    RUN_TABLES,
    BundleError,
    Checked,
    artifact_member,
    check,
    refuse,
    table_member,
)
from trackbook.errors import StoreNotFound
from trackbook.schema import CORE, SCHEMA_VERSION, TABLES
from trackbook.store import Store

__all__ = ["FORMAT_VERSION", "BundleError", "ImportSummary", "export_bundle", "import_bundle"]

StoreArg = str | os.PathLike[str] | Store | None


# -- export ---------------------------------------------------------------------------------------

def export_bundle(path: str | os.PathLike[str], where: str | None = None,
                  experiment: str | list[str] | None = None, *, store: StoreArg = None) -> Path:
    """Write the runs that match (and their children) to a bundle file.

    Parameters
    ----------
    path
        The file to write (``runs.tbz``); replaced atomically if it exists.
    where
        A filter, as for ``tb.runs``; None means every run (deleted runs are never bundled).
    experiment
        An experiment name or a list of them.

    Returns
    -------
    pathlib.Path
        The bundle's absolute path.
    """
    target = Path(path).expanduser().absolute()
    if target.is_dir():
        raise ValueError(f"{target} is a folder; give the bundle's file name, e.g. runs.tbz")
    the_store = reads.reader(store)
    with the_store.reading() as con:
        run_ids = _selected(con, where, experiment)
        tables = {t: _rows(con, t, "run_id", run_ids) for t in RUN_TABLES}
        hashes = refs.lineage_hashes(tables["lineage_log"].column("lineage").to_pylist())
        tables["blobs"] = _rows(con, "blobs", "hash", sorted(hashes))
    blobs = BlobStore(the_store.artifacts_dir)
    log = tables["artifacts_log"]
    needed, missing = refs.artifact_files(
        zip(log.column("sha256").to_pylist(), log.column("kind").to_pylist(), strict=True),
        blobs)
    missing |= {sha for sha in needed if not blobs.has(sha)}
    if missing:
        import warnings

        warnings.warn(f"trackbook: {len(missing)} artifact file(s) are missing from "
                      f"{blobs.folder} and were left out of the bundle", stacklevel=2)
    present = sorted(needed - missing)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "trackbook_version": __version__,
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source_store": the_store.path, "where": where, "experiment": experiment,
        "run_ids": run_ids,
        "counts": {"runs": len(run_ids), "rows": {t: tables[t].num_rows for t in BUNDLED},
                   "artifacts": len(present),
                   "artifact_bytes": sum(blobs.path_of(s).stat().st_size for s in present)},
        "missing_artifacts": sorted(missing),
    }
    _write_zip(target, manifest, tables, blobs, present)
    return target


def _selected(con: Any, where: str | None, experiment: Any) -> list[str]:
    sql, params = queries.select_runs(where, experiment)
    chosen = [r for (r,) in con.execute(f"SELECT run_id FROM ({sql})", params).fetchall()]
    if not chosen:
        raise ValueError("no runs match, so no bundle was written"
                         + (f" (where: {where})" if where else ""))
    # A sweep travels whole: its children come along, as they go with it on delete.
    rows = con.execute(
        f"""WITH RECURSIVE tree(run_id) AS (
                SELECT unnest(?::VARCHAR[])
                UNION SELECT r.run_id FROM {queries.RUNS} r JOIN tree t
                      ON r.parent_run_id = t.run_id WHERE NOT r.deleted)
            SELECT run_id FROM tree""", [chosen]).fetchall()
    return list(dict.fromkeys([*chosen, *sorted(r for (r,) in rows)]))


def _rows(con: Any, table: str, key: str, values: list[str]) -> Any:
    from trackbook import spool

    columns = ", ".join(f'"{name}"' for name, _ in TABLES[table])
    data = con.execute(
        f"SELECT {columns} FROM {CORE}.{table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))",
        [values]).to_arrow_table()
    return data.cast(spool.arrow_schema(table))


def _write_zip(target: Path, manifest: dict[str, Any], tables: dict[str, Any],
               blobs: BlobStore, artifacts: list[str]) -> None:
    """Write the zip beside ``target`` under a temp name, then rename it into place."""
    import secrets

    import pyarrow.parquet as pq

    target.parent.mkdir(parents=True, exist_ok=True)
    # open(..., "xb") rather than mkstemp: the bundle gets the umask's permissions, not 0600.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2, default=str))
            for table, data in tables.items():
                buffer = io.BytesIO()
                pq.write_table(data, buffer, compression="zstd")
                # Parquet is compressed already: stored as is.
                zf.writestr(table_member(table), buffer.getvalue(), zipfile.ZIP_STORED)
            for sha in artifacts:
                zf.write(blobs.path_of(sha), artifact_member(sha))
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()


# -- import ---------------------------------------------------------------------------------------

@dataclass
class ImportSummary:
    """What ``import_bundle`` added to the store."""

    path: Path
    store: str
    runs_added: list[str] = field(default_factory=list)
    runs_present: list[str] = field(default_factory=list)  # already there: only new rows added
    rows_added: dict[str, int] = field(default_factory=dict)
    artifacts_added: int = 0
    artifact_bytes: int = 0
    missing_artifacts: list[str] = field(default_factory=list)

    @property
    def added_anything(self) -> bool:
        return bool(self.artifacts_added or any(self.rows_added.values()))

    def __str__(self) -> str:
        total = len(self.runs_added) + len(self.runs_present)
        head = f"{self.path.name}: {total} run{'s' if total != 1 else ''} into {self.store}"
        if not self.added_anything:
            return f"{head}: nothing new (every run and file was already there)"
        points = self.rows_added.get("points", 0)
        parts = [f"{len(self.runs_added)} new run{'s' if len(self.runs_added) != 1 else ''}"]
        if self.runs_present:
            parts.append(f"{len(self.runs_present)} already there (missing rows added)")
        parts.append(f"{points} metric point{'s' if points != 1 else ''}")
        parts.append(f"{self.artifacts_added} artifact file"
                     f"{'s' if self.artifacts_added != 1 else ''} "
                     f"({textable.size(self.artifact_bytes)})")
        text = f"{head}: " + ", ".join(parts)
        if self.missing_artifacts:
            text += (f"; {len(self.missing_artifacts)} artifact file(s) were missing from the "
                     "bundle and its source")
        return text


def import_bundle(path: str | os.PathLike[str], *, store: StoreArg = None) -> ImportSummary:
    """Merge a bundle into the store; importing the same bundle again adds nothing.

    Refused, with the store unchanged: a file that is not a zip, a member path that is
    absolute or climbs out (``..``), a newer ``format_version``, unknown tables or columns,
    rows of runs the manifest does not list, unsafe artifact names, files that do not match
    their sha256.

    Returns
    -------
    ImportSummary
        Runs added and already present, rows added per table, artifact files added.
    """
    source = Path(path).expanduser().absolute()
    if not source.is_file():
        raise FileNotFoundError(f"no bundle at {source}")
    if not zipfile.is_zipfile(source):
        raise BundleError(f"{source} is not a trackbook bundle (not a zip file); nothing was "
                          "imported. Make one with: trackbook export bundle -o runs.tbz")
    the_store = reads.reader(store)
    try:
        with zipfile.ZipFile(source) as zf:
            checked = check(source, zf)
            present = _present_runs(the_store, checked.run_ids)  # also: the store is usable
            blobs = BlobStore(the_store.artifacts_dir)
            staged, summary = _stage_artifacts(zf, checked, blobs)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"{source} is a damaged zip file ({exc}); nothing was imported"
                          ) from None
    try:
        for sha, tmp in staged.items():
            target = blobs.path_of(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp.replace(target)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    tables = dict(checked.tables)
    starts = tables["run_starts"]
    if present:
        import pyarrow.compute as pc

        # A run's start row is its identity: never a second one for a run already stored.
        tables["run_starts"] = starts.filter(pc.invert(pc.is_in(
            starts.column("run_id"), value_set=_string_array(sorted(present)))))
    summary.rows_added = the_store.write_tables(tables, skip_existing=True)
    summary.path, summary.store = source, the_store.path
    summary.runs_present = [r for r in checked.run_ids if r in present]
    summary.runs_added = [r for r in checked.run_ids if r not in present]
    return summary


def _string_array(values: list[str]) -> Any:
    import pyarrow as pa

    return pa.array(values, pa.string())


def _present_runs(store: Store, run_ids: list[str]) -> set[str]:
    try:
        with store.reading() as con:
            rows = con.execute(
                f"SELECT run_id FROM {CORE}.run_starts WHERE run_id IN "
                "(SELECT unnest(?::VARCHAR[]))", [run_ids]).fetchall()
    except StoreNotFound:
        return set()  # the import creates the store
    return {r for (r,) in rows}


def _stage_artifacts(zf: zipfile.ZipFile, checked: Checked, blobs: BlobStore
                     ) -> tuple[dict[str, Path], ImportSummary]:
    """Copy the artifact files the store lacks to temp files, verifying each sha256."""
    log = checked.tables["artifacts_log"]
    manifests = {sha: zf.read(info) for sha, info in checked.artifacts.items()
                 if sha in set(log.filter(_is_folder(log)).column("sha256").to_pylist())}
    needed, missing = refs.artifact_files(
        zip(log.column("sha256").to_pylist(), log.column("kind").to_pylist(), strict=True),
        blobs, manifests)
    summary = ImportSummary(checked.path, "")
    staged: dict[str, Path] = {}
    created_folder = not blobs.folder.exists()
    try:
        for sha in sorted(needed):
            if blobs.has(sha):
                continue
            info = checked.artifacts.get(sha)
            if info is None:
                missing.add(sha)
                continue
            staged[sha] = _stage(zf, info, sha, blobs.folder, checked.path)
            summary.artifacts_added += 1
            summary.artifact_bytes += info.file_size
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        if created_folder and blobs.folder.exists() and not any(blobs.folder.iterdir()):
            blobs.folder.rmdir()
        raise
    summary.missing_artifacts = sorted(missing)
    return staged, summary


def _is_folder(log: Any) -> Any:
    import pyarrow.compute as pc

    return pc.equal(log.column("kind"), "folder")


def _stage(zf: zipfile.ZipFile, info: zipfile.ZipInfo, sha: str, folder: Path,
           bundle: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-import-", dir=folder)
    tmp = Path(name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, zf.open(info) as member:
            while chunk := member.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha:
            raise refuse(bundle, f"{info.filename} does not match its sha256 (the bundle is "
                                 "damaged or was altered)")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
