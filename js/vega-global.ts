// A classic-script build of vega-embed for pages with no module loader and no network: the HTML
// summary inlines static/vega-embed.js and then calls
//   trackbookVega.render(el, spec)       // themed like the page around it, trackbook's defaults
//   trackbookVega.embed(el, spec, opts)  // plain vega-embed
// (esbuild's --global-name makes these exports the properties of window.trackbookVega).
import embed, { type EmbedOptions, type Result, type VisualizationSpec } from "vega-embed";
import { styleChart, themedOptions } from "./theme";

export { embed };
export { vega, vegaLite, version } from "vega-embed";

export function render(
  el: HTMLElement | string,
  spec: VisualizationSpec,
  options: EmbedOptions = {},
): Promise<Result> {
  const target = typeof el === "string" ? document.querySelector<HTMLElement>(el) : el;
  if (!target) return Promise.reject(new Error(`no element matches ${String(el)}`));
  styleChart(target);
  return embed(target, spec, themedOptions(target, options));
}
