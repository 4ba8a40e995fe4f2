// Python's start, kept: a snapshot of a freshly started Pyodide (its memory,
// taken before any package is loaded: a snapshot cannot hold the compiled
// modules numpy and Pillow load), which later visits restore instead of
// starting Python again, a second or so sooner (docs/performance.md,
// "Python's start from a snapshot"). The engine worker makes it during a boot
// that found none.
//
// It is kept in Cache Storage, in a cache of its own that the service worker
// leaves alone when it clears an old build's (sw/sw.js), under the Pyodide
// version it was made with (Pyodide also refuses a snapshot of another build).
// Its sha256 is checked before it is used; one that fails the check or its
// restore is deleted, and the next boot makes a new one. Nothing here leaves
// the device.

import { sha256 } from "./model-fetch.js";

export const SNAPSHOT_CACHE = "backgrone-python"; // sw/sw.js keeps a cache of this name

// A cache key, never fetched.
const keyFor = (version) => new URL(`../python-snapshot/${encodeURIComponent(version)}`, import.meta.url).href;

// The stored snapshot's bytes, or null (none, unreadable, or failing its check).
export async function readSnapshot(version) {
  try {
    const cache = await caches.open(SNAPSHOT_CACHE);
    const response = await cache.match(keyFor(version));
    if (!response) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if ((await sha256(bytes)) === response.headers.get("X-Sha256")) return bytes;
    await cache.delete(keyFor(version));
  } catch {
    // No Cache Storage here (some private windows): Python starts as usual.
  }
  return null;
}

// Keep `bytes` as the snapshot for `version`, in place of any other.
export async function writeSnapshot(version, bytes) {
  const cache = await caches.open(SNAPSHOT_CACHE);
  for (const request of await cache.keys()) await cache.delete(request);
  const headers = { "Content-Type": "application/octet-stream", "X-Sha256": await sha256(bytes) };
  await cache.put(keyFor(version), new Response(bytes, { headers }));
}

export async function dropSnapshot() {
  try {
    await caches.delete(SNAPSHOT_CACHE);
  } catch {
    // nothing to drop
  }
}
