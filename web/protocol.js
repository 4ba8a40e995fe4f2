// The message protocol between the page and the engine worker.
//
// Every request the page sends carries a numeric `id`; the worker answers it
// with exactly one `reply` or `error`, and may send any number of `progress`
// messages with the same id before that. Requests run one at a time, in
// order, except `cancel`, which acts at once.
//
// Requests (page -> worker):
//   init                                  boot Pyodide, numpy, Pillow, backgrone, onnxruntime-web
//       reply: {threads, crossOriginIsolated, versions, storage}
//   storage                               what the model store holds
//       reply: {available, stored: [{engine, size, sha256, source, storedAt}], usage, quota, persisted}
//   downloadEngine {engine}               download and store a model, if not stored yet
//       reply: {engine, warning}
//   deleteEngine {engine}                 remove a model from the store; reply: storage
//   importEngine {engine, bytes}          check a local .onnx file (checksum where pinned,
//                                         input/output shapes) and store it
//       reply: {engine, input, output, sha256, warning}
//   loadEngine {engine}                   start an engine's session (downloading if needed)
//   process {engine, name, bytes}         cut out one image; `bytes` is transferred
//       reply: {png, mask, width, height, format, notes, timings, warning}
//   render {bytes, mask, options, background, format, maxSide}
//       compose the photo and its mask: options {background: transparent|color|blur|image,
//       color, blur, crop, margin}; format png|webp|jpeg|mask; maxSide scales down (previews)
//       reply: {bytes, mime}
//   zip {entries: [{name, bytes}]}        one ZIP of the given files; reply: {bytes}
//   cancel {target}                       abort the download of request `target`
//
// Worker -> page:
//   {id, type: "progress", stage, message, ...}
//       stage "boot" {step, steps} | "download" {engine, loaded, total} | "session" | "image"
//   {id, type: "reply", result}
//   {id, type: "error", code, message}
//       code "bad-image" / "bad-model" / "bad-options": the user's input; "unsupported-format":
//       an image Pillow cannot decode here (the page may decode it itself); "download": the
//       engine's source refused or failed; "cancelled"; "memory": out of memory, and
//       "crashed": the runtime can no longer run (for both the page starts a new worker);
//       "internal": a bug, with its text.

export const Request = Object.freeze({
  INIT: "init",
  STORAGE: "storage",
  DOWNLOAD_ENGINE: "downloadEngine",
  DELETE_ENGINE: "deleteEngine",
  IMPORT_ENGINE: "importEngine",
  LOAD_ENGINE: "loadEngine",
  PROCESS: "process",
  RENDER: "render",
  ZIP: "zip",
  CANCEL: "cancel",
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
