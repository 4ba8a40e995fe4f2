// Small helpers for the page: figures and names as text, saving a file, the
// URL's backend, the screen's size.

// MiB, written "MB" as the engine guide does (~84 MB for 88,188,479 bytes).
export const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MB`;

export function duration(seconds) {
  if (!isFinite(seconds)) return "";
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

// Progress of a transfer: "12 MB of 44 MB · 5.1 MB/s · 6 s left".
export class Rate {
  constructor() {
    this.start = performance.now();
  }

  describe(loaded, total) {
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = elapsed > 0 ? loaded / elapsed : 0;
    const parts = [total ? `${mb(loaded)} of ${mb(total)}` : mb(loaded)];
    if (rate > 0 && elapsed > 0.5) {
      parts.push(`${mb(rate)}/s`);
      if (total) parts.push(`${duration((total - loaded) / rate)} left`);
    }
    return parts.join(" \u00b7 ");
  }
}

export function stem(name) {
  return (name || "").replace(/\.[^.]+$/, "") || "image";
}

// Save bytes as a file, as a user's click on a download link does.
export function saveAs(bytes, mime, filename) {
  const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ?backend=webgpu or ?backend=wasm forces a backend (benchmarks, or a bad GPU
// driver); otherwise the worker chooses.
export const backendParam = () => new URLSearchParams(location.search).get("backend") ?? "auto";

// The footer line: what runs the engines here, and how (init's reply).
export function runtimeLine(info) {
  return (
    `Python ${info.versions.python} in Pyodide ${info.versions.pyodide}, onnxruntime-web ` +
    `${info.versions["onnxruntime-web"]} on ${info.backend}` +
    (info.adapter && info.backendId === "webgpu" ? ` (${info.adapter})` : "") +
    (info.crossOriginIsolated
      ? "."
      : ". This page is not cross-origin isolated, so the engines run single-threaded (slower).") +
    (info.backendNote ? ` ${info.backendNote}` : "")
  );
}

// The longest side of this screen, in device pixels: no view shows more.
export function screenSide() {
  return Math.ceil(Math.max(screen.width, screen.height) * (devicePixelRatio || 1));
}
