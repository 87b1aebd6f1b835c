// A classic-script build of vega-embed for pages with no module loader and no network: the HTML
// summary inlines static/vega-embed.js and then calls
//   trackbookVega.render(el, spec)       // themed like the page around it, trackbook's defaults
//   trackbookVega.embed(el, spec, opts)  // plain vega-embed
// (esbuild's --global-name makes these exports the properties of window.trackbookVega).
//
// Vega compiles its expressions to JavaScript with Function by default, which a page whose
// Content-Security-Policy forbids 'unsafe-eval' (the summary's) refuses. Here they are parsed to
// an AST and run by vega-interpreter instead, so the page needs no eval at all.
import embedOriginal, { type EmbedOptions, type Result, type VisualizationSpec } from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";
import { styleChart, themedOptions } from "./theme";

export { vega, vegaLite, version } from "vega-embed";

const NO_EVAL: EmbedOptions = { ast: true, expr: expressionInterpreter };

export function embed(
  el: HTMLElement | string,
  spec: VisualizationSpec,
  options: EmbedOptions = {},
): Promise<Result> {
  return embedOriginal(el, spec, { ...options, ...NO_EVAL });
}

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
