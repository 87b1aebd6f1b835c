// The runs table: one page of rows from the kernel (filtered, sorted and paged there), with
// sortable headers, row selection and a column chooser. Pure rendering: the panel owns state.
import { h } from "./dom";
import {
  exactValue,
  formatDuration,
  formatTime,
  formatValue,
  shortId,
  STATUS_COLOURS,
  type Value,
} from "./format";

/** A row as `panelquery.page` sends it. */
export interface Row {
  run_id: string;
  name: string;
  status: string;
  start_time: string | null;
  duration_s: number | null;
  parent_run_id: string | null;
  values: Record<string, Value>;
}

export interface Page {
  total: number;
  page: number;
  page_size: number;
  columns: string[];
  rows: Row[];
}

/** What the column chooser offers (`panelquery.available_columns`). */
export interface Columns {
  params: { key: string; id: string }[];
  metrics: { key: string; ids: Record<"last" | "min" | "max", string> }[];
  tags: { key: string; id: string }[];
  varying: string[];
  default: string[];
  experiments: string[];
}

export interface ColumnInfo {
  kind: string;
  label: string;
}

/** Column id -> how its header reads ("param" / "lr"). */
export function describeColumns(columns: Columns | undefined): Map<string, ColumnInfo> {
  const out = new Map<string, ColumnInfo>();
  if (!columns) return out;
  for (const p of columns.params) out.set(p.id, { kind: "param", label: p.key });
  for (const t of columns.tags) out.set(t.id, { kind: "tag", label: t.key });
  for (const m of columns.metrics) {
    out.set(m.ids.last, { kind: "metric", label: m.key });
    out.set(m.ids.min, { kind: "metric · min", label: m.key });
    out.set(m.ids.max, { kind: "metric · max", label: m.key });
  }
  return out;
}

export interface TableHandlers {
  sortBy(column: string): void;
  toggle(runId: string): void;
  togglePage(select: boolean): void;
}

const BASE: { id: string; label: string; numeric?: boolean }[] = [
  { id: "name", label: "name" },
  { id: "status", label: "status" },
  { id: "start_time", label: "started" },
  { id: "duration_s", label: "duration", numeric: true },
];

/** How `orderBy` ("metrics.loss.min DESC") sorts `column`: not at all, up or down. */
export function sortState(orderBy: string, column: string): "" | "asc" | "desc" {
  const [field, direction] = orderBy.trim().split(/\s+(?=(?:asc|desc)$)/i);
  if (field !== column) return "";
  return (direction ?? "asc").toLowerCase() === "desc" ? "desc" : "asc";
}

function header(id: string, label: string, kind: string, numeric: boolean, orderBy: string,
                handlers: TableHandlers): HTMLTableCellElement {
  const state = sortState(orderBy, id);
  return h("th", { class: numeric ? "tbp-num" : "", title: `sort by ${id}`, "data-column": id,
                   onclick: () => handlers.sortBy(id) },
    kind ? h("span", { class: "tbp-kind" }, kind) : null,
    label,
    state ? h("span", { class: "tbp-arrow" }, state === "asc" ? "▲" : "▼") : null);
}

export function statusBadge(status: string): HTMLElement {
  const badge = h("span", { class: `tbp-badge tbp-${status}` }, status);
  badge.style.setProperty("--tbp-dot", STATUS_COLOURS[status] ?? "#6b7280");
  return badge;
}

function cell(value: Value): HTMLTableCellElement {
  const numeric = typeof value === "number" || value === "nan" || value === "inf" || value === "-inf";
  const missing = value === null || value === undefined;
  return h("td", { class: `${numeric ? "tbp-num" : ""}${missing ? " tbp-missing" : ""}`,
                   title: exactValue(value) }, missing ? "–" : formatValue(value));
}

