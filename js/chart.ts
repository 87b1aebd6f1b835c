// The chart widget: draws a Vega-Lite (or Vega) spec with vega-embed, bundled in, so charts
// render with no network. Python side: trackbook.widget.ChartWidget.
import type { AnyModel, RenderProps } from "@anywidget/types";
import embed, { type EmbedOptions, type Result, type VisualizationSpec } from "vega-embed";
import { styleChart, themedOptions, watchHostTheme } from "./theme";

/** Mirrors the synced traitlets of `ChartWidget` in src/trackbook/widget.py; keep them in step. */
export interface Model {
  /** The Vega-Lite or Vega spec (written by Python). */
  spec: VisualizationSpec;
  /** vega-embed options, e.g. Altair's `embed_options` (written by Python). */
  embed_options: EmbedOptions;
}

function showError(el: HTMLElement, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const box = document.createElement("pre");
  box.className = "tb-chart-error";
  box.style.color = "var(--jp-error-color1, #d32f2f)";
  box.style.whiteSpace = "pre-wrap";
  box.textContent = `trackbook could not draw this chart: ${message}`;
  el.replaceChildren(box);
  console.error("trackbook chart:", err);
}

class ChartView {
  private result: Result | undefined;
  private drawn = "";
  // Draws run one after another: vega-embed empties the element it draws into, so two
  // overlapping draws would interleave their DOM.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly model: AnyModel<Model>,
    private readonly el: HTMLElement,
  ) {}

  /** Redraws when the spec, the options or (with force=false) the resolved theme changed. */
  update = (force = true): void => {
    this.queue = this.queue.then(() => this.draw(force));
  };

  private async draw(force: boolean): Promise<void> {
    const spec = this.model.get("spec");
    const options = themedOptions(this.el, this.model.get("embed_options") ?? {});
    const key = JSON.stringify(options);
    if (!force && key === this.drawn) return;
    this.drawn = key;
    this.finalize();
    if (!spec || Object.keys(spec).length === 0) {
      this.el.replaceChildren();
      return;
    }
    try {
      this.result = await embed(this.el, spec, options);
    } catch (err) {
      showError(this.el, err);
    }
  }

  finalize(): void {
    this.result?.finalize();
    this.result = undefined;
  }
}

function render({ model, el }: RenderProps<Model>): () => void {
  styleChart(el);
  const view = new ChartView(model, el);
  const redraw = () => view.update(true);
  const themeChanged = () => view.update(false);
  model.on("change:spec", redraw);
  model.on("change:embed_options", redraw);
  const unwatch = watchHostTheme(themeChanged);
  view.update(true);
  return () => {
    model.off("change:spec", redraw);
    model.off("change:embed_options", redraw);
    unwatch();
    view.finalize();
  };
}

export default { render };
