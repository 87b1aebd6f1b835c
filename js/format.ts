// How values read in the panel: 3 significant digits, exponents for very small or large
// numbers, short local times. Mirrors trackbook/cardview.py's `number` for the static cards.

/** A value from the kernel: numbers, text ("nan"/"inf" for non-finite floats), bools, null. */
export type Value = number | string | boolean | null | undefined;

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const size = Math.abs(value);
  if (Number.isInteger(value) && size < 1e15) {
    return size >= 10_000 ? value.toLocaleString("en-US") : String(value);
  }
  if (size < 1e-3 || size >= 1e6) {
    // 1.00e-4 reads as 1e-4; 1.23e-4 keeps its digits
    const [mantissa, exponent] = value.toExponential(2).split("e");
    return `${mantissa.replace(/\.?0+$/, "")}e${exponent.replace("+", "")}`;
  }
  return String(Number(value.toPrecision(3)));
}

export function formatValue(value: Value): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return formatNumber(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  return value;
}

/** Full precision, for tooltips. */
export function exactValue(value: Value): string {
  if (value === null || value === undefined) return "missing";
  return String(value);
}

export function formatDuration(seconds: Value): string {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

const two = (n: number) => String(n).padStart(2, "0");

/** "14:05" today, "Nov 30 14:05" this year, "2025-11-30" before. */
export function formatTime(iso: Value): string {
  if (typeof iso !== "string") return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const now = new Date();
  const clock = `${two(when.getHours())}:${two(when.getMinutes())}`;
  if (when.toDateString() === now.toDateString()) return clock;
  if (when.getFullYear() === now.getFullYear()) {
    return `${when.toLocaleString("en-US", { month: "short" })} ${when.getDate()} ${clock}`;
  }
  return `${when.getFullYear()}-${two(when.getMonth() + 1)}-${two(when.getDate())}`;
}

export const STATUS_COLOURS: Record<string, string> = {
  running: "#2563eb",
  finished: "#16a34a",
  failed: "#dc2626",
  interrupted: "#d97706",
  crashed: "#9333ea",
  skipped: "#6b7280",
};

export function shortId(runId: string): string {
  return runId.slice(0, 8);
}
