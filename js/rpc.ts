// Requests from the browser to the kernel over the widget's comm, answered with the same id.
// Python side: Panel._on_frontend_msg in src/trackbook/panelwidget.py. The kernel reads widget
// messages only when no cell runs, so a reply can take long: `onBusy` says when one waits.
import type { AnyModel } from "@anywidget/types";

/** The error half of a reply (see panelquery.error_reply). */
export interface RequestError {
  message: string;
  kind: string;
  /** For filter errors: where in `text` the problem is. */
  position?: number | null;
  text?: string;
}

interface Reply {
  type: "response";
  id: number;
  ok: boolean;
  data?: unknown;
  error?: RequestError;
}

export class RequestFailed extends Error {
  constructor(readonly detail: RequestError) {
    super(detail.message);
  }
}

const BUSY_AFTER_MS = 800;

export class Rpc {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private busyTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly model: AnyModel,
    private readonly onBusy: (busy: boolean) => void = () => {},
  ) {
    model.on("msg:custom", this.receive);
  }

  dispose(): void {
    this.model.off("msg:custom", this.receive);
    clearTimeout(this.busyTimer);
    for (const { reject } of this.pending.values()) reject(new Error("the view was closed"));
    this.pending.clear();
  }

  /** Ask the kernel for one of its named queries; resolves with its data, rejects on error. */
  request<T>(name: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    const answer = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.model.send({ type: "request", id, name, params });
    this.watchBusy();
    return answer;
  }

  private watchBusy(): void {
    clearTimeout(this.busyTimer);
    this.busyTimer = setTimeout(() => {
      if (this.pending.size) this.onBusy(true);
    }, BUSY_AFTER_MS);
  }

  private receive = (msg: Reply): void => {
    if (!msg || msg.type !== "response") return;
    const waiting = this.pending.get(msg.id);
    if (!waiting) return;
    this.pending.delete(msg.id);
    if (msg.ok) waiting.resolve(msg.data);
    else waiting.reject(new RequestFailed(msg.error ?? { message: "request failed", kind: "unknown" }));
    if (!this.pending.size) {
      clearTimeout(this.busyTimer);
      this.onBusy(false);
    }
  };
}
