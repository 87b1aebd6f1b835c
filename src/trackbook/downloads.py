"""``trackbook download``: a run's artifacts copied out of the store into a folder.

Every target is checked before anything is written: a name that would leave the folder is
refused (a bundle from elsewhere could carry one), and a file already there with other content
is an error unless ``overwrite``; one with the same content is left as it is.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path, PurePosixPath

from trackbook import ids, reads
from trackbook.artifacts import CHUNK, BlobStore
from trackbook.store import Store


@dataclass
class Downloaded:
    """What ``download`` did: the folder, the files written, those already there."""

    folder: Path
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    size: int = 0


def safe_name(name: str) -> PurePosixPath:
    """An artifact name as a relative path that stays inside its folder, else ValueError."""
    path = PurePosixPath(name) if isinstance(name, str) else PurePosixPath("/")
    if (not name or path.is_absolute() or "\\" in name or "\0" in name
            or any(part in ("", ".", "..") for part in name.split("/"))
            or (len(name) > 1 and name[1] == ":")):
        raise ValueError(f"artifact name {name!r} is not a safe relative path")
    return path


def download(
    run_ref: str,
    to: str | os.PathLike[str] | None = None,
    artifacts: list[str] | None = None,
    *,
    overwrite: bool = False,
    store: str | os.PathLike[str] | Store | None = None,
) -> Downloaded:
    """Copy a run's artifacts (all, or those named) into folder ``to``.

    Parameters
    ----------
    run_ref
        Run id, 6+ character prefix, or exact name.
    to
        The folder (created if missing). Default: ``./<first 8 characters of the run id>``.
    artifacts
        Artifact names; None means all. A folder artifact comes back as a folder.
    overwrite
        Replace files that exist with other content (otherwise that is an error).
    """
    the_store = reads.reader(store)
    run = reads.get_run(run_ref, store=the_store)
    folder = Path(to) if to is not None else Path(ids.short(run.run_id))
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--to {folder} is a file; give a folder to put the artifacts in")
    if not run.artifacts:
        raise ValueError(f"run {ids.short(run.run_id)} ({run.name}) has no artifacts")
    chosen = list(run.artifacts) if not artifacts else list(dict.fromkeys(artifacts))
    for name in chosen:
        if name not in run.artifacts:
            close = get_close_matches(name, list(run.artifacts), n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ValueError(f"run {ids.short(run.run_id)} has no artifact {name!r}; {hint}"
                             f"its artifacts: {', '.join(run.artifacts)}")
    blobs = BlobStore(the_store.artifacts_dir)
    plan = []  # (target, sha256): every file, checked before the first is written
    for name in chosen:
        artifact = run.artifacts[name]
        target = folder / safe_name(name)
        if artifact.kind == "folder":
            plan += [(target / safe_name(e["path"]), e["sha256"])
                     for e in _manifest(blobs, artifact.sha256)]
        else:
            plan.append((target, artifact.sha256))
    result = Downloaded(folder)
    todo = []
    for target, sha in plan:
        if not blobs.has(sha):
            raise FileNotFoundError(f"the stored file of {target.relative_to(folder)} "
                                    f"(sha256 {sha[:12]}) is missing from {blobs.folder}")
        if target.is_dir():
            raise ValueError(f"{target} is a folder; cannot write the artifact file there")
        if target.is_file():
            if _sha256(target) == sha:
                result.unchanged.append(target)
                continue
            if not overwrite:
                raise ValueError(f"{target} exists with other content; nothing was written. "
                                 "Choose another --to, or add --overwrite")
        todo.append((target, sha))
    for target, sha in todo:
        _copy(blobs.path_of(sha), target)
        result.written.append(target)
        result.size += target.stat().st_size
    return result


def _manifest(blobs: BlobStore, sha: str) -> list[dict[str, str]]:
    import json

    path = blobs.path_of(sha)
    if not path.is_file():
        raise FileNotFoundError(f"the manifest of a folder artifact (sha256 {sha[:12]}) is "
                                f"missing from {blobs.folder}")
    entries: list[dict[str, str]] = json.loads(path.read_text())
    return entries


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy(source: Path, target: Path) -> None:
    """Copy through a temp file and rename, so a reader never sees half a file."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    finally:
        if tmp.exists():
            tmp.unlink()
