// The engine worker's side of the session worker: one method per request of
// protocol.js, answered by a promise, and `remote`, the object Python's
// WebSession calls (py/backgrone/inference/web.py). If the session worker
// dies, the page sees it and replaces both workers (client/engine-client.js).

import { SessionReply, SessionRequest } from "./protocol.js";

export class SessionError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.code = code;
    Object.assign(this, extra);
  }
}

export class SessionClient {
  // `port`: the engine worker's end of the channel to the session worker (the
  // page makes both workers and the channel, see client/engine-client.js).
  constructor(port) {
    this.port = port;
    this.pending = new Map();
    this.nextId = 1;
    this.memory = 0; // the session worker's WebAssembly memories, as its last run reported
    this.port.onmessage = (event) => this.#receive(event.data);
  }

  #receive(msg) {
    const call = this.pending.get(msg.id);
    if (!call) return;
    this.pending.delete(msg.id);
    if (msg.type === SessionReply.REPLY) call.resolve(msg.result);
    else call.reject(new SessionError(msg.code, msg.message, msg.bytes ? { bytes: msg.bytes } : {}));
  }

  #call(type, fields = {}, transfer = []) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ id, type, ...fields }, transfer);
    });
  }

  start(backend, threads) {
    return this.#call(SessionRequest.START, { backend, threads });
  }

  // `bytes` (a Uint8Array), when given, is transferred: the caller's copy is emptied.
  open(engine, backends, { bytes = null, warmUp = false } = {}) {
    const { id, label, size, sha256 } = engine;
    const fields = { engine: { id, label, size, sha256: sha256 ?? null }, backends, warmUp };
    if (bytes) fields.bytes = bytes;
    return this.#call(SessionRequest.OPEN, fields, bytes ? [bytes.buffer] : []);
  }

  expect() {
    this.port.postMessage({ type: SessionRequest.EXPECT });
  }

  release() {
    return this.#call(SessionRequest.RELEASE);
  }

  // For Python: run(input Float32Array, dims) -> {output, dims, seconds};
  // the input is transferred.
  get remote() {
    return {
      run: async (input, dims) => {
        const r = await this.#call(SessionRequest.RUN, { input, dims: Array.from(dims) }, [input.buffer]);
        this.memory = r.memory;
        return r;
      },
      release: () => this.release(),
    };
  }
}
