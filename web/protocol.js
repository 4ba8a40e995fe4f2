// The message protocol between the page and the engine worker.
//
// Every request the page sends carries a numeric `id`; the worker answers it
// with exactly one `reply` or `error`, and may send any number of `progress`
// messages with the same id before that. Requests run one at a time, in order.
//
// Requests (page -> worker):
//   {id, type: "init"}
//       boot Pyodide, numpy, Pillow, the backgrone package and onnxruntime-web.
//       reply: {threads, crossOriginIsolated, versions}
//   {id, type: "loadEngine", engine}
//       fetch the engine's model (with progress), check it, create its session.
//       reply: {engine, input, output, bytes, sha256, sessionSeconds}
//   {id, type: "process", engine, name, bytes: ArrayBuffer}
//       cut out one image with a loaded engine; `bytes` is transferred.
//       reply: {png: ArrayBuffer, width, height, format, notes, timings}
//
// Worker -> page:
//   {id, type: "progress", stage, message, loaded?, total?}
//       stage: "boot" | "download" | "session" | "image"
//   {id, type: "reply", result}
//   {id, type: "error", code, message}
//       code "bad-image" / "bad-model": the user's input; "download": the
//       engine's source refused or failed; "internal": a bug, with its text.

export const Request = Object.freeze({
  INIT: "init",
  LOAD_ENGINE: "loadEngine",
  PROCESS: "process",
});

export const Reply = Object.freeze({
  PROGRESS: "progress",
  REPLY: "reply",
  ERROR: "error",
});

// An error with a code the page can act on, carried across the boundary.
export class WorkerError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
