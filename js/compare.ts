// The compare view of a few runs: what differs (params, metrics, tags, code) and charts from
// tb.plot (curves with smoothing, log scale and seed bands; scatter; parallel coordinates),
// built by the kernel as Vega-Lite specs and drawn here with the bundled vega-embed.
import embed, { type Result, type VisualizationSpec } from "vega-embed";
import { debounce, h } from "./dom";
import { exactValue, formatDuration, formatValue, type Value } from "./format";
import { type Rpc, RequestFailed } from "./rpc";
import { statusBadge } from "./table";
import { styleChart, themedOptions, watchHostTheme } from "./theme";

/** `panelquery.compare`'s answer. */
interface CompareData {
  runs: { run_id: string; name: string; status: string; duration_s: number | null; label: string }[];
  params: { key: string; values: Value[]; differs: boolean }[];
  metrics: { key: string; last: Value[]; min: Value[]; max: Value[]; count: number }[];
  tags: { key: string; values: Value[]; differs: boolean }[];
  seed: string | null;
  code_diff: string | null;
}

type Tab = "curves" | "params" | "scatter" | "parallel" | "code";
const TABS: [Tab, string][] = [
  ["curves", "Curves"], ["params", "Params & metrics"], ["scatter", "Scatter"],
  ["parallel", "Parallel"], ["code", "Code diff"],
];

function lowerIsBetter(key: string): boolean {
  return /(^|[^a-z])(loss|error|err|mse|mae|rmse|perplexity|ppl|nll|wer|cer)([^a-z]|$)/i.test(key);
}

/** The metric to show first: the longest series (a metric logged once makes a poor curve). */
function primaryMetric(data: CompareData): string {
  const longest = [...data.metrics].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  return longest[0].key;
}

/** A metric's best summary: the min of a loss, the max of anything else. */
function bestOf(key: string): string {
  return lowerIsBetter(key) ? `${key}.min` : `${key}.max`;
}

