"""``trackbook doctor``'s report as text (the checks themselves are in maintenance.py)."""

from __future__ import annotations

from trackbook import ids, textable
from trackbook.maintenance import Checkup
from trackbook.schema import SCHEMA_VERSION


def render(up: Checkup) -> str:
    lines = [f"store        {up.store}" + ("" if up.exists else "  (missing)")]
    if not up.exists:
        lines.append(f"nearest      {up.nearest or 'none in this folder or its parents'}")
    lines.append(f"versions     trackbook {up.trackbook_version}"
                 + (f", duckdb {up.duckdb_version.lstrip('v')}" if up.duckdb_version else "")
                 + (f", schema {up.schema_version} (this trackbook: {SCHEMA_VERSION})"
                    if up.schema_version is not None else ""))
    if up.exists:
        wal = f" + {textable.size(up.wal_bytes)} WAL" if up.wal_bytes else ""
        lines.append(f"file         {textable.size(up.file_bytes)}{wal}")
    lines.append(f"artifacts    {up.artifacts[0]} file(s), {textable.size(up.artifacts[1])}"
                 + (f"; {up.unreferenced[0]} unreferenced ({textable.size(up.unreferenced[1])}"
                    ", trackbook gc frees them)" if up.unreferenced[0] else ""))
    spool = f"spool        {up.spool[0]} file(s), {textable.size(up.spool[1])}"
    if up.spool_waiting:
        spool += f"; {up.spool_waiting} were waiting (this check ingested them)"
    if up.spool_claimed:
        spool += f"; {up.spool_claimed} claimed by an ingest in progress or a dead one"
    lines.append(spool)
    if up.quarantined:
        lines.append(f"quarantined  {len(up.quarantined)}: {', '.join(up.quarantined[:3])}"
                     + (", ..." if len(up.quarantined) > 3 else ""))
    if up.exists:
        total = sum(up.runs.values())
        by_status = ", ".join(f"{n} {status}" for status, n in up.runs.items())
        lines.append(f"runs         {total} in {up.experiments} experiment(s)"
                     + (f": {by_status}" if by_status else "")
                     + (f"; {up.deleted_runs} deleted" if up.deleted_runs else ""))
    for run in up.quiet:
        lines.append(f"quiet        {ids.short(run['run_id'])} {run['name']!r} is running but "
                     f"silent for {textable.duration(run['silent_s'])}")
    for run in up.crashed:
        lines.append(f"crashed      {ids.short(run['run_id'])} {run['name']!r} "
                     f"({run['experiment']}), last seen {textable.moment(run['end_time'])}")
    lines.append("problems     " + ("none" if not up.problems else up.problems[0]))
    lines += [f"             {p}" for p in up.problems[1:]]
    return "\n".join(lines)
