// The message protocol between the page and the engine worker.
//
// Every request the page sends carries a numeric `id`; the worker answers it
// with exactly one `reply` or `error`, and may send any number of `progress`
// messages with the same id before that. Requests run one at a time, in
// order, except `cancel`, which acts at once.
//
// Requests (page -> worker):
//   init {backend, engine}                boot Pyodide, numpy, Pillow, backgrone, onnxruntime-web;
//                                         backend "auto" (default), "webgpu" or "wasm" (forced);
//                                         engine: the one the page expects to run first, started
//                                         while Python boots if it is stored (or null), then made
//                                         to run once on a blank input unless an image is waiting
//       reply: {threads, backend, backendId, requestedBackend, adapter, backendNote,
//               crossOriginIsolated, python, bytecode, versions, storage}
//       python: "snapshot" when Python was restored from the snapshot a previous visit kept
//       (worker/python-cache.js), "fresh" when it started anew (and keeps one now);
//       bytecode: how many compiled modules a previous visit kept were written back
//       (worker/python-bytecode.js; 0: none, and this visit keeps them after its first cutout);
//       backend: the label of the backend engines start on, "WebGPU" or "WASM, N threads";
//       backendId "webgpu" | "wasm"; adapter: the WebGPU adapter's description, or null;
//       backendNote: why WebGPU is not used where it was asked for or chosen, or null
//   storage                               what the model store holds
//       reply: {available, stored: [{engine, size, sha256, source, storedAt}], usage, quota, persisted}
//   downloadEngine {engine}               download and store a model, if not stored yet
//       reply: {engine, warning}
//   deleteEngine {engine}                 remove a model from the store; reply: storage
//   importEngine {engine, bytes}          check a local .onnx file (checksum where pinned,
//                                         input/output shapes) and store it
//       reply: {engine, input, output, sha256, warning}
//   loadEngine {engine}                   start an engine's session (downloading if needed)
//       reply: {engine, backend, note, warning, ...}; backend as in init's reply, but what
//       the session really runs on: when WebGPU cannot create or run an engine it runs on
//       WASM, and `note` (also in the next `process` reply's `warning`) says so
//   process {engine, name, bytes, copySide}  cut out one image; `bytes` is transferred
//       reply: {png, mask, rawMask, copy, width, height, format, notes, timings, engineStart,
//              memory, memoryParts, backend, warning}
//       png: the cutout with refined edges and decontaminated colours (the defaults); mask: the
//       mask shown (refined, PNG); rawMask: the engine's own mask stretched to the photo (PNG);
//       copy: with copySide, the cutout at most that long on its longer side (PNG; null when
//       it is no longer): the Arena's screen-size view of it;
//       timings: seconds per stage (refine and decontaminate among them); engineStart: seconds spent reading, checking and starting
//       the engine for this image (0 when it was already running); memory: bytes of the
//       WebAssembly memories of this worker (Python's) and its session worker (onnxruntime's,
//       as of this image's run), their peak so far;
//       memoryParts: {python, onnxruntime}, the same in two
//   convert {bytes, reduce}                a file the engines cannot take as it is, as a PNG
//                                         they can, for the page to keep in its place: a
//                                         HEIC/HEIF photo (decoded with libheif in a worker of
//                                         its own, upright, its ICC profile kept), or with
//                                         `reduce` an image over the size limit scaled to fit
//       reply: {bytes (PNG), width, height, format, notes}
//   render {bytes, mask, maskSize, options, background, format, maxSide}
//       compose the photo and its mask: options {background: transparent|color|blur|image,
//       color, blur, crop, margin, decontaminate}; decontaminate: true for the subject's own
//       colours under its soft edges; format png|webp|jpeg|mask; maxSide scales down (previews)
//       mask: the one to show (the page chooses refined or raw, edited or not), as a greyscale
//       PNG, or, with maskSize [width, height], its raw 8-bit pixels row by row (the touch-up
//       editor's edited mask: no PNG encoding on the page)
//       reply: {bytes, mime}
//   preview {bytes, maxSide}              the photo itself at most maxSide px on its longer side
//       (low-memory mode's view of it; the Arena's screen-size copies of its views), decoded at
//       a reduced size where the format allows
//       reply: {bytes, mime}
//   refineStroke {rgba, mask, width, height, radius}
//       the editor's edge-aware brush (py/backgrone/edgebrush.py) on a crop around one
//       stroke: rgba the photo's pixels (4 bytes each), mask the crop's mask with the stroke
//       painted plainly (1 byte each), radius the brush's radius in pixels
//       reply: {mask}: the crop's mask made to follow the photo's edges (1 byte each)
//   zip {entries: [{name, bytes}]}        one ZIP of the given files; reply: {bytes}
//   compare {masks: [{engine, mask}]}    the Arena's figures for mask PNGs of one image
//       reply: {pairs: [{a, b, iou, mad}], consensus (mask PNG), heat: {engine|"consensus": PNG}}
//       heat: each engine's disagreement with the others' mean, as a palette PNG whose
//       indices are the values; the consensus's is the spread of all masks
//   arenaExport {bytes, columns: [{title, mask, lines}], figures}
//       the side-by-side picture (omitted when bytes is null) and the figures as CSV and JSON
//       reply: {png, csv, json}
//   cancel {target}                       abort the download of request `target`
//   connect {port}                        the page's first message: a MessagePort to the session
//                                         worker (worker/session/), which the page makes beside this
//                                         one and sends the other end of the channel. No reply
//   expect {}                             images are waiting (sent as they are added, before
//                                         init's reply): the worker makes no warm-up run of the
//                                         early-started engine. Acts at once; no reply
//
// Worker -> page:
//   {id, type: "progress", stage, message, ...}
//       stage "boot" {step, steps} | "download" {engine, loaded, total} | "session" | "image"
//       boot steps: 1 Pyodide with numpy, Pillow and Backgrone's wheel, 2 Backgrone imported,
//       3 onnxruntime-web (loaded in the session worker, see worker/session/protocol.js)
//   {id, type: "reply", result}
//   {id, type: "error", code, message}
//       code "bad-image" / "bad-model" / "bad-options": the user's input; "unsupported-format":
//       an image Pillow cannot decode here (the page may decode it itself); "too-large": an
//       image over the size limit that `convert` with `reduce` can scale down; "download": the
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
  CONVERT: "convert",
  RENDER: "render",
  PREVIEW: "preview",
  REFINE_STROKE: "refineStroke",
  ZIP: "zip",
  COMPARE: "compare",
  ARENA_EXPORT: "arenaExport",
  CANCEL: "cancel",
  EXPECT: "expect",
  CONNECT: "connect",
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
