// tb.panel() and tb.compare(): the runs table (filter, sort, columns, pages, selection) and the
// compare view. Python side: trackbook.panelwidget.Panel. State lives in traitlets; data comes
// from the kernel as replies to named requests (see rpc.ts, trackbook/panelquery.py), so the
// browser never holds the whole store and never sends SQL.
import type { AnyModel, RenderProps } from "@anywidget/types";
import { CompareView } from "./compare";
import { debounce, h } from "./dom";
import { PANEL_CSS } from "./panel-style";
import { RequestFailed, Rpc } from "./rpc";
import {
  type Columns, describeColumns, type Page, renderChooser, renderTable, sortState,
} from "./table";

/** Mirrors the synced traitlets of `Panel` in src/trackbook/panelwidget.py; keep them in step. */
export interface Model {
  mode: "panel" | "compare";
  experiment: string;
  where: string;
  order_by: string;
  columns: string[];
  page: number;
  page_size: number;
  selected: string[];
  fixed_runs: string[];
  revision: number;
  store_path: string;
}

const MAX_SELECTED = 200;

function addStyle(el: HTMLElement): void {
  const doc = el.ownerDocument;
  if (doc.getElementById("trackbook-panel-style")) return;
  doc.head.append(h("style", { id: "trackbook-panel-style" }, PANEL_CSS));
}

class PanelView {
  private readonly rpc: Rpc;
  private readonly compare: CompareView;
  private columns: Columns | undefined;
  private page: Page | undefined;
  private loading = 0;
  private chooserOpen = false;
  // True while this view writes traitlets, so their change events are not mistaken for Python's.
  private writing = false;
  private readonly root = h("div", { class: "tbp" });
  private readonly filter = h("input", {
    class: "tbp-filter", type: "text", spellcheck: "false", autocomplete: "off",
    placeholder: "filter: params.lr < 1e-3 and metrics.val_loss.min < 0.3   (Enter)",
    "aria-label": "filter",
  });
  private readonly experiment = h("select", { class: "tbp-select", "aria-label": "experiment" });
  private readonly chooserButton = h("button", { class: "tbp-btn" }, "Columns ▾");
  private readonly errorLine = h("div", { class: "tbp-filter-error", hidden: true });
  private readonly tableBox = h("div", { class: "tbp-scroll" });
  private readonly footer = h("div", { class: "tbp-footer" });
  private readonly busy = h("span", { class: "tbp-busy", hidden: true }, "waiting for the kernel (a cell is running)…");
  private readonly toolbarBox = h("div", { class: "tbp-rel" });

  constructor(private readonly model: AnyModel<Model>, private readonly el: HTMLElement) {
    this.rpc = new Rpc(model, (busy) => { this.busy.hidden = !busy; });
    this.compare = new CompareView(this.rpc, model.get("mode") === "compare");
  }

