// The Arena's "Use ENGINE" hands its image and that engine's result to the
// app through IndexedDB (the same origin: nothing crosses the network), so
// the app adds it to its queue ready to edit, without cutting it out again.
// A record is read once and deleted; any left over (a tab closed between
// the two pages) is deleted by the next hand-over.

const DB = "backgrone-handoff";
const STORE = "results";
const STALE = 60 * 60 * 1000; // ms: older records are left-overs

function openDB() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function inStore(mode, use) {
  return openDB().then(
    (db) =>
      new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        let out;
        Promise.resolve(use(tx.objectStore(STORE))).then((v) => (out = v), reject);
        tx.oncomplete = () => {
          db.close();
          resolve(out);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error ?? new Error("the hand-over store failed"));
        };
      }),
  );
}

const request = (req) =>
  new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

// Store {name, type, bytes, engine, result}; returns the key to pass on.
export function handOver(record) {
  const key = crypto.randomUUID();
  return inStore("readwrite", (store) => {
    const cursor = store.openCursor();
    cursor.onsuccess = () => {
      const c = cursor.result;
      if (!c) return;
      if (Date.now() - c.value.at > STALE) c.delete();
      c.continue();
    };
    store.put({ ...record, at: Date.now() }, key);
  }).then(() => key);
}

// The record stored under `key`, deleted as it is read; null if there is none.
export function takeOver(key) {
  return inStore("readwrite", async (store) => {
    const record = await request(store.get(key));
    store.delete(key);
    return record ?? null;
  });
}
