// Bundles the front end into src/trackbook/static/ (run by `npm run build`, which the Python build
// runs through hatch-jupyter-builder). `node build.mjs --watch` rebuilds on change.
//
// To add a widget, add its entry to ANYWIDGET_MODULES: every anywidget module is one
// self-contained ES module, because anywidget ships `_esm` to the browser as a single string and
// cannot resolve relative imports or shared chunks.
import * as esbuild from "esbuild";

const OUT = "../src/trackbook/static";

// entry file -> output name (in OUT); ES modules loaded by anywidget
const ANYWIDGET_MODULES = {
  "chart.ts": "chart",
  "card.ts": "card",
  "panel.ts": "panel",
};

// classic scripts that define a global, for self-contained HTML files (the exported summary)
const GLOBAL_SCRIPTS = [{ entry: "vega-global.ts", out: "vega-embed", globalName: "trackbookVega" }];

const common = {
  bundle: true,
  minify: true,
  target: "es2020",
  legalComments: "none",
  logLevel: "info",
  // vega reads process.env.NODE_ENV in a few places; a browser has no `process`
  define: { "process.env.NODE_ENV": '"production"' },
};

const builds = [
  {
    ...common,
    entryPoints: Object.entries(ANYWIDGET_MODULES).map(([inp, out]) => ({ in: inp, out })),
    format: "esm",
    outdir: OUT,
  },
  ...GLOBAL_SCRIPTS.map(({ entry, out, globalName }) => ({
    ...common,
    entryPoints: [{ in: entry, out }],
    format: "iife",
    globalName,
    outdir: OUT,
  })),
];

if (process.argv.includes("--watch")) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
