// The live run card under a %%track cell. Python renders the card's HTML (every user string
// escaped there, see trackbook/cardview.py) and a background thread updates it; this module only
// shows it, so the live card and the static card left when the cell ends look the same.
// Python side: trackbook.card.RunCard.
import type { RenderProps } from "@anywidget/types";

/** Mirrors the synced traitlets of `RunCard` in src/trackbook/card.py; keep them in step. */
export interface Model {
  /** The card as HTML (written by Python's feeder thread). */
  html: string;
  /** running, finished, failed, interrupted... (written by Python). */
  status: string;
}

function render({ model, el }: RenderProps<Model>): () => void {
  el.classList.add("tb-live-card");
  const show = (): void => {
    el.innerHTML = model.get("html");
    el.dataset.status = model.get("status");
  };
  show();
  model.on("change:html", show);
  model.on("change:status", show);
  return () => {
    model.off("change:html", show);
    model.off("change:status", show);
  };
}

export default { render } satisfies { render: (props: RenderProps<Model>) => () => void };