export function renderTable(page: Page, info: Map<string, ColumnInfo>, orderBy: string,
                            selected: Set<string>, handlers: TableHandlers): HTMLTableElement {
  const onPage = page.rows.map((r) => r.run_id);
  const allOn = onPage.length > 0 && onPage.every((id) => selected.has(id));
  const pageBox = h("input", { type: "checkbox", title: "select every run on this page",
                               "aria-label": "select page" });
  pageBox.checked = allOn;
  pageBox.addEventListener("click", (event) => {
    event.stopPropagation();
    handlers.togglePage(!allOn);
  });
  const head = h("tr", {}, h("th", { class: "tbp-check" }, pageBox),
    ...BASE.map((c) => header(c.id, c.label, "", Boolean(c.numeric), orderBy, handlers)),
    ...page.columns.map((id) => {
      const meta = info.get(id) ?? { kind: id.split(".")[0], label: id };
      const numeric = page.rows.some((r) => typeof r.values[id] === "number");
      return header(id, meta.label, meta.kind, numeric, orderBy, handlers);
    }));
  const onPageIds = new Set(onPage);
  const body = h("tbody", {}, ...page.rows.map((row) => {
    const box = h("input", { type: "checkbox", "aria-label": `select ${row.name}` });
    box.checked = selected.has(row.run_id);
    box.addEventListener("click", (event) => {
      event.stopPropagation();
      handlers.toggle(row.run_id);
    });
    const child = row.parent_run_id && onPageIds.has(row.parent_run_id)
      ? h("span", { class: "tbp-child", title: "part of a sweep shown on this page" }, "↳") : null;
    const tr = h("tr", { class: selected.has(row.run_id) ? "tbp-selected" : "",
                         "data-run": row.run_id, onclick: () => handlers.toggle(row.run_id) },
      h("td", { class: "tbp-check" }, box),
      h("td", { class: "tbp-name", title: `${row.name}\nrun ${row.run_id}` }, child, row.name,
        h("span", { class: "tbp-id" }, shortId(row.run_id))),
      h("td", {}, statusBadge(row.status)),
      h("td", { title: row.start_time ?? "" }, formatTime(row.start_time)),
      h("td", { class: "tbp-num" }, formatDuration(row.duration_s)),
      ...page.columns.map((id) => cell(row.values[id])));
    return tr;
  }));
  return h("table", { class: "tbp-table" }, h("thead", {}, head), body);
}

/** The column chooser: params, metrics (last / min / max) and tags as checkboxes. */
export function renderChooser(columns: Columns, shown: string[],
                              apply: (chosen: string[]) => void, close: () => void): HTMLElement {
  const chosen = new Set(shown);
  const box = (id: string, label: string) => {
    const input = h("input", { type: "checkbox", "data-column": id });
    input.checked = chosen.has(id);
    input.addEventListener("change", () => {
      if (input.checked) chosen.add(id);
      else chosen.delete(id);
    });
    return h("label", { title: id }, input, label);
  };
  const sections: HTMLElement[] = [];
  if (columns.params.length) {
    sections.push(h("h4", {}, "Params"), ...columns.params.map((p) => box(p.id, p.key)));
  }
  if (columns.metrics.length) {
    sections.push(h("h4", {}, "Metrics"), ...columns.metrics.map((m) =>
      h("div", { class: "tbp-aggs" }, h("span", { class: "tbp-key", title: m.key }, m.key),
        box(m.ids.last, "last"), box(m.ids.min, "min"), box(m.ids.max, "max"))));
  }
  if (columns.tags.length) {
    sections.push(h("h4", {}, "Tags"), ...columns.tags.map((t) => box(t.id, t.key)));
  }
  if (!sections.length) sections.push(h("div", { class: "tbp-note" }, "No params, metrics or tags yet."));
  // Keep the order columns were shown in; new ones go at the end, in chooser order.
  const ordered = () => {
    const all = [...columns.params.map((p) => p.id),
      ...columns.metrics.flatMap((m) => [m.ids.last, m.ids.min, m.ids.max]),
      ...columns.tags.map((t) => t.id)];
    return [...shown.filter((id) => chosen.has(id)), ...all.filter((id) => chosen.has(id) && !shown.includes(id))];
  };
  return h("div", { class: "tbp-chooser", role: "dialog", onclick: (e: Event) => e.stopPropagation() },
    ...sections,
    h("div", { class: "tbp-chooser-actions" },
      h("button", { class: "tbp-btn", onclick: () => apply([]) }, "Defaults"),
      h("span", {},
        h("button", { class: "tbp-btn", onclick: close }, "Cancel"), " ",
        h("button", { class: "tbp-btn tbp-primary", onclick: () => apply(ordered()) }, "Apply"))));
}
