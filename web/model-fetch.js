// Fetch an engine's model with progress, and check its bytes.

import { WorkerError } from "./protocol.js";

const hex = (buf) =>
  Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

function refusedMessage(engine, status) {
  if (status === 401 || status === 403) {
    return (
      `The ${engine.label} engine's host refused the download (HTTP ${status}). ` +
      `It may ask you to sign in and accept the model's license first. ` +
      `Use another engine, or download the file yourself and import it under Storage.`
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

// Download an engine's model. `signal` (an AbortSignal) cancels it.
export async function fetchModel(engine, base, onProgress, signal) {
  const url = sourceURL(engine, base);
  let response;
  try {
    // no-store: the model store keeps the only copy, not the HTTP cache too.
    response = await fetch(url, { credentials: "omit", cache: "no-store", signal });
  } catch (err) {
    if (signal?.aborted) throw cancelled(engine);
    throw new WorkerError(
      "download",
      `The ${engine.label} engine could not be downloaded: the network is unreachable (${err.message}).`,
    );
  }
  if (!response.ok) throw new WorkerError("download", refusedMessage(engine, response.status));

  const total = engine.size ?? (Number(response.headers.get("content-length")) || null);
  const reader = response.body.getReader();
  // With a known size, read straight into one buffer: no second copy of ~90 MB.
  let bytes = total ? new Uint8Array(total) : null;
  const parts = [];
  let loaded = 0;
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (signal?.aborted) throw cancelled(engine);
      throw new WorkerError("download", `The ${engine.label} engine's download was interrupted (${err.message}). Try again.`);
    }
    const { done, value } = chunk;
    if (done) break;
    if (bytes && loaded + value.length <= bytes.length) bytes.set(value, loaded);
    else {
      if (bytes) parts.push(bytes.subarray(0, loaded));
      bytes = null;
      parts.push(value);
    }
    loaded += value.length;
    onProgress(loaded, total);
  }
  if (!bytes) {
    bytes = new Uint8Array(loaded);
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
  }
  if (engine.size != null && loaded !== engine.size) {
    throw new WorkerError(
      "download",
      `The ${engine.label} engine's download was incomplete: ${loaded.toLocaleString("en")} of ${engine.size.toLocaleString("en")} bytes. Try again.`,
    );
  }
  const digest = await sha256(bytes);
  if (engine.sha256 && digest !== engine.sha256) {
    throw new WorkerError(
      "download",
      `The ${engine.label} engine's file failed its integrity check and was discarded. Try again.`,
    );
  }
  return { bytes: loaded === bytes.length ? bytes : bytes.subarray(0, loaded), sha256: digest };
}
