// Charts follow the notebook's theme. The colours come from the host's CSS variables, so a chart
// looks native in JupyterLab light and dark, in VS Code, and (through the inherited text colour)
// anywhere else, including the exported summary page.
import type { Config, EmbedOptions } from "vega-embed";

export interface HostTheme {
  dark: boolean;
  config: Config;
}

// Read a CSS custom property; an element that is not in the document yet (anywidget may render
// before JupyterLab attaches the output) has no inherited variables, so read the page's instead.
function cssVar(style: CSSStyleDeclaration, ...names: string[]): string {
  for (const name of names) {
    const value = style.getPropertyValue(name).trim();
    if (value) return value;
  }
  return "";
}

// getComputedStyle reports colours as rgb()/rgba(); parse that form only, which is all we need to
// derive a translucent grid colour and to tell dark from light.
function parseRgb(color: string): [number, number, number, number] | undefined {
  const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:[,\s/]+([\d.]+%?))?\s*\)/.exec(color);
  if (!m) return undefined;
  const alpha = m[4] === undefined ? 1 : m[4].endsWith("%") ? parseFloat(m[4]) / 100 : Number(m[4]);
  return [Number(m[1]), Number(m[2]), Number(m[3]), alpha];
}

/** `color` made `alpha` times as opaque as it is. */
function withAlpha(color: string, alpha: number): string {
  const rgb = parseRgb(color);
  return rgb ? `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${+(rgb[3] * alpha).toFixed(3)})` : color;
}

// Resolve any CSS colour (hex, named, var-expanded) to rgb() through the browser itself.
function resolveColor(color: string, scope: HTMLElement): string {
  if (!color) return "";
  const probe = document.createElement("span");
  probe.style.color = color;
  probe.style.display = "none";
  scope.appendChild(probe);
  const resolved = getComputedStyle(probe).color;
  probe.remove();
  return resolved;
}

function luminance(color: string): number | undefined {
  const rgb = parseRgb(color);
  if (!rgb) return undefined;
  const [r, g, b] = rgb;
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

function isDark(background: string, foreground: string): boolean {
  const jpLight = document.body?.dataset.jpThemeLight;
  if (jpLight !== undefined) return jpLight === "false";
  const bg = luminance(background);
  const bgAlpha = parseRgb(background)?.[3] ?? 0;
  if (bg !== undefined && bgAlpha > 0.5) return bg < 0.5;
  const fg = luminance(foreground);
  if (fg !== undefined) return fg > 0.5;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
}

/** The host's colours and fonts as a Vega(-Lite) config; the spec's own config still wins. */
export function hostTheme(el: HTMLElement): HostTheme {
  const scope = el.isConnected ? el : document.body ?? document.documentElement;
  const style = getComputedStyle(scope);
  const text = resolveColor(
    cssVar(style, "--jp-ui-font-color1", "--vscode-editor-foreground", "--vscode-foreground") ||
      style.color,
    scope,
  );
  const muted = resolveColor(cssVar(style, "--jp-ui-font-color2"), scope) || withAlpha(text, 0.7);
  const border = resolveColor(cssVar(style, "--jp-border-color2"), scope) || withAlpha(text, 0.2);
  const background = resolveColor(
    cssVar(style, "--jp-layout-color0", "--vscode-editor-background"),
    scope,
  );
  const font =
    cssVar(style, "--jp-ui-font-family", "--vscode-font-family") ||
    style.fontFamily ||
    "sans-serif";
  const guide = { labelColor: muted, titleColor: text, labelFont: font, titleFont: font };
  const config = {
    background: "transparent",
    font,
    title: { color: text, subtitleColor: muted, fontSize: 13, fontWeight: 600 },
    axis: {
      ...guide,
      domainColor: border,
      tickColor: border,
      gridColor: withAlpha(border, 0.8),
      labelFontSize: 11,
      titleFontSize: 11,
      titleFontWeight: 600,
    },
    legend: { ...guide, labelFontSize: 11, titleFontSize: 11 },
    header: { ...guide, labelFontSize: 11, titleFontSize: 12 },
    view: { stroke: border },
    text: { color: text },
    rule: { color: muted },
  } as Config;
  return { dark: isDark(background, text), config };
}

/**
 * Calls `onChange` when the host switches theme (JupyterLab sets data attributes on <body>,
 * VS Code swaps body classes, a browser page follows prefers-color-scheme). Returns a disposer.
 */
export function watchHostTheme(onChange: () => void): () => void {
  // A theme switch changes the attribute before or after the new CSS lands depending on the
  // host, so look again a little later; callers compare and redraw only on a real change.
  const check = () => {
    requestAnimationFrame(onChange);
    setTimeout(onChange, 400);
  };
  const observer = new MutationObserver(check);
  if (document.body) {
    observer.observe(document.body, {
      attributes: true,
      attributeFilter: ["data-jp-theme-name", "data-jp-theme-light", "class"],
    });
  }
  const media = window.matchMedia?.("(prefers-color-scheme: dark)");
  media?.addEventListener("change", check);
  return () => {
    observer.disconnect();
    media?.removeEventListener("change", check);
  };
}

/** trackbook's embed defaults plus the host theme; options the caller gives win. */
export function themedOptions(el: HTMLElement, user: EmbedOptions = {}): EmbedOptions {
  const theme = hostTheme(el);
  return {
    // Export as PNG/SVG works offline; "view source" and "open in editor" lead out of the notebook.
    actions: { export: true, source: false, compiled: false, editor: false },
    tooltip: { theme: theme.dark ? "dark" : "light" },
    // A named vega theme or an explicit config from the user replaces the host look as a whole,
    // which is what Altair users mean by setting one.
    ...(user.theme || user.config ? {} : { config: theme.config }),
    ...user,
  };
}

// vega-embed's actions menu ("..." → Save as SVG/PNG) is styled white-on-white for light pages;
// these rules give it the host's colours. Scoped to .tb-chart, so other vega outputs are untouched.
const ACTIONS_CSS = `
.tb-chart.vega-embed summary {
  background: var(--jp-layout-color1, transparent);
  color: var(--jp-ui-font-color1, currentColor);
  border-color: var(--jp-border-color1, #aaa);
}
.tb-chart.vega-embed .vega-actions {
  background: var(--jp-layout-color1, Canvas);
  color: var(--jp-ui-font-color1, CanvasText);
  border-color: var(--jp-border-color2, #d9d9d9);
}
.tb-chart.vega-embed .vega-actions a {
  color: var(--jp-ui-font-color1, CanvasText);
  font-family: var(--jp-ui-font-family, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  font-weight: 500;
}
.tb-chart.vega-embed .vega-actions a:hover,
.tb-chart.vega-embed .vega-actions a:focus {
  background-color: var(--jp-layout-color2, #f7f7f9);
  color: var(--jp-ui-font-color0, CanvasText);
}
.tb-chart.vega-embed .vega-actions::before { border-bottom-color: var(--jp-border-color2, #d9d9d9); }
.tb-chart.vega-embed .vega-actions::after { border-bottom-color: var(--jp-layout-color1, Canvas); }
`;

/** Marks `el` as a trackbook chart and adds the shared stylesheet to its document once. */
export function styleChart(el: HTMLElement): void {
  el.classList.add("tb-chart");
  const doc = el.ownerDocument;
  if (doc.getElementById("trackbook-chart-style")) return;
  const style = doc.createElement("style");
  style.id = "trackbook-chart-style";
  style.textContent = ACTIONS_CSS;
  doc.head.appendChild(style);
}
