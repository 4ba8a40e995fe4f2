// The page's side of the worker boundary: one method per request, answered by
// a promise; progress messages go to the caller's onProgress, and an
// AbortSignal cancels a download.
//
// If the worker crashes (an uncaught error, or a reply saying its runtime is
// dead or out of memory), every pending call fails with code "crashed" and a
// new worker takes its place: it boots again on the next request, with a
// fresh WebAssembly memory (which never shrinks otherwise).

import { Reply, Request, WorkerError } from "../shared/protocol.js";

const RESTART = new Set(["crashed", "memory"]);

export class EngineClient {
  constructor(
    workerURL = new URL("../worker/worker.js", import.meta.url),
    sessionURL = new URL("../worker/session/session-worker.js", import.meta.url),
  ) {
    this.workerURL = workerURL;
    this.sessionURL = sessionURL;
    this.pending = new Map();
    this.nextId = 1;
    this.restarts = 0;
    this.onRestart = null; // (message) => void, set by the app
    this.initFields = null; // what init sent, for a restarted worker
    this.#start();
  }

  #start() {
    const worker = new Worker(this.workerURL, { type: "module" });
    // onnxruntime-web's own worker (worker/session/), made here beside the
    // engine worker rather than by it, so that on a first visit the service
    // worker takes both under its control alike; they talk over a
    // MessageChannel (worker/session/protocol.js). Either one dying is the
    // engine crashing: both are replaced.
    const session = new Worker(this.sessionURL, { type: "module" });
    const channel = new MessageChannel();
    session.postMessage({ type: Request.CONNECT, port: channel.port1 }, [channel.port1]);
    worker.postMessage({ type: Request.CONNECT, port: channel.port2 }, [channel.port2]);
    worker.onmessage = (event) => worker === this.worker && this.#receive(event.data);
    const crashed = (event) => {
      event.preventDefault();
      if (worker !== this.worker) return;
      this.#restart(
        `The engine stopped unexpectedly (${event.message || "an error in the engine worker"}) and was restarted. ` +
          "If it happens again, try a smaller image or the Lightweight engine, which needs the least memory.",
      );
    };
    worker.onerror = crashed;
    session.onerror = crashed;
    this.worker = worker;
    this.session = session;
  }

  // The worker is gone or unusable: fail what it held, start another.
  #restart(message, code = "crashed") {
    this.worker.terminate();
    this.session.terminate();
    this.restarts++;
    this.#failAll(message, code);
    this.#start();
    // Boot the new worker as the page asked the first one to (its backend).
    if (this.initFields) this.#call(Request.INIT, this.initFields).catch(() => {});
    this.onRestart?.(message);
  }

  #receive(msg) {
    const call = this.pending.get(msg.id);
    if (!call) return;
    if (msg.type === Reply.PROGRESS) {
      call.onProgress?.(msg);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === Reply.REPLY) call.resolve(msg.result);
    else {
      call.reject(new WorkerError(msg.code, msg.message));
      if (RESTART.has(msg.code)) this.#restart(msg.message, msg.code);
    }
  }

  #failAll(message, code = "internal") {
    for (const call of this.pending.values()) call.reject(new WorkerError(code, message));
    this.pending.clear();
  }

  #call(type, fields = {}, { onProgress, signal, transfer = [] } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener("abort", () => this.worker.postMessage({ type: Request.CANCEL, target: id }), {
        once: true,
      });
      this.worker.postMessage({ id, type, ...fields }, transfer);
    });
  }

  init(opts = {}) {
    this.initFields = { backend: opts.backend ?? "auto" };
    return this.#call(Request.INIT, { ...this.initFields, engine: opts.engine ?? null }, opts);
  }

  // Images are waiting: the worker makes no warm-up run (no reply).
  expect() {
    this.worker.postMessage({ type: Request.EXPECT });
  }

  storage() {
    return this.#call(Request.STORAGE);
  }

  downloadEngine(engine, opts) {
    return this.#call(Request.DOWNLOAD_ENGINE, { engine }, opts);
  }

  deleteEngine(engine) {
    return this.#call(Request.DELETE_ENGINE, { engine });
  }

  // `bytes` (an ArrayBuffer) is transferred: the caller's copy is emptied.
  importEngine(engine, bytes, opts = {}) {
    return this.#call(Request.IMPORT_ENGINE, { engine, bytes }, { ...opts, transfer: [bytes] });
  }

  // `copySide`: also the cutout at most that long (the reply's `copy`).
  process(engine, name, bytes, { copySide = 0, ...opts } = {}) {
    return this.#call(Request.PROCESS, { engine, name, bytes, copySide }, { ...opts, transfer: [bytes] });
  }

  // `bytes` (an ArrayBuffer) is copied, not transferred: the caller keeps it.
  convert(bytes, { reduce = false, onProgress } = {}) {
    return this.#call(Request.CONVERT, { bytes, reduce }, { onProgress });
  }

  // `mask` is a PNG, or with maskSize [w, h] raw 8-bit pixels (an edited mask).
  render({ bytes, mask, maskSize = null, options, background = null, format = "png", maxSide = null }) {
    return this.#call(Request.RENDER, { bytes, mask, maskSize, options, background, format, maxSide });
  }

  // The photo itself at most `maxSide` px long (`bytes` is copied, not transferred).
  preview(bytes, maxSide) {
    return this.#call(Request.PREVIEW, { bytes, maxSide });
  }

  // The edge-aware brush on one stroke's crop; `rgba` and `mask` are transferred.
  refineStroke({ rgba, mask, width, height, radius }) {
    return this.#call(Request.REFINE_STROKE, { rgba, mask, width, height, radius }, { transfer: [rgba, mask] });
  }

  zip(entries) {
    return this.#call(Request.ZIP, { entries });
  }

  compare(masks) {
    return this.#call(Request.COMPARE, { masks });
  }

  arenaExport({ bytes = null, columns = [], figures }) {
    return this.#call(Request.ARENA_EXPORT, { bytes, columns, figures });
  }

  terminate() {
    this.worker.terminate();
    this.session.terminate();
    this.#failAll("the engine worker was stopped");
  }
}