  mount(): void {
    addStyle(this.el);
    this.el.append(this.root);
    if (this.model.get("mode") === "compare") {
      this.root.append(h("div", { class: "tbp-toolbar" }, h("span", { class: "tbp-brand" }, "trackbook"),
        h("span", { class: "tbp-differs" }, "compare"), this.busy), this.compare.el);
      void this.compare.show([...this.model.get("fixed_runs")]);
      return;
    }
    this.filter.value = this.model.get("where");
    this.filter.addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.applyFilter();
      if (e.key === "Escape") { this.filter.value = ""; this.applyFilter(); }
    });
    this.filter.addEventListener("input", debounce(() => this.applyFilter(), 700));
    this.experiment.addEventListener("change", () => {
      this.setState({ experiment: this.experiment.value, page: 0 });
      void this.loadColumns().then(() => this.loadPage());
    });
    this.chooserButton.addEventListener("click", (e) => {
      e.stopPropagation();
      this.chooserOpen = !this.chooserOpen;
      this.renderChooser();
    });
    this.el.ownerDocument.addEventListener("click", this.closeChooser);
    const toolbar = h("div", { class: "tbp-toolbar" },
      h("span", { class: "tbp-brand" }, "trackbook"), this.experiment,
      h("div", { class: "tbp-filter-wrap" }, this.filter), this.chooserButton, this.busy);
    this.toolbarBox.append(toolbar);
    this.root.append(this.toolbarBox, this.errorLine, this.tableBox, this.footer, this.compare.el);
    this.compare.el.hidden = true;
    void this.loadColumns().then(() => this.loadPage());
  }

  dispose(): void {
    this.rpc.dispose();
    this.compare.dispose();
    this.el.ownerDocument.removeEventListener("click", this.closeChooser);
  }

  /** Write traitlets (the Python side reads them: panel.where, panel.selected...). */
  private setState(state: Partial<Model>): void {
    this.writing = true;
    try {
      for (const [key, value] of Object.entries(state)) this.model.set(key as keyof Model, value as never);
    } finally {
      this.writing = false;
    }
    this.model.save_changes();
  }

  // -- data -----------------------------------------------------------------------------------

  async loadColumns(): Promise<void> {
    try {
      this.columns = await this.rpc.request<Columns>("columns", { experiment: this.model.get("experiment") || null });
    } catch (err) {
      this.showProblem(err);
      return;
    }
    const current = this.model.get("experiment");
    const names = this.columns.experiments;
    this.experiment.replaceChildren(h("option", { value: "" }, `all experiments (${names.length})`),
      ...names.map((n) => h("option", { value: n }, n)));
    if (current && !names.includes(current)) this.experiment.append(h("option", { value: current }, current));
    this.experiment.value = current;
  }

  private shownColumns(): string[] {
    const chosen = this.model.get("columns");
    return chosen.length ? chosen : this.columns?.default ?? [];
  }

  async loadPage(): Promise<void> {
    const seq = ++this.loading;
    const where = this.model.get("where");
    try {
      const page = await this.rpc.request<Page>("page", {
        where, experiment: this.model.get("experiment") || null,
        order_by: this.model.get("order_by") || null, page: this.model.get("page"),
        page_size: this.model.get("page_size"), columns: this.shownColumns(),
      });
      if (seq !== this.loading) return;
      this.page = page;
      this.filter.classList.remove("tbp-invalid");
      this.errorLine.hidden = true;
      this.renderTable();
    } catch (err) {
      if (seq !== this.loading) return;
      this.showProblem(err);
    }
  }

  private showProblem(err: unknown): void {
    if (err instanceof RequestFailed && err.detail.kind === "FilterError") {
      const { message, position, text } = err.detail;
      this.filter.classList.add("tbp-invalid");
      const caret = position !== null && position !== undefined && text
        ? `\n${text}\n${" ".repeat(position)}^` : "";
      this.errorLine.textContent = `${message}${caret}`;
      this.errorLine.hidden = false;
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof RequestFailed && err.detail.kind === "StoreNotFound") {
      this.tableBox.replaceChildren(this.emptyState(message));
      this.footer.replaceChildren(h("span", {}, this.model.get("store_path")));
      return;
    }
    this.errorLine.textContent = message;
    this.errorLine.hidden = false;
  }

  private emptyState(detail?: string): HTMLElement {
    return h("div", { class: "tbp-empty" },
      h("div", {}, h("b", {}, "No runs here yet.")),
      h("div", {}, "Run a cell with ", h("code", {}, "%%track"), " or ",
        h("code", {}, "with tb.start_run(): ..."), " and it appears here."),
      detail ? h("div", { class: "tbp-note" }, detail) : null);
  }

  private applyFilter(): void {
    const text = this.filter.value.trim();
    if (text === this.model.get("where") && !this.filter.classList.contains("tbp-invalid")) return;
    this.setState({ where: text, page: 0 });
    void this.loadPage();
  }

  // -- rendering ------------------------------------------------------------------------------

  private selection(): Set<string> {
    return new Set(this.model.get("selected"));
  }

  private select(ids: string[]): void {
    this.setState({ selected: ids.slice(0, MAX_SELECTED) });
    this.renderTable();
    void this.compare.show([...this.model.get("selected")]);
  }

  private renderTable(): void {
    const page = this.page;
    if (!page) return;
    if (!page.total) {
      const filtered = this.model.get("where") || this.model.get("experiment");
      this.tableBox.replaceChildren(filtered
        ? h("div", { class: "tbp-empty" }, "No run matches this filter.")
        : this.emptyState());
    } else {
      const selected = this.selection();
      this.tableBox.replaceChildren(renderTable(page, describeColumns(this.columns),
        this.model.get("order_by"), selected, {
          sortBy: (column) => this.sortBy(column),
          toggle: (runId) => {
            const now = this.model.get("selected");
            this.select(now.includes(runId) ? now.filter((id) => id !== runId) : [...now, runId]);
          },
          togglePage: (on) => {
            const ids = page.rows.map((r) => r.run_id);
            const now = this.model.get("selected");
            this.select(on ? [...now, ...ids.filter((id) => !now.includes(id))]
              : now.filter((id) => !ids.includes(id)));
          },
        }));
    }
    this.renderFooter(page);
  }

  private sortBy(column: string): void {
    // ascending, then descending, then unsorted
    const state = sortState(this.model.get("order_by"), column);
    const next = state === "" ? `${column} ASC` : state === "asc" ? `${column} DESC` : "";
    this.setState({ order_by: next, page: 0 });
    void this.loadPage();
  }

  private renderFooter(page: Page): void {
    const first = page.total ? page.page * page.page_size + 1 : 0;
    const last = Math.min(page.total, (page.page + 1) * page.page_size);
    const lastPage = Math.max(0, Math.ceil(page.total / page.page_size) - 1);
    const go = (n: number) => { this.setState({ page: n }); void this.loadPage(); };
    const selected = this.model.get("selected");
    const left = h("div", { class: "tbp-group" },
      h("span", {}, `${page.total.toLocaleString("en-US")} run${page.total === 1 ? "" : "s"}`),
      selected.length ? h("span", {}, `· ${selected.length} selected`) : null,
      selected.length ? h("button", { class: "tbp-link", onclick: () => this.select([]) }, "clear") : null,
      selected.length === 1 ? h("span", { class: "tbp-note" }, "select another run to compare") : null);
    const right = h("div", { class: "tbp-group" },
      h("button", { class: "tbp-btn", disabled: page.page <= 0, "aria-label": "previous page",
                    onclick: () => go(page.page - 1) }, "‹"),
      h("span", {}, page.total ? `${first}–${last} of ${page.total.toLocaleString("en-US")}` : "0"),
      h("button", { class: "tbp-btn", disabled: page.page >= lastPage, "aria-label": "next page",
                    onclick: () => go(page.page + 1) }, "›"));
    this.footer.replaceChildren(left, right);
  }

  private renderChooser(): void {
    this.toolbarBox.querySelector(".tbp-chooser")?.remove();
    if (!this.chooserOpen || !this.columns) return;
    this.toolbarBox.append(renderChooser(this.columns, this.shownColumns(), (chosen) => {
      this.chooserOpen = false;
      this.renderChooser();
      this.setState({ columns: chosen });
      void this.loadPage();
    }, () => this.closeChooser()));
  }

  private closeChooser = (): void => {
    if (!this.chooserOpen) return;
    this.chooserOpen = false;
    this.renderChooser();
  };

  /** The store changed (runs logged, here or in another process): fetch again. */
  refresh = (): void => {
    if (this.model.get("mode") === "compare") {
      void this.compare.show([...this.model.get("fixed_runs")]);
      return;
    }
    void this.loadColumns().then(() => this.loadPage());
    const selected = this.model.get("selected");
    if (selected.length > 1) void this.compare.show([...selected]);
  };

  /** Python set the filter, selection or columns itself (panel.where = ...). */
  fromPython = (): void => {
    if (this.writing) return;
    if (this.filter.value.trim() !== this.model.get("where")) this.filter.value = this.model.get("where");
    void this.loadPage();
  };
}

function render({ model, el }: RenderProps<Model>): () => void {
  const view = new PanelView(model, el);
  view.mount();
  const later = debounce(view.refresh, 300);
  model.on("change:revision", later);
  model.on("change:where", view.fromPython);
  model.on("change:columns", view.fromPython);
  model.on("change:page_size", view.fromPython);
  return () => {
    model.off("change:revision", later);
    model.off("change:where", view.fromPython);
    model.off("change:columns", view.fromPython);
    model.off("change:page_size", view.fromPython);
    view.dispose();
  };
}

export default { render } satisfies { render: (props: RenderProps<Model>) => () => void };
