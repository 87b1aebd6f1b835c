"""Content-addressed files beside the store: ``X.duckdb.artifacts/ab/abcdef...`` by sha256.

A blob is written once (deduplicated by its hash) and atomically: copied to a temp file while
hashed, then renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


class BlobStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, sha256: str) -> Path:
        return self.folder / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def _reuse(self, sha256: str) -> bool:
        """True if the content is stored already; then its file counts as just written.

        ``gc`` spares files younger than an hour because a run's row naming a file reaches
        the store a second or so after the file: an old orphan that a run reuses now must
        look new too, or gc could take it before the row that needs it arrives.
        """
        path = self.path_of(sha256)
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        except OSError:  # read-only: keep the file as it is; it is still there
            return path.is_file()
        return True

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        digest = hashlib.sha256(data).hexdigest()
        if not self._reuse(digest):
            tmp = self._temp_file()
            try:
                with open(tmp, "wb") as out:
                    out.write(data)
                self._move_into_place(tmp, digest)
            finally:
                _unlink(tmp)
        return digest, len(data)

    def put_file(self, source: Path) -> tuple[str, int]:
        """Copy ``source`` in while hashing it (one read), unless the same content is stored."""
        digest = hashlib.sha256()
        size = 0
        tmp = self._temp_file()
        try:
            with open(source, "rb") as src, open(tmp, "wb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            if not self._reuse(sha):
                self._move_into_place(tmp, sha)
            return sha, size
        finally:
            _unlink(tmp)

    def put_folder(self, source: Path) -> tuple[str, int, list[dict[str, Any]]]:
        """Store every file of a folder, then its manifest; the manifest's hash names it."""
        manifest = []
        total = 0
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            sha, size = self.put_file(path)
            manifest.append({"path": path.relative_to(source).as_posix(), "sha256": sha,
                             "size": size})
            total += size
        sha, _ = self.put_bytes(json.dumps(manifest, sort_keys=True).encode())
        return sha, total, manifest

    def restore(self, sha256: str, target: Path, *, folder: bool = False) -> Path:
        """Write a stored file (or a folder from its manifest) to ``target``."""
        source = self.path_of(sha256)
        if not source.is_file():
            raise FileNotFoundError(f"artifact blob {sha256[:12]} is missing from {self.folder}")
        if not folder:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            return target
        for entry in json.loads(source.read_text()):
            member = target / entry["path"]
            if not member.resolve().is_relative_to(target.resolve()):
                raise ValueError(f"artifact manifest entry {entry['path']!r} leaves the folder")
            self.restore(entry["sha256"], member)
        return target

    def _temp_file(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".tmp-", dir=self.folder)
        os.close(fd)
        return Path(name)

    def _move_into_place(self, tmp: Path, sha256: str) -> None:
        target = self.path_of(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.replace(target)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
