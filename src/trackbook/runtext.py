"""One run for a terminal (``trackbook show``): a readable page, or everything as JSON."""

from __future__ import annotations

from typing import Any

from trackbook import frames, ids, textable
from trackbook.snapshot import Run

ERROR_LINES = 12  # the tail of a failed run's traceback that `show` prints


def run_dict(run: Run) -> dict[str, Any]:
    """Everything ``tb.get_run`` knows about ``run``, as strict-JSON-ready data."""
    return frames.jsonable({
        "run_id": run.run_id, "name": run.name, "experiment": run.experiment,
        "status": run.status, "start_time": run.start_time, "end_time": run.end_time,
        "duration_s": run.duration_s, "parent_run_id": run.parent_run_id,
        "host": run.host, "user": run.user, "deleted": run.deleted, "error": run.error,
        "params": run.params, "tags": run.tags, "notes": run.notes,
        "metrics": frames.records(run.metric_summary),
        "artifacts": [
            {"name": a.name, "kind": a.kind, "size": a.size, "sha256": a.sha256,
             "path": a.path, "created": a.created, "meta": a.meta}
            for a in run.artifacts.values()
        ],
        "inputs": run.inputs,
        "lineage": run.lineage,
    })


def run_text(run: Run, width: int | None = None) -> str:
    """The page ``trackbook show`` prints: attributes, params, metrics, tags, notes, files,
    lineage and, for a failed run, the end of its traceback."""
    width = width or textable.terminal_width()
    out = [f"run {run.run_id}  {run.name}"]
    attrs = [("experiment", run.experiment), ("status", run.status + (
        "  (deleted: trackbook restore brings it back)" if run.deleted else "")),
        ("started", _when(run.start_time)), ("ended", _when(run.end_time)),
        ("duration", textable.duration(run.duration_s)),
        ("parent", ids.short(run.parent_run_id) if run.parent_run_id else ""),
        ("host", " / ".join(x for x in (run.host, run.user) if x))]
    out += _pairs([(k, v) for k, v in attrs if v], width)
    if run.params:
        out += ["", f"params ({len(run.params)})"]
        out += _pairs([(k, _param(v)) for k, v in run.params.items()], width)
    if len(run.metric_summary):
        out += ["", f"metrics ({len(run.metric_summary)})"]
        out += _indent(_metrics(run, width - 2))
    if run.tags:
        out += ["", "tags", "  " + ", ".join(k if v == "" else f"{k}={v}"
                                             for k, v in run.tags.items())]
    if run.notes:
        out += ["", "notes"] + [f"  {line}" for note in run.notes for line in note.splitlines()]
    if run.artifacts:
        out += ["", f"artifacts ({len(run.artifacts)})"]
        out += _indent(textable.render([
            textable.column("name", list(run.artifacts)),
            textable.column("kind", [a.kind for a in run.artifacts.values()]),
            textable.Column("size", [textable.size(a.size) for a in run.artifacts.values()],
                            numeric=True),
            textable.column("sha256", [a.sha256[:12] for a in run.artifacts.values()]),
        ], width - 2).lines)
    if run.inputs:
        out += ["", f"inputs ({len(run.inputs)})"]
        out += _pairs([(i["name"], _input(i)) for i in run.inputs], width)
    lineage = _lineage(run.lineage)
    if lineage:
        out += ["", "lineage", *_pairs(lineage, width)]
    if run.error:
        lines = run.error.rstrip().splitlines()
        out += ["", "error" + (f" (last {ERROR_LINES} lines)" if len(lines) > ERROR_LINES
                               else "")]
        out += [f"  {line}" for line in lines[-ERROR_LINES:]]
    return "\n".join(out)


def _metrics(run: Run, width: int) -> list[str]:
    """Key, last, min and max with their steps, count. Only ``last`` can be a real NaN (min
    and max ignore NaN), so elsewhere NaN is the NULL of a series that is all NaN: blank."""
    rows = frames.records(run.metric_summary)

    def col(title: str, name: str, *, blank_nan: bool = True) -> textable.Column:
        values = [r[name] for r in rows]
        if blank_nan:
            values = [None if isinstance(v, float) and v != v else v for v in values]
        return textable.column(title, values)

    return textable.render([
        col("key", "key"), col("last", "last", blank_nan=False), col("step", "last_step"),
        col("min", "min"), col("at step", "min_step"), col("max", "max"),
        col("at step", "max_step"), col("points", "count"),
    ], width).lines


def _when(moment: Any) -> str:
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _param(value: Any) -> str:
    # Params print exactly (repr of floats): they are what one types to reproduce a run.
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        import json

        return json.dumps(value)
    return "None" if value is None else str(value)


def _input(info: dict[str, Any]) -> str:
    parts = [info.get("kind") or ""]
    if info.get("n_rows") is not None:
        parts.append(f"{info['n_rows']} rows x {info.get('n_columns')} columns")
    if info.get("size") is not None:
        parts.append(textable.size(info["size"]))
    if info.get("sha256"):
        parts.append(f"sha256 {info['sha256'][:12]}")
    if info.get("path"):
        parts.append(str(info["path"]))
    return "  ".join(p for p in parts if p)


def _lineage(doc: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    code = doc.get("code") or {}
    if code:
        where = code.get("notebook") or (doc.get("entry_point") or {}).get("path") or ""
        lines = len((code.get("source") or "").splitlines())
        rows.append(("code", f"{where}  {lines} lines  hash {str(code.get('hash'))[:12]}"
                     .strip()))
    git = doc.get("git") or {}
    if git:
        state = "dirty" if git.get("dirty") else "clean"
        branch = f" ({git['branch']})" if git.get("branch") else ""
        rows.append(("git", f"{str(git.get('commit') or 'no commit')[:12]}{branch}, {state}"))
    env = doc.get("environment") or {}
    if env:
        rows.append(("python", f"{env.get('python')} on {env.get('system') or env.get('platform')}"
                     f", {len(env.get('packages') or {})} packages"))
    seeds = doc.get("seeds") or {}
    if seeds:
        rows.append(("seeds", ", ".join(f"{k}={v}" for k, v in seeds.items())))
    return rows


def _pairs(pairs: list[tuple[str, Any]], width: int) -> list[str]:
    if not pairs:
        return []
    key_width = min(max(len(k) for k, _ in pairs), 28)
    return [textable.cut(f"  {textable.cut(k, key_width).ljust(key_width)}  {v}", width)
            for k, v in pairs]


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" for line in lines]
