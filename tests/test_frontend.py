"""The TypeScript front end typechecks (CI builds it with esbuild, which does not check types)."""

from __future__ import annotations

import subprocess

from conftest import REPO, require_binary


def test_the_front_end_typechecks() -> None:
    npm = require_binary("npm", "npm (Node.js)")
    js = REPO / "js"
    if not (js / "node_modules" / "typescript").exists():  # installed by the Python build
        subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=js, check=True,
                       capture_output=True)
    result = subprocess.run([npm, "run", "--silent", "typecheck"], cwd=js, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
