// Fetch an engine's model with progress, resume it when the connection
// drops, and check its bytes. Nothing partial ever leaves this module: the
// caller gets the whole, checked file or an error.

import { WorkerError } from "../shared/protocol.js";

const TRIES = 3; // connection attempts per download (the first and two resumes)
const PAUSES = [1000, 3000]; // ms before the 2nd and 3rd attempt

const hex = (buf) =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

function refusedMessage(engine, status) {
  if (status === 401 || status === 403) {
    return (
      `The ${engine.label} engine's host refused the download (HTTP ${status}). ` +
      `Its model may require you to sign in on Hugging Face and accept its license first: ` +
      `do that, download the file (${engine.source.split("/").slice(-2).join("/")}) and import it under Storage. ` +
      `Or use another engine.`
    );
  }
  if (status === 404) {
    return `The ${engine.label} engine's file was not found at its source (HTTP 404). Use another engine, or import the file under Storage.`;
  }
  return `The ${engine.label} engine could not be downloaded (HTTP ${status}). Try again later or use another engine.`;
}

// Resolve the engine's source against the site; relative = self-hosted.
export function sourceURL(engine, base) {
  return new URL(engine.source, base).href;
}

const cancelled = (engine) => new WorkerError("cancelled", `The ${engine.label} engine's download was cancelled.`);

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    }, { once: true });
  });
}

// The bytes received so far: one buffer when the size is known (no second
// copy of ~90 MB), else a list of chunks.
class Received {
  constructor(size) {
    this.buffer = size ? new Uint8Array(size) : null;
    this.parts = [];
    this.loaded = 0;
  }

  add(chunk) {
    if (this.buffer && this.loaded + chunk.length <= this.buffer.length) this.buffer.set(chunk, this.loaded);
    else {
      if (this.buffer) this.parts.push(this.buffer.slice(0, this.loaded));
      this.buffer = null;
      this.parts.push(chunk);
    }
    this.loaded += chunk.length;
  }

  reset() {
    if (!this.buffer) this.parts = [];
    this.loaded = 0;
  }

  bytes() {
    if (this.buffer) return this.loaded === this.buffer.length ? this.buffer : this.buffer.subarray(0, this.loaded);
    const out = new Uint8Array(this.loaded);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// One download, resumed with HTTP Range requests from the bytes received when
// the connection drops (or started over if the host ignores Range), up to
// TRIES attempts. Resolves to the bytes, complete as far as the sizes known
// (the pinned one, or the host's Content-Length) can tell.
async function download(engine, url, onProgress, signal) {
  let total = engine.size ?? null;
  const got = new Received(total);
  let lastError = null;
  let answered = false; // whether the host ever answered
  for (let attempt = 1; attempt <= TRIES; attempt++) {
    if (attempt > 1) {
      onProgress(got.loaded, total, `The download was interrupted; resuming (try ${attempt} of ${TRIES})`);
      try {
        await pause(PAUSES[attempt - 2], signal);
      } catch {
        throw cancelled(engine);
      }
    }
    const headers = got.loaded > 0 ? { Range: `bytes=${got.loaded}-` } : {};
    let response;
    try {
      // no-store: the model store keeps the only copy, not the HTTP cache too.
      response = await fetch(url, { credentials: "omit", cache: "no-store", signal, headers });
    } catch (err) {
      if (signal?.aborted) throw cancelled(engine);
      lastError = err.message;
      continue;
    }
    answered = true;
    if ([401, 403, 404].includes(response.status)) throw new WorkerError("download", refusedMessage(engine, response.status));
    if (response.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
      if (!range || Number(range[1]) !== got.loaded) {
        // Not the part we asked for: start over.
        response.body?.cancel();
        got.reset();
        lastError = "the host answered with another part of the file";
        continue;
      }
      if (range[2] !== "*") total ??= Number(range[2]);
    } else if (response.ok) {
      got.reset(); // a whole file (the host ignores Range): start from its beginning
      total ??= Number(response.headers.get("content-length")) || null;
    } else if (response.status === 416) {
      got.reset();
      lastError = `HTTP ${response.status}`;
      continue;
    } else if (response.status >= 500 || response.status === 408 || response.status === 429) {
      lastError = `HTTP ${response.status}`;
      continue;
    } else {
      throw new WorkerError("download", refusedMessage(engine, response.status));
    }

    const reader = response.body.getReader();
    let broken = false;
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (err) {
        if (signal?.aborted) throw cancelled(engine);
        lastError = err.message;
        broken = true;
        break;
      }
      if (chunk.done) break;
      got.add(chunk.value);
      onProgress(got.loaded, total);
    }
    if (broken) continue;
    if (total != null && got.loaded < total) {
      lastError = `the connection closed after ${got.loaded.toLocaleString("en")} of ${total.toLocaleString("en")} bytes`;
      continue;
    }
    return got.bytes();
  }
  if (!answered) {
    // No answer at all: the network is down, or a host on another origin
    // refused without the headers that let the page read its answer.
    throw new WorkerError(
      "download",
      `The ${engine.label} engine could not be downloaded: its source could not be reached (${lastError}). ` +
        `Check the connection and try again. If the connection works, its host may require accepting the model's ` +
        `license first: download the file yourself and import it under Storage, or use another engine.`,
    );
  }
  throw new WorkerError(
    "download",
    `The ${engine.label} engine's download was interrupted (${lastError}). Check the connection and try again.`,
  );
}

// Download an engine's model and check it: the pinned size and sha256 where
// there are some. A copy that fails the check is discarded and downloaded
// again once, from the start; `onNotice` tells the user. `signal` (an
// AbortSignal) cancels. Resolves to {bytes, sha256, notices}.
export async function fetchModel(engine, base, onProgress, signal, onNotice = () => {}) {
  const url = sourceURL(engine, base);
  const notices = [];
  for (let copy = 1; copy <= 2; copy++) {
    const bytes = await download(engine, url, onProgress, signal);
    const digest = await sha256(bytes);
    const wrongSize = engine.size != null && bytes.length !== engine.size;
    if (!wrongSize && (!engine.sha256 || digest === engine.sha256)) return { bytes, sha256: digest, notices };
    if (copy === 2) {
      throw new WorkerError(
        "download",
        `The ${engine.label} engine's file failed its integrity check twice and was discarded. ` +
          `Its source may be serving a different file: try again later, or use another engine.`,
      );
    }
    onNotice(`The ${engine.label} engine's download failed its integrity check and was discarded; downloading it again`);
    notices.push(`The first download of the ${engine.label} engine failed its integrity check and was discarded; the second is complete and correct.`);
  }
  throw new Error("unreachable");
}
