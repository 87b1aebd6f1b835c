"""Drive a real JupyterLab from tests: start an isolated server, open notebooks, run them.

Recipes and traps are in docs/environment notes §3 (measured): ``--allow-root`` (we run as root),
isolated ``JUPYTER_*`` folders so ``~/.jupyter`` (settings, saved workspaces) cannot leak in, the
news toast turned off by a settings file, ``window.jupyterapp`` exposed so tests call Lab commands
instead of clicking menus, Debian's chromium with ``--no-sandbox``.

Everything a test needs from the page goes through ``window.jupyterapp`` or plain selectors;
nothing here knows about trackbook's widgets.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Request, Route

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# From the environment notes §3: --no-sandbox because we are root; the rest stop Chromium from
# calling home, which would show up as (blocked) non-loopback requests.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "tb-test-token"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


# --- the server -------------------------------------------------------------------------------


@dataclass
class Lab:
    """A running JupyterLab serving ``root`` (also the kernels' working folder)."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    token: str = TOKEN

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "lab") -> str:
        """A URL on the server with the token, e.g. ``lab.url("lab/tree/x.ipynb")``."""
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Stop every kernel, e.g. between tests that should not share memory or store locks."""
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _isolated_env(state: Path, root: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_PATH", "JUPYTER_PATH", "TRACKBOOK_MODE", "TRACKBOOK_ALTAIR"):
        env.pop(name, None)
    env.update(
        JUPYTER_RUNTIME_DIR=str(state / "runtime"),
        JUPYTER_CONFIG_DIR=str(state / "config"),
        JUPYTER_DATA_DIR=str(state / "data"),
        JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        IPYTHONDIR=str(state / "ipython"),
        # The kernel's store lives with the notebooks, not wherever pytest's first test put it.
        TRACKBOOK_STORE=str(root / "trackbook.duckdb"),
        # The kernel is the server's python (jupyter_client maps a kernelspec's "python" to it).
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    return env


def _write_settings(settings_dir: Path) -> None:
    # The news/updates toast covers part of every screenshot; --LabApp.news_url= does not stop it.
    path = settings_dir / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def start_lab(root: Path, state: Path, timeout: float = 60.0) -> Lab:
    """Start JupyterLab on a free loopback port serving ``root``; ``state`` holds its config."""
    _write_settings(state / "settings")
    port = free_port()
    log_path = state / "jupyterlab.log"
    command = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
        "--LabApp.news_url=",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=root, env=_isolated_env(state, root), stdout=log, stderr=subprocess.STDOUT
        )
    lab = Lab(root=root, port=port, process=process, log_path=log_path)
    try:
        _wait_until_up(lab, timeout)
    except BaseException:
        lab.stop()
        raise
    return lab


def _wait_until_up(lab: Lab, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited ({lab.process.returncode}):\n{lab.log_tail()}")
        try:
            lab.api("status")
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"JupyterLab did not answer within {timeout:.0f} s:\n{lab.log_tail()}")


@contextmanager
def running_lab(root: Path, state: Path) -> Iterator[Lab]:
    lab = start_lab(root, state)
    try:
        yield lab
    finally:
        lab.stop()


def copy_notebooks(dest: Path) -> None:
    """Copy the repository's example notebooks, so running them never dirties the checkout."""
    for notebook in sorted((REPO / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, dest / notebook.name)


# --- the JS bundle ----------------------------------------------------------------------------


def ensure_fresh_bundle() -> None:
    """Rebuild the JS bundles when a source in js/ is newer than them (editable installs).

    An editable install builds once; after editing js/*.ts a browser test would otherwise test
    the old bundle.
    """
    js = REPO / "js"
    built = sorted((REPO / "src" / "trackbook" / "static").glob("*.js"))
    sources = (
        [p for p in js.iterdir() if p.suffix in {".ts", ".mjs", ".json"}] if js.exists() else []
    )
    if not sources:
        return  # an installed trackbook without the js/ folder: nothing to rebuild from
    newest_source = max(p.stat().st_mtime for p in sources)
    if built and min(p.stat().st_mtime for p in built) >= newest_source:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("js/ changed since the last build and npm is not on PATH")
    if not (js / "node_modules").exists():
        subprocess.run([npm, "install"], cwd=js, check=True, capture_output=True)
    subprocess.run([npm, "run", "build"], cwd=js, check=True, capture_output=True)


# --- the browser ------------------------------------------------------------------------------


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# Errors JupyterLab's own widget manager logs that no widget code can cause or prevent: when
# an output holding a widget view is replaced (the run card's static HTML replaces the live
# card as its cell ends), jupyterlab-manager may still hand a queued Lumino message to the
# disposed view. Seen about once in ten full browser runs; the page is unaffected. Only this
# exact message, from jupyterlab-manager's own bundle, is let through.
KNOWN_UPSTREAM_ERRORS = (
    ("Cannot read properties of null (reading 'processLuminoMessage')",
     "@jupyter-widgets/jupyterlab-manager"),
)


def _known_upstream_error(text: str) -> bool:
    return any(message in text and source in text for message, source in KNOWN_UPSTREAM_ERRORS)


@dataclass
class PageEvents:
    """What a page did that a test may want to fail on: console errors, uncaught exceptions,
    and requests to any host but this machine (those are aborted, so a test behaves the same
    online and offline)."""

    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    # every console message, kept for the failure report (not for assertions)
    console_log: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.console_errors.clear()
        self.external_requests.clear()
        self.console_log.clear()

    def attach(self, page: Page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))
        page.context.route("**/*", self._route)

    def _on_console(self, message: Any) -> None:
        self.console_log.append(f"[{message.type}] {message.text}")
        if message.type == "error" and not _known_upstream_error(message.text):
            self.console_errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def _route(self, route: Route, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in {"http", "https", "ws", "wss"} and parts.hostname not in LOOPBACK:
            self.external_requests.append(request.url)
            route.abort("blockedbyclient")
        else:
            route.continue_()


def open_notebook(page: Page, lab: Lab, name: str, timeout: float = 60.0) -> None:
    """Open ``name`` (relative to the lab root) in a fresh workspace and wait for an idle kernel."""
    page.goto(lab.url(f"lab/tree/{name}?reset"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=timeout * 1000)
    wait_kernel_idle(page, timeout)


_NOTEBOOK = "window.jupyterapp.shell.currentWidget"


def wait_kernel_idle(page: Page, timeout: float = 60.0) -> None:
    page.wait_for_function(
        f"{_NOTEBOOK}?.sessionContext?.session?.kernel?.status === 'idle'",
        timeout=timeout * 1000,
    )


def run_all(page: Page, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Run all cells; return once every code cell ran or one failed, with the error outputs."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done = kernel idle and every code cell has an execution count; a failing cell stops Run All,
    # so an error output also means done. (Right after the command the kernel may still read
    # 'idle', hence the execution counts.)
    page.wait_for_function(
        f"""() => {{
            const panel = {_NOTEBOOK};
            if (panel?.sessionContext?.session?.kernel?.status !== 'idle') return false;
            const cells = panel.content.widgets.filter((c) => c.model.type === 'code');
            const failed = cells.some((c) =>
                c.model.outputs.toJSON().some((o) => o.output_type === 'error'));
            const ran = cells.every((c) => c.model.executionCount !== null);
            return failed || ran;
        }}""",
        timeout=timeout * 1000,
    )
    return cell_errors(page)


def cell_errors(page: Page) -> list[dict[str, Any]]:
    """The error outputs of the current notebook: ``[{"cell": i, "ename", "evalue"}]``."""
    errors: list[dict[str, Any]] = page.evaluate(
        f"""() => {{
            const out = [];
            {_NOTEBOOK}.content.widgets.forEach((cell, i) => {{
                if (cell.model.type !== 'code') return;
                for (const o of cell.model.outputs.toJSON()) {{
                    if (o.output_type !== 'error') continue;
                    out.push({{cell: i, ename: o.ename, evalue: o.evalue}});
                }}
            }});
            return out;
        }}"""
    )
    return errors


def set_theme(page: Page, theme: str) -> None:
    """Switch Lab's theme, e.g. ``"JupyterLab Dark"``, and wait until it is applied."""
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    page.wait_for_function(
        "(theme) => document.body.dataset.jpThemeName === theme", arg=theme, timeout=20_000
    )


def screenshot(page: Page, name: str, selector: str | None = None) -> Path:
    """Save a PNG into tests/browser/screenshots/ (gitignored) and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if selector is None:
        page.screenshot(path=str(path))
    else:
        page.locator(selector).first.screenshot(path=str(path))
    return path