function select(options: [string, string][], value: string, onChange: (v: string) => void,
                label: string): HTMLSelectElement {
  const el = h("select", { class: "tbp-select", "aria-label": label },
    ...options.map(([v, text]) => h("option", { value: v }, text)));
  el.value = value;
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export class CompareView {
  readonly el = h("div", { class: "tbp-compare" });
  private data: CompareData | undefined;
  private runIds: string[] = [];
  private tab: Tab = "curves";
  private chart: Result | undefined;
  private drawn: { box: HTMLElement; spec: VisualizationSpec; theme: string } | undefined;
  private drawSeq = 0;
  private readonly unwatchTheme: () => void;
  // Chart choices survive switching runs and tabs.
  private opts = {
    metric: "", x: "step", smooth: 0, log_y: false, group_by: "", over: "",
    scatter_x: "", scatter_y: "", parallel_metric: "", show_all: false,
  };

  constructor(private readonly rpc: Rpc, private readonly standalone: boolean) {
    this.unwatchTheme = watchHostTheme(() => void this.retheme());
  }

  dispose(): void {
    this.unwatchTheme();
    this.chart?.finalize();
  }

  /** Redraw the shown chart in the host's new colours (JupyterLab light <-> dark). */
  private async retheme(): Promise<void> {
    const drawn = this.drawn;
    if (!drawn || !drawn.box.isConnected) return;
    const options = themedOptions(drawn.box);
    const theme = JSON.stringify(options);
    if (theme === drawn.theme) return;
    drawn.theme = theme;
    this.chart?.finalize();
    this.chart = await embed(drawn.box, drawn.spec, options);
  }

  /** Show these runs (reloads the facts; keeps the chosen tab and options). */
  async show(runIds: string[]): Promise<void> {
    this.runIds = runIds;
    if (runIds.length < (this.standalone ? 1 : 2)) {
      this.el.replaceChildren();
      this.el.hidden = true;
      return;
    }
    this.el.hidden = false;
    try {
      this.data = await this.rpc.request<CompareData>("compare", { runs: runIds });
    } catch (err) {
      this.el.replaceChildren(h("div", { class: "tbp-pane tbp-chart-error" }, String((err as Error).message)));
      return;
    }
    if (runIds !== this.runIds) return; // a newer selection came in meanwhile
    this.render();
  }

  private render(): void {
    const data = this.data;
    if (!data) return;
    const differing = data.params.filter((p) => p.differs);
    const summary = differing.length
      ? h("span", { class: "tbp-differs" }, "differ in ",
          ...differing.slice(0, 6).flatMap((p, i) => [i ? ", " : "", h("b", {}, p.key)]),
          differing.length > 6 ? ` and ${differing.length - 6} more` : "")
      : h("span", { class: "tbp-differs" }, "same params");
    const tabs = h("div", { class: "tbp-tabs", role: "tablist" }, ...TABS
      .filter(([t]) => t !== "code" || data.code_diff !== null || data.runs.length === 2)
      .map(([t, text]) => h("button", {
        class: `tbp-tab${t === this.tab ? " tbp-active" : ""}`, role: "tab", "data-tab": t,
        onclick: () => { this.tab = t; this.render(); },
      }, text)));
    const pane = h("div", { class: "tbp-pane" });
    this.el.replaceChildren(
      h("div", { class: "tbp-compare-head" },
        h("h3", {}, `Compare ${data.runs.length} run${data.runs.length === 1 ? "" : "s"}`), summary),
      tabs, pane);
    this.chart?.finalize();
    this.chart = undefined;
    if (this.tab === "curves") this.renderCurves(pane, data);
    else if (this.tab === "params") this.renderFacts(pane, data);
    else if (this.tab === "scatter") this.renderScatter(pane, data);
    else if (this.tab === "parallel") this.renderParallel(pane, data);
    else this.renderCode(pane, data);
  }

  // -- charts ---------------------------------------------------------------------------------

  private chartBox(pane: HTMLElement): HTMLElement {
    const box = h("div", { class: "tbp-chart" });
    pane.append(box);
    return box;
  }

  private async draw(box: HTMLElement, params: Record<string, unknown>): Promise<void> {
    const seq = ++this.drawSeq;
    const width = Math.max(280, (box.clientWidth || this.el.clientWidth || 800) - 190);
    box.append(h("div", { class: "tbp-note" }, "drawing…"));
    try {
      const { spec } = await this.rpc.request<{ spec: VisualizationSpec }>("chart", {
        runs: this.runIds, width, ...params,
      });
      if (seq !== this.drawSeq) return;
      this.chart?.finalize();
      box.replaceChildren();
      styleChart(box);
      const options = themedOptions(box);
      this.drawn = { box, spec, theme: JSON.stringify(options) };
      this.chart = await embed(box, spec, options);
    } catch (err) {
      if (seq !== this.drawSeq) return;
      const message = err instanceof RequestFailed ? err.detail.message : String(err);
      box.replaceChildren(h("div", { class: "tbp-chart-error" }, message));
    }
  }

  private renderCurves(pane: HTMLElement, data: CompareData): void {
    const keys = data.metrics.map((m) => m.key);
    if (!keys.length) {
      pane.append(h("div", { class: "tbp-note" }, "These runs logged no metrics."));
      return;
    }
    if (!keys.includes(this.opts.metric) && this.opts.metric !== "*") this.opts.metric = primaryMetric(data);
    const redraw = () => this.draw(box, {
      kind: "curves", metric: this.opts.metric === "*" ? null : this.opts.metric, x: this.opts.x,
      smooth: this.opts.smooth, log_y: this.opts.log_y, group_by: this.groupBy(data),
    });
    const later = debounce(redraw, 250);
    const smoothText = h("span", {}, this.opts.smooth.toFixed(2));
    const slider = h("input", { type: "range", min: 0, max: 0.99, step: 0.01, "aria-label": "smoothing" });
    slider.value = String(this.opts.smooth);
    slider.addEventListener("input", () => {
      this.opts.smooth = Number(slider.value);
      smoothText.textContent = this.opts.smooth.toFixed(2);
      later();
    });
    const log = h("input", { type: "checkbox", "aria-label": "log scale" });
    log.checked = this.opts.log_y;
    log.addEventListener("change", () => { this.opts.log_y = log.checked; redraw(); });
    const varying = data.params.filter((p) => p.differs).map((p) => p.key);
    if (!varying.includes(this.opts.over)) this.opts.over = data.seed ?? varying[varying.length - 1] ?? "";
    const groupChoices: [string, string][] = [["", "none (one line per run)"]];
    if (varying.length > 1) groupChoices.push(["*", "configuration (all params but one)"]);
    for (const key of varying) groupChoices.push([key, key]);
    if (!groupChoices.some(([v]) => v === this.opts.group_by)) this.opts.group_by = "";
    // Runs alike in every param but this one (the seed, guessed) make one mean ± std band.
    const over = this.opts.group_by === "*"
      ? h("label", {}, "mean ± std over", select(varying.map((k): [string, string] => [k, k]),
          this.opts.over, (v) => { this.opts.over = v; redraw(); }, "over"))
      : null;
    pane.append(h("div", { class: "tbp-controls" },
      h("label", {}, "metric", select([...keys.map((k): [string, string] => [k, k]),
        ...(keys.length > 1 ? [["*", "all metrics"] as [string, string]] : [])],
        this.opts.metric, (v) => { this.opts.metric = v; redraw(); }, "metric")),
      h("label", {}, "x", select([["step", "step"], ["time", "time since start"], ["wall_time", "wall time"]],
        this.opts.x, (v) => { this.opts.x = v; redraw(); }, "x axis")),
      h("label", {}, "smoothing", slider, smoothText),
      h("label", {}, log, "log scale"),
      h("label", {}, "group by", select(groupChoices, this.opts.group_by,
        (v) => { this.opts.group_by = v; this.render(); }, "group by")), over));
    const box = this.chartBox(pane);
    redraw();
  }

  private groupBy(data: CompareData): string[] | null {
    const choice = this.opts.group_by;
    if (!choice) return null;
    if (choice === "*") return data.params.filter((p) => p.differs && p.key !== this.opts.over).map((p) => p.key);
    return [choice];
  }

  private renderScatter(pane: HTMLElement, data: CompareData): void {
    const params = data.params.map((p) => p.key);
    const metrics = data.metrics.flatMap((m) => [m.key, `${m.key}.min`, `${m.key}.max`]);
    if (!params.length || !data.metrics.length) {
      pane.append(h("div", { class: "tbp-note" }, "A scatter needs a param and a metric."));
      return;
    }
    const varying = data.params.filter((p) => p.differs).map((p) => p.key);
    if (!params.includes(this.opts.scatter_x)) this.opts.scatter_x = varying[0] ?? params[0];
    if (!metrics.includes(this.opts.scatter_y)) this.opts.scatter_y = bestOf(primaryMetric(data));
    const redraw = () => this.draw(box, { kind: "scatter", x: this.opts.scatter_x, y: this.opts.scatter_y });
    pane.append(h("div", { class: "tbp-controls" },
      h("label", {}, "x", select(params.map((k) => [k, k]), this.opts.scatter_x,
        (v) => { this.opts.scatter_x = v; redraw(); }, "scatter x")),
      h("label", {}, "y", select(metrics.map((k) => [k, k]), this.opts.scatter_y,
        (v) => { this.opts.scatter_y = v; redraw(); }, "scatter y"))));
    const box = this.chartBox(pane);
    redraw();
  }

  private renderParallel(pane: HTMLElement, data: CompareData): void {
    const metrics = data.metrics.flatMap((m) => [m.key, `${m.key}.min`, `${m.key}.max`]);
    if (!data.params.some((p) => p.differs) || !metrics.length) {
      pane.append(h("div", { class: "tbp-note" }, "Parallel coordinates need params that differ and a metric."));
      return;
    }
    if (!metrics.includes(this.opts.parallel_metric)) this.opts.parallel_metric = bestOf(primaryMetric(data));
    const redraw = () => this.draw(box, { kind: "parallel", metric: this.opts.parallel_metric });
    pane.append(h("div", { class: "tbp-controls" },
      h("label", {}, "metric", select(metrics.map((k) => [k, k]), this.opts.parallel_metric,
        (v) => { this.opts.parallel_metric = v; redraw(); }, "parallel metric"))));
    const box = this.chartBox(pane);
    redraw();
  }

  // -- facts ----------------------------------------------------------------------------------

  private renderFacts(pane: HTMLElement, data: CompareData): void {
    const toggle = h("input", { type: "checkbox", "aria-label": "show equal params" });
    toggle.checked = this.opts.show_all;
    toggle.addEventListener("change", () => { this.opts.show_all = toggle.checked; this.render(); });
    const runs = data.runs;
    const head = h("tr", {}, h("th", {}, ""), ...runs.map((r) =>
      h("th", { title: r.run_id }, r.label)));
    const rows: HTMLElement[] = [
      h("tr", {}, h("td", {}, "status"), ...runs.map((r) => h("td", {}, statusBadge(r.status)))),
      h("tr", {}, h("td", {}, "duration"), ...runs.map((r) => h("td", { class: "tbp-num" }, formatDuration(r.duration_s)))),
    ];
    const section = (title: string) => h("tr", { class: "tbp-section" }, h("td", { colspan: runs.length + 1 }, title));
    const valueRow = (key: string, values: Value[], differs: boolean, best = -1) =>
      h("tr", { class: differs ? "tbp-diff" : "" }, h("td", { title: key }, key),
        ...values.map((v, i) => h("td", {
          class: `tbp-val${typeof v === "number" ? " tbp-num" : ""}${i === best ? " tbp-best" : ""}`,
          title: exactValue(v),
        }, v === null || v === undefined ? "–" : formatValue(v))));
    const params = data.params.filter((p) => this.opts.show_all || p.differs);
    rows.push(section(`params${this.opts.show_all ? "" : " that differ"}`));
    if (params.length) rows.push(...params.map((p) => valueRow(p.key, p.values, p.differs)));
    else rows.push(h("tr", {}, h("td", { colspan: runs.length + 1, class: "tbp-note" }, "none")));
    if (data.metrics.length) {
      rows.push(section("metrics (last · min · max; best in bold)"));
      for (const m of data.metrics) {
        const goalMin = lowerIsBetter(m.key);
        for (const agg of ["last", "min", "max"] as const) {
          const values = m[agg];
          const numbers = values.map((v) => (typeof v === "number" ? v : NaN));
          const finite = numbers.filter((v) => Number.isFinite(v));
          const target = finite.length ? (goalMin ? Math.min(...finite) : Math.max(...finite)) : NaN;
          const best = runs.length > 1 ? numbers.indexOf(target) : -1;
          rows.push(valueRow(agg === "last" ? m.key : `${m.key} · ${agg}`, values, false, best));
        }
      }
    }
    const tags = data.tags.filter((t) => this.opts.show_all || t.differs);
    if (tags.length) {
      rows.push(section("tags"));
      rows.push(...tags.map((t) => valueRow(t.key, t.values, t.differs)));
    }
    pane.append(h("div", { class: "tbp-controls" }, h("label", {}, toggle, "show equal params too")),
      h("div", { class: "tbp-scroll" }, h("table", { class: "tbp-side" }, h("thead", {}, head), h("tbody", {}, ...rows))));
  }

  private renderCode(pane: HTMLElement, data: CompareData): void {
    if (data.runs.length !== 2) {
      pane.append(h("div", { class: "tbp-note" }, "Select exactly two runs to see their code diff."));
      return;
    }
    if (!data.code_diff) {
      pane.append(h("div", { class: "tbp-note" }, "Both runs ran the same code."));
      return;
    }
    const lines = data.code_diff.replace(/\n$/, "").split("\n").map((line) => {
      const kind = line.startsWith("+++") || line.startsWith("---") ? "tbp-file"
        : line.startsWith("@@") ? "tbp-hunk" : line.startsWith("+") ? "tbp-add"
        : line.startsWith("-") ? "tbp-del" : "";
      return h("span", { class: kind }, line || " ");
    });
    pane.append(h("pre", { class: "tbp-code" }, ...lines));
  }
}
