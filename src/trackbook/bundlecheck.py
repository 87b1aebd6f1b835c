"""Reading a ``.tbz`` bundle and checking all of it before anything is imported.

A bundle may come from anywhere, so nothing in it is trusted: member names must be the ones a
bundle has (never absolute, never climbing out with ``..``), the manifest's format must be one
this trackbook reads, every table must have known columns, every row must belong to a run the
manifest lists, artifact names must be safe relative paths and lineage blobs must match their
hashes. Artifact files are checked against their sha256 while they are staged (bundle.py).
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from trackbook import downloads, lineage, spool
from trackbook.errors import TrackbookError

FORMAT = "trackbook-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Every run-keyed table a run writes; metric_partials are derived and rebuilt from points.
RUN_TABLES = ("run_starts", "run_status", "heartbeats", "run_names", "run_deletions",
              "params_log", "tags_log", "notes_log", "points", "artifacts_log", "inputs_log",
              "lineage_log")
BUNDLED = (*RUN_TABLES, "blobs")
_SHA = re.compile(r"[0-9a-f]{64}")
_RUN_ID = re.compile(r"[0-9a-f]{16}")


class BundleError(TrackbookError):
    """A bundle that cannot be imported; nothing was changed."""


@dataclass
class Checked:
    """A bundle that passed every check, read into memory (artifacts stay in the zip)."""

    path: Path
    manifest: dict[str, Any]
    run_ids: list[str]
    tables: dict[str, Any]  # table -> Arrow table with this version's schema
    artifacts: dict[str, zipfile.ZipInfo] = field(default_factory=dict)  # sha256 -> member


def table_member(table: str) -> str:
    return f"tables/{table}.parquet"


def artifact_member(sha256: str) -> str:
    return f"artifacts/{sha256}"


def refuse(path: Path, reason: str) -> BundleError:
    return BundleError(f"{path}: {reason}; nothing was imported")


def check(path: str | Path, zf: zipfile.ZipFile) -> Checked:
    """Check the open bundle ``zf`` completely; raise :class:`BundleError` on the first fault."""
    path = Path(path)
    members = _check_members(path, zf)
    manifest = _manifest(path, zf)
    run_ids = manifest["run_ids"]
    tables = {}
    for table in BUNDLED:
        info = members.get(table_member(table))
        tables[table] = _table(path, zf, info, table) if info else spool.arrow_schema(
            table).empty_table()
    _check_rows(path, tables, set(run_ids))
    artifacts = {name.split("/", 1)[1]: info for name, info in members.items()
                 if name.startswith("artifacts/")}
    return Checked(path, manifest, run_ids, tables, artifacts)


def _check_members(path: Path, zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    allowed_tables = {table_member(t) for t in BUNDLED}
    members: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        name = info.filename
        pure = PurePosixPath(name)
        if (pure.is_absolute() or name.startswith("\\") or "\\" in name
                or re.match(r"[A-Za-z]:", name) or ".." in pure.parts or "\0" in name):
            raise refuse(path, f"member {name!r} has an absolute or climbing path "
                               "(a safe bundle never has one)")
        if name.endswith("/"):
            continue  # a folder entry; nothing to read
        known = (name == MANIFEST or name in allowed_tables or (
            name.startswith("artifacts/") and _SHA.fullmatch(name.split("/", 1)[1])))
        if not known:
            raise refuse(path, f"unexpected member {name!r} (a bundle holds {MANIFEST}, "
                               "tables/<table>.parquet and artifacts/<sha256>)")
        if name in members:
            raise refuse(path, f"member {name!r} appears twice")
        members[name] = info
    if MANIFEST not in members:
        raise refuse(path, f"no {MANIFEST}, so this zip is not a trackbook bundle")
    return members


def _manifest(path: Path, zf: zipfile.ZipFile) -> dict[str, Any]:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except (ValueError, zipfile.BadZipFile) as exc:
        raise refuse(path, f"{MANIFEST} is not readable JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise refuse(path, f"{MANIFEST} does not describe a trackbook bundle")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise refuse(path, f"format_version {version!r} is not a bundle format version")
    if version > FORMAT_VERSION:
        made_by = manifest.get("trackbook_version", "a newer version")
        raise refuse(path, f"it was made by trackbook {made_by} in bundle format {version}; "
                           f"this trackbook reads formats up to {FORMAT_VERSION}. Upgrade "
                           "trackbook (pip install -U trackbook) to import it")
    run_ids = manifest.get("run_ids")
    if not isinstance(run_ids, list) or not all(
            isinstance(r, str) and _RUN_ID.fullmatch(r) for r in run_ids):
        raise refuse(path, f"{MANIFEST} has no valid list of run ids")
    return manifest


def _table(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, table: str) -> Any:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(io.BytesIO(zf.read(info)))
    except (OSError, ValueError, pa.ArrowException, zipfile.BadZipFile) as exc:
        raise refuse(path, f"{info.filename} is not a readable Parquet file ({exc})") from None
    schema = spool.arrow_schema(table)
    unknown = [c for c in data.column_names if c not in schema.names]
    if unknown:
        raise refuse(path, f"{info.filename} has columns this trackbook does not know "
                           f"({', '.join(unknown)})")
    columns = []
    for field_ in schema:
        if field_.name in data.column_names:
            column = data.column(field_.name)
            try:
                columns.append(column.cast(field_.type))
            except (pa.ArrowException, ValueError):
                raise refuse(path, f"{info.filename}: column {field_.name} is "
                                   f"{column.type}, not {field_.type}") from None
        else:  # a column added after the bundle was made: empty, as a migration leaves it
            columns.append(pa.nulls(data.num_rows, field_.type))
    return pa.table(columns, schema=schema)


def _check_rows(path: Path, tables: dict[str, Any], run_ids: set[str]) -> None:
    import pyarrow.compute as pc

    for table in RUN_TABLES:
        found = set(pc.unique(tables[table].column("run_id")).to_pylist())
        strangers = found - run_ids
        if strangers:
            example = sorted(str(s) for s in strangers)[0]
            raise refuse(path, f"{table_member(table)} has rows of run {example!r}, which "
                               f"{MANIFEST} does not list")
    started = set(pc.unique(tables["run_starts"].column("run_id")).to_pylist())
    if run_ids - started:
        raise refuse(path, f"run {sorted(run_ids - started)[0]} is listed but never started "
                           "in tables/run_starts.parquet")
    for name in tables["artifacts_log"].column("name").to_pylist():
        try:
            downloads.safe_name(name)
        except ValueError as exc:
            raise refuse(path, str(exc)) from None
    for sha in tables["artifacts_log"].column("sha256").to_pylist():
        if not (isinstance(sha, str) and _SHA.fullmatch(sha)):
            raise refuse(path, f"artifact hash {sha!r} is not a sha256")
    blobs = tables["blobs"]
    for digest, content in zip(blobs.column("hash").to_pylist(),
                               blobs.column("content").to_pylist(), strict=True):
        if content is None or lineage.content_hash(content) != digest:
            raise refuse(path, f"lineage blob {str(digest)[:12]} does not match its hash "
                               "(the bundle is damaged)")
