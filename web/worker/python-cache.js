// Python's start, kept: what a visit keeps in Cache Storage so that the next
// ones start Python sooner (docs/performance.md, "Python's start from a
// snapshot" and "The modules' bytecode, kept"). Two kinds:
// - "snapshot": a snapshot of a freshly started Pyodide's memory, taken
//   before any package is loaded (it cannot hold the modules numpy and Pillow
//   load dynamically), which later visits restore instead of starting Python;
// - "bytecode": the compiled modules of numpy, Pillow and Backgrone
//   (python-bytecode.js), which later visits write back before importing.
//
// They live in a cache of their own that the service worker leaves alone when
// it clears an old build's (sw/sw.js), each under the versions it was made
// from, one of each kind at a time. Each one's sha256 is checked before it is
// used; one that fails the check, or that Python cannot use, is deleted, and
// the visit makes a new one. Nothing here leaves the device, and nothing of
// the user's is in it: the snapshot is taken before any photo or engine is
// loaded, and the bytecode is compiled code only.

import { sha256 } from "./model-fetch.js";

export const PYTHON_CACHE = "backgrone-python"; // sw/sw.js keeps a cache of this name

// A cache key, never fetched: ../python-snapshot/<version>, ../python-bytecode/<version>.
const folder = (kind) => new URL(`../python-${kind}/`, import.meta.url).href;
const keyFor = (kind, version) => folder(kind) + encodeURIComponent(version);

// The stored bytes of `kind` for `version`, or null (none, unreadable, or failing its check).
export async function readKept(kind, version) {
  try {
    const cache = await caches.open(PYTHON_CACHE);
    const response = await cache.match(keyFor(kind, version));
    if (!response) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if ((await sha256(bytes)) === response.headers.get("X-Sha256")) return bytes;
    await cache.delete(keyFor(kind, version));
  } catch {
    // No Cache Storage here (some private windows): Python starts as usual.
  }
  return null;
}

// Keep `bytes` as the `kind` for `version`, in place of any other of that kind.
export async function writeKept(kind, version, bytes) {
  const cache = await caches.open(PYTHON_CACHE);
  await dropOthers(cache, kind);
  const headers = { "Content-Type": "application/octet-stream", "X-Sha256": await sha256(bytes) };
  await cache.put(keyFor(kind, version), new Response(bytes, { headers }));
}

export async function dropKept(kind) {
  try {
    await dropOthers(await caches.open(PYTHON_CACHE), kind);
  } catch {
    // nothing to drop
  }
}

async function dropOthers(cache, kind) {
  for (const request of await cache.keys()) if (request.url.startsWith(folder(kind))) await cache.delete(request);
}
