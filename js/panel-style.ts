// The panel's stylesheet: JupyterLab's CSS variables (so light and dark themes just work), with
// fallbacks for VS Code, Colab and plain pages. Everything is scoped under .tbp.
export const PANEL_CSS = `
.tbp {
  --tbp-fg: var(--jp-ui-font-color1, var(--vscode-foreground, #1f2937));
  --tbp-muted: var(--jp-ui-font-color2, #6b7280);
  --tbp-faint: var(--jp-ui-font-color3, #9ca3af);
  --tbp-bg: var(--jp-layout-color1, var(--vscode-editor-background, #fff));
  --tbp-bg2: var(--jp-layout-color2, #f3f4f6);
  --tbp-border: var(--jp-border-color2, #e5e7eb);
  --tbp-border-strong: var(--jp-border-color1, #d1d5db);
  --tbp-accent: var(--jp-brand-color1, #2563eb);
  --tbp-accent-soft: color-mix(in srgb, var(--tbp-accent) 14%, transparent);
  --tbp-error: var(--jp-error-color1, #dc2626);
  --tbp-added: color-mix(in srgb, #16a34a 16%, transparent);
  --tbp-removed: color-mix(in srgb, #dc2626 16%, transparent);
  font-family: var(--jp-ui-font-family, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  color: var(--tbp-fg);
  border: 1px solid var(--tbp-border);
  border-radius: 8px;
  background: var(--tbp-bg);
  overflow: hidden;
  max-width: 100%;
}
.tbp * { box-sizing: border-box; }
.tbp button, .tbp select, .tbp input {
  font: inherit; color: inherit;
}
.tbp-toolbar {
  display: flex; flex-wrap: wrap; gap: 8px; align-items: center;
  padding: 8px 10px; border-bottom: 1px solid var(--tbp-border); background: var(--tbp-bg2);
}
.tbp-brand { font-weight: 650; letter-spacing: .01em; margin-right: 2px; }
.tbp-filter-wrap { flex: 1 1 320px; min-width: 220px; position: relative; }
.tbp-filter {
  width: 100%; padding: 5px 9px; border: 1px solid var(--tbp-border-strong); border-radius: 6px;
  background: var(--tbp-bg); font-family: var(--jp-code-font-family, ui-monospace, monospace);
  font-size: 12px;
}
.tbp-filter:focus { outline: 2px solid var(--tbp-accent-soft); border-color: var(--tbp-accent); }
.tbp-filter.tbp-invalid { border-color: var(--tbp-error); }
.tbp-select, .tbp-btn {
  padding: 4px 9px; border: 1px solid var(--tbp-border-strong); border-radius: 6px;
  background: var(--tbp-bg); cursor: pointer; white-space: nowrap;
}
.tbp-btn:hover, .tbp-select:hover { border-color: var(--tbp-accent); }
.tbp-btn:disabled { opacity: .45; cursor: default; border-color: var(--tbp-border-strong); }
.tbp-btn.tbp-primary { background: var(--tbp-accent); border-color: var(--tbp-accent); color: #fff; }
.tbp-btn.tbp-on { background: var(--tbp-accent-soft); border-color: var(--tbp-accent); }
.tbp-filter-error {
  color: var(--tbp-error); font-size: 12px; padding: 4px 10px 6px;
  border-bottom: 1px solid var(--tbp-border); background: var(--tbp-bg2);
  font-family: var(--jp-code-font-family, ui-monospace, monospace); white-space: pre;
  overflow-x: auto;
}
.tbp-scroll { overflow-x: auto; max-height: 520px; overflow-y: auto; }
table.tbp-table { border-collapse: separate; border-spacing: 0; width: 100%; font-variant-numeric: tabular-nums; }
.tbp-table th, .tbp-table td {
  padding: 5px 10px; border-bottom: 1px solid var(--tbp-border); text-align: left;
  white-space: nowrap; max-width: 280px; overflow: hidden; text-overflow: ellipsis;
}
.tbp-table th {
  position: sticky; top: 0; z-index: 1; background: var(--tbp-bg); font-weight: 600;
  cursor: pointer; user-select: none; vertical-align: bottom;
}
.tbp-table th:hover { color: var(--tbp-accent); }
.tbp-table th .tbp-kind { display: block; font-size: 10px; font-weight: 500; color: var(--tbp-faint); text-transform: uppercase; letter-spacing: .04em; }
.tbp-table th .tbp-arrow { color: var(--tbp-accent); margin-left: 3px; }
.tbp-table td.tbp-num, .tbp-table th.tbp-num { text-align: right; }
.tbp-table tbody tr { cursor: pointer; }
.tbp-table tbody tr:hover td { background: var(--tbp-bg2); }
.tbp-table tbody tr.tbp-selected td { background: var(--tbp-accent-soft); }
.tbp-table td.tbp-check, .tbp-table th.tbp-check { width: 28px; padding-right: 0; cursor: default; }
.tbp-table td.tbp-name { font-weight: 550; max-width: 340px; }
.tbp-table .tbp-id { color: var(--tbp-faint); font-family: var(--jp-code-font-family, monospace); font-size: 11px; margin-left: 6px; font-weight: 400; }
.tbp-table .tbp-child { color: var(--tbp-faint); margin-right: 4px; }
.tbp-table td.tbp-missing { color: var(--tbp-faint); }
.tbp-badge { display: inline-flex; align-items: center; gap: 5px; font-size: 12px; }
.tbp-badge::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: var(--tbp-dot, #6b7280); }
.tbp-badge.tbp-running::before { animation: tbp-pulse 1.4s ease-in-out infinite; }
@keyframes tbp-pulse { 50% { opacity: .35; } }
.tbp-footer {
  display: flex; flex-wrap: wrap; gap: 10px; align-items: center; justify-content: space-between;
  padding: 6px 10px; color: var(--tbp-muted); font-size: 12px; background: var(--tbp-bg2);
}
.tbp-footer .tbp-group { display: flex; gap: 6px; align-items: center; }
.tbp-link { color: var(--tbp-accent); cursor: pointer; text-decoration: underline; background: none; border: none; padding: 0; }
.tbp-empty { padding: 28px 16px; text-align: center; color: var(--tbp-muted); line-height: 1.6; }
.tbp-empty code { font-family: var(--jp-code-font-family, monospace); background: var(--tbp-bg2); padding: 1px 5px; border-radius: 4px; }
.tbp-busy { color: var(--tbp-muted); font-size: 12px; font-style: italic; }
.tbp-chooser {
  position: absolute; right: 10px; top: 44px; z-index: 5; width: 360px; max-height: 420px; overflow: auto;
  background: var(--tbp-bg); border: 1px solid var(--tbp-border-strong); border-radius: 8px;
  box-shadow: 0 8px 24px rgba(0,0,0,.18); padding: 8px 10px;
}
.tbp-chooser h4 { margin: 8px 0 4px; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--tbp-muted); }
.tbp-chooser label { display: flex; gap: 6px; align-items: center; padding: 2px 0; cursor: pointer; }
.tbp-chooser .tbp-aggs { display: flex; gap: 10px; padding: 2px 0; align-items: center; }
.tbp-chooser .tbp-aggs span.tbp-key { flex: 1; overflow: hidden; text-overflow: ellipsis; }
.tbp-chooser .tbp-aggs label { font-size: 11px; color: var(--tbp-muted); }
.tbp-chooser-actions { display: flex; justify-content: space-between; border-top: 1px solid var(--tbp-border); margin-top: 8px; padding-top: 8px; }
.tbp-rel { position: relative; }
/* compare */
.tbp-compare { border-top: 1px solid var(--tbp-border); }
.tbp-compare-head { display: flex; gap: 10px; align-items: baseline; padding: 10px 12px 4px; flex-wrap: wrap; }
.tbp-compare-head h3 { margin: 0; font-size: 14px; font-weight: 650; }
.tbp-differs { color: var(--tbp-muted); font-size: 12px; }
.tbp-differs b { color: var(--tbp-fg); font-weight: 600; }
.tbp-tabs { display: flex; gap: 2px; padding: 6px 12px 0; border-bottom: 1px solid var(--tbp-border); }
.tbp-tab { padding: 6px 12px; border: none; background: none; cursor: pointer; border-bottom: 2px solid transparent; color: var(--tbp-muted); }
.tbp-tab:hover { color: var(--tbp-fg); }
.tbp-tab.tbp-active { color: var(--tbp-fg); border-bottom-color: var(--tbp-accent); font-weight: 600; }
.tbp-pane { padding: 10px 12px 14px; }
.tbp-controls { display: flex; flex-wrap: wrap; gap: 14px; align-items: center; margin-bottom: 10px; font-size: 12px; color: var(--tbp-muted); }
.tbp-controls label { display: inline-flex; gap: 6px; align-items: center; }
.tbp-controls input[type=range] { width: 110px; accent-color: var(--tbp-accent); }
.tbp-controls input[type=checkbox] { accent-color: var(--tbp-accent); }
.tbp-chart { min-height: 60px; }
.tbp-chart-error { color: var(--tbp-error); white-space: pre-wrap; font-size: 12px; }
table.tbp-side { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.tbp-side th, .tbp-side td { padding: 4px 12px 4px 0; text-align: left; border-bottom: 1px solid var(--tbp-border); white-space: nowrap; max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
.tbp-side th { font-weight: 600; }
.tbp-side td.tbp-num { text-align: right; }
.tbp-side tr.tbp-diff td.tbp-val { background: var(--tbp-accent-soft); }
.tbp-side tr.tbp-section td { font-size: 11px; text-transform: uppercase; letter-spacing: .05em; color: var(--tbp-muted); padding-top: 12px; border-bottom: none; }
.tbp-side td.tbp-best { font-weight: 700; }
pre.tbp-code { margin: 0; font-family: var(--jp-code-font-family, ui-monospace, monospace); font-size: 12px; line-height: 1.45; overflow-x: auto; border: 1px solid var(--tbp-border); border-radius: 6px; padding: 6px 0; }
pre.tbp-code span { display: block; padding: 0 10px; white-space: pre; }
pre.tbp-code .tbp-add { background: var(--tbp-added); }
pre.tbp-code .tbp-del { background: var(--tbp-removed); }
pre.tbp-code .tbp-hunk { color: var(--tbp-accent); }
pre.tbp-code .tbp-file { color: var(--tbp-muted); font-weight: 600; }
.tbp-note { color: var(--tbp-muted); font-size: 12px; margin: 6px 0; }
`;
