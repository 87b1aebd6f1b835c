"""``%%track --sweep``: the cell once per combination, each a child of one sweep run.

A failed child is recorded and the sweep goes on (unless ``--fail-fast``); Ctrl-C marks the
combinations that never ran ``skipped`` and the sweep ``interrupted``. The sweep ends
``finished`` when every child finished, else ``failed``, and then the cell fails too, so Run All
stops.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from trackbook import cardview, sweeps, tried
from trackbook import run as runs_api
from trackbook.cellrun import PreparedCell, prepare, run_cell
from trackbook.errors import TrackbookError

SHOWN_KEYS = 4


class SweepFailed(TrackbookError):
    """Some children of a sweep failed; each one's traceback was shown above."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback into trackbook's own frames.
        return [f"SweepFailed: {self}"]


@dataclass
class Child:
    combo: dict[str, Any]
    prepared: PreparedCell
    run: runs_api.ActiveRun | None = None
    status: str = "pending"
    note: str = ""

    def state(self) -> dict[str, Any]:
        name = sweeps.label(self.combo)
        if self.run is None:
            return {"name": name + (f" ({self.note})" if self.note else ""),
                    "status": self.status, "metrics": {}}
        card = self.run.card_state()
        return {"name": name, "status": card["status"], "elapsed_s": card["elapsed_s"],
                "metrics": {m["key"]: m["last"] for m in card["metrics"]}}


@dataclass
class Sweep:
    parent: runs_api.ActiveRun
    spec: str
    children: list[Child] = field(default_factory=list)

    def html(self) -> str:
        states = [child.state() for child in self.children]
        keys: list[str] = []
        for state in states:
            keys += [k for k in state["metrics"] if k not in keys]
        card = self.parent.card_state()
        card.update(spec=self.spec, children=states, metric_keys=keys[:SHOWN_KEYS])
        return cardview.sweep_card(card)


def run_sweep(shell: Any, cell: str, args: argparse.Namespace, grid: dict[str, list[Any]],
              overrides: dict[str, Any], tags: dict[str, str], index: tried.TriedIndex) -> None:
    """Run every combination of ``grid``; raise :class:`SweepFailed` if a child failed."""
    __tracebackhide__ = True
    children = [Child(combo, prepare(shell, cell, {**overrides, **combo}))
                for combo in sweeps.combinations(grid)]
    parent = runs_api.start_run(args.name or f"sweep {args.sweep}", args.experiment,
                                params={"sweep": args.sweep}, tags=tags or None,
                                note=args.note, code=cell)
    sweep = Sweep(parent, args.sweep, children)
    shown = None if args.quiet else _show(sweep)
    failed: list[Child] = []
    try:
        for child in children:
            if failed and args.fail_fast:
                child.status, child.note = "skipped", "after a failure"
                _record_skipped(parent, child, tags)
                continue
            if _run_child(shell, parent, child, tags, index, args.skip_if_done):
                failed.append(child)
    except KeyboardInterrupt:
        for child in children:
            if child.run is None and child.status == "pending":
                child.status = "skipped"
                _record_skipped(parent, child, tags)
        parent.end("interrupted", "KeyboardInterrupt")
        raise
    finally:
        if parent.status == "running":
            parent.end("failed" if failed else "finished")
        _close(shown, sweep)
    if failed:
        names = ", ".join(sweeps.label(c.combo) for c in failed)
        raise SweepFailed(f"{len(failed)} of {len(children)} sweep runs failed: {names} "
                          "(their tracebacks are above)")


def _run_child(shell: Any, parent: runs_api.ActiveRun, child: Child, tags: dict[str, str],
               index: tried.TriedIndex, skip_if_done: bool) -> bool:
    """Run one combination; True when it failed (its traceback is shown, the sweep goes on)."""
    __tracebackhide__ = True
    prepared = child.prepared
    if skip_if_done:
        done = index.lookup(prepared.cell_hash, prepared.cell_params, wait=5.0)
        if done is not None:
            child.status, child.note = "skipped", f"done before as {done.run_id[:8]}"
            return False
    child.run = runs_api.start_run(
        sweeps.label(child.combo), parent.experiment, params=prepared.params,
        tags=tags or None, code=prepared.source, parent=parent,
        lineage={"code": {"cell_hash": prepared.cell_hash, "cell_params": prepared.cell_params,
                          "sweep": parent.run_id}})
    child.run.watch()
    try:
        run_cell(shell, child.run, prepared)
    except Exception:  # recorded on the child; shown; the sweep goes on
        shell.showtraceback()
        return True
    if child.run.status == "finished":
        index.add(prepared.cell_hash, prepared.cell_params,
                  tried.Done(child.run.run_id, child.run.name,
                             dict(child.state()["metrics"])))
    return False


def _record_skipped(parent: runs_api.ActiveRun, child: Child, tags: dict[str, str]) -> None:
    runs_api.start_run(sweeps.label(child.combo), parent.experiment,
                       params=child.prepared.params, tags=tags or None, parent=parent,
                       status="skipped")


def _show(sweep: Sweep) -> Any:
    from IPython.display import display

    from trackbook.card import Feeder, RunCard

    card = RunCard()
    feeder = Feeder(card, lambda: (sweep.html(), sweep.parent.status)).start()
    return card, feeder, display(card, display_id=True)


def _close(shown: Any, sweep: Sweep) -> None:
    if shown is None:
        return
    from IPython.display import HTML

    card, feeder, handle = shown
    feeder.stop()
    handle.update(HTML(sweep.html()))
    card.close()
