// The model store: each engine's model, downloaded once, kept in IndexedDB
// across reloads and browser restarts. Only the engine worker writes it; its
// session worker (session/) also reads it, to start a stored engine early.
//
// Two object stores: "meta" (small records, listed for the storage panel) and
// "blobs" (the model bytes as a Blob, which browsers keep on disk).

const DB_NAME = "backgrone";
const DB_VERSION = 1;
const OPEN_TIMEOUT = 10_000; // ms

const request = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

const done = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new DOMException("aborted", "AbortError"));
  });

export class ModelStore {
  // Resolves to a store, or to null where IndexedDB is unavailable (some
  // private windows): the app then works without caching and says so.
  static async open() {
    try {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        req.result.createObjectStore("meta", { keyPath: "engine" });
        req.result.createObjectStore("blobs");
      };
      // Some browsers leave the request pending for ever where storage is
      // off: give up after a while rather than never start.
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("IndexedDB did not answer")), OPEN_TIMEOUT));
      return new ModelStore(await Promise.race([request(req), timeout]));
    } catch {
      return null;
    }
  }

  constructor(db) {
    this.db = db;
  }

  async list() {
    const tx = this.db.transaction("meta");
    return request(tx.objectStore("meta").getAll());
  }

  async meta(engineId) {
    const tx = this.db.transaction("meta");
    return (await request(tx.objectStore("meta").get(engineId))) ?? null;
  }

  async bytes(engineId) {
    const tx = this.db.transaction("blobs");
    const blob = await request(tx.objectStore("blobs").get(engineId));
    return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
  }

  // Meta and bytes in one transaction: a model is either stored whole or not
  // at all, never half-written and listed as complete.
  async put(engineId, bytes, record) {
    const tx = this.db.transaction(["meta", "blobs"], "readwrite");
    tx.objectStore("blobs").put(new Blob([bytes]), engineId);
    tx.objectStore("meta").put({ ...record, engine: engineId, size: bytes.length, storedAt: Date.now() });
    await done(tx);
  }

  async delete(engineId) {
    const tx = this.db.transaction(["meta", "blobs"], "readwrite");
    tx.objectStore("meta").delete(engineId);
    tx.objectStore("blobs").delete(engineId);
    await done(tx);
  }
}
