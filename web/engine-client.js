// The page's side of the worker boundary: one method per request, answered by
// a promise; progress messages go to the caller's onProgress, and an
// AbortSignal cancels a download.

import { Reply, Request, WorkerError } from "./protocol.js";

export class EngineClient {
  constructor(workerURL = new URL("./worker.js", import.meta.url)) {
    this.worker = new Worker(workerURL, { type: "module" });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = (event) => this.#receive(event.data);
    this.worker.onerror = (event) => this.#failAll(event.message || "the engine worker stopped");
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
    else call.reject(new WorkerError(msg.code, msg.message));
  }

  #failAll(message) {
    for (const call of this.pending.values()) call.reject(new WorkerError("internal", message));
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
    return this.#call(Request.INIT, { backend: opts.backend ?? "auto", engine: opts.engine ?? null }, opts);
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

  process(engine, name, bytes, opts = {}) {
    return this.#call(Request.PROCESS, { engine, name, bytes }, { ...opts, transfer: [bytes] });
  }

  render({ bytes, mask, options, background = null, format = "png", maxSide = null }) {
    return this.#call(Request.RENDER, { bytes, mask, options, background, format, maxSide });
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
    this.#failAll("the engine worker was stopped");
  }
}
