"""Running one notebook cell as a run: the code, its output, its card, its outcome.

The cell runs in the user's namespace exactly as it would without the magic: its output and
display are the same, its last expression is the cell's result, and an exception propagates
(after the run records it) so the cell fails and Run All stops.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import io
import sys
from dataclasses import dataclass, field
from typing import Any

from trackbook import cardview, cells, tried
from trackbook.run import ActiveRun, outcome

OUTPUT_CAP = 1_000_000  # characters of stdout+stderr kept as the run's output.txt


@dataclass
class PreparedCell:
    """A cell made ready to run with some values overridden."""

    source: str  # what is recorded as the run's code: the cell as it ran
    code: str  # Python to execute (IPython syntax transformed)
    params: dict[str, Any]  # the cell's literal params after the overrides, flattened
    inject: dict[str, Any]  # overrides the cell does not assign: set before it runs
    cell_hash: str  # the cell as written, for "already tried"
    cell_params: str  # hash of the literal params, for "already tried"
    overrides: dict[str, Any] = field(default_factory=dict)


def prepare(shell: Any, cell: str, overrides: dict[str, Any]) -> PreparedCell:
    """Apply ``overrides`` to the cell's literal assignments and capture its params."""
    if cells.parse(cell) is not None:
        source, inject = cells.override(cell, overrides)
        code = shell.transform_cell(source) if shell is not None else source
    else:  # IPython syntax (%magics, !shell): rewrite the transformed Python instead
        code, inject = cells.override(shell.transform_cell(cell), overrides)
        source = cell if not overrides else f"# ran with {overrides!r}\n{cell}"
    literal = cells.params(code)
    literal.update(inject)
    return PreparedCell(source=source, code=code, params=literal, inject=inject,
                        cell_hash=hashlib.sha256(cell.encode()).hexdigest(),
                        cell_params=tried.params_hash(literal), overrides=dict(overrides))


class _Tee(io.TextIOBase):
    """Writes to the real stream and keeps a capped copy."""

    def __init__(self, stream: Any, sink: list[str]) -> None:
        self.stream, self.sink = stream, sink
        self.kept = 0

    def write(self, text: str) -> int:
        if self.kept < OUTPUT_CAP:
            self.sink.append(text[: OUTPUT_CAP - self.kept])
            self.kept += len(self.sink[-1])
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno... of the real stream
        return getattr(self.stream, name)


@contextlib.contextmanager
def captured_output(sink: list[str]) -> Any:
    with contextlib.redirect_stdout(_Tee(sys.stdout, sink)), \
            contextlib.redirect_stderr(_Tee(sys.stderr, sink)):
        yield


def execute(shell: Any, prepared: PreparedCell) -> Any:
    """Run the cell's code in the user namespace; return its last expression's value."""
    __tracebackhide__ = True  # IPython hides this frame in tracebacks
    namespace = shell.user_ns
    namespace.update(prepared.inject)
    filename = shell.compile.cache(prepared.code, cell_number(shell))
    tree = ast.parse(prepared.code, filename=filename)
    body, last = cells.split_last_expression(tree)
    exec(shell.compile(body, filename, "exec"), shell.user_global_ns, namespace)
    if last is None:
        return None
    value = eval(shell.compile(last, filename, "eval"), shell.user_global_ns, namespace)
    return None if prepared.code.rstrip().endswith(";") else value


def cell_number(shell: Any) -> int | None:
    """The execution count (``In[n]``) of the cell running now.

    IPython 9 counts the cell before running it (``shell.execution_count`` is already n + 1
    inside it), IPython 8 after; the input history holds this cell either way.
    """
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if isinstance(history, list) and len(history) > 1:
        return len(history) - 1
    return getattr(shell, "execution_count", None)


def run_cell(shell: Any, run: ActiveRun, prepared: PreparedCell) -> Any:
    """Execute ``prepared`` as ``run``: log a final-metrics dict, keep the output, end the run."""
    __tracebackhide__ = True
    output: list[str] = []
    try:
        with captured_output(output):
            result = execute(shell, prepared)
        metrics = cells.numeric_dict(result)
        if metrics:
            run.log(metrics)
    except BaseException as exc:
        _finish(run, output, exc)
        raise
    _finish(run, output, None)
    return result


def _finish(run: ActiveRun, output: list[str], exc: BaseException | None) -> None:
    text = "".join(output)
    if text:
        if len(text) >= OUTPUT_CAP:
            text += "\n[trackbook: output cut at 1 MB]\n"
        run.log_text(text, "output.txt")
    status, error = outcome(exc)
    run.end(status, error)


def final_card(run: ActiveRun) -> Any:
    """The static card that replaces the live one when the cell ends."""
    from IPython.display import HTML

    return HTML(cardview.run_card(run.card_state()))
