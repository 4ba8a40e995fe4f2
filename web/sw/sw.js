// The service worker: the app shell and the runtime (Pyodide, the numpy and
// Pillow wheels, onnxruntime-web, the backgrone wheel) are precached, so the
// site works offline after the first visit. onnxruntime-web's WebGPU runtime
// (27 MB) is precached only where the browser offers a WebGPU adapter: on
// other browsers it could never run. Models are not cached here: they live in
// IndexedDB (model-store.js).
//
// It also adds the cross-origin isolation headers to what it serves, so WASM
// threads work on static hosts that cannot send COOP/COEP themselves, and the
// Content-Security-Policy: the pages carry it as a <meta> tag, but the engine
// worker takes its policy from its own response's headers, which only this
// service worker can give it on such hosts.

const VERSION = "__BUILD_VERSION__"; // stamped by build.py from the files' contents
const CSP = "__CSP__"; // stamped by build.py: the site's one policy
const CACHE = `backgrone-${VERSION}`;
const scope = new URL(self.registration.scope);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const manifest = await (await fetch("precache.json", { cache: "no-store" })).json();
      const adapter = await self.navigator.gpu?.requestAdapter().catch(() => null);
      const files = adapter ? [...manifest.files, ...manifest.webgpu] : manifest.files;
      const cache = await caches.open(CACHE);
      // no-store: fill the cache from the server, not from an older HTTP cache entry.
      await cache.addAll(files.map((f) => new Request(f, { cache: "no-store" })));
      // No skipWaiting(): a new build takes over once no page runs the old
      // one, so an open page never has its runtime swapped under it.
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // backgrone-python: what the engine worker keeps of Python's start
      // (worker/python-cache.js), under versions of its own.
      for (const key of await caches.keys()) {
        if (key.startsWith("backgrone-") && key !== CACHE && key !== "backgrone-python") await caches.delete(key);
      }
      await self.clients.claim();
    })(),
  );
});

function isolated(response) {
  if (response.type === "opaque" || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  if (!headers.has("Content-Security-Policy")) headers.set("Content-Security-Policy", CSP);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

// Only pages and workers take their isolation and policy from their own
// response; every other file is same-origin, which needs no header here.
const needsHeaders = (request) =>
  request.mode === "navigate" || ["document", "worker", "sharedworker"].includes(request.destination);

async function respond(request) {
  const cache = await caches.open(CACHE);
  const cached =
    (await cache.match(request, { ignoreSearch: true })) ??
    (request.mode === "navigate" && new URL(request.url).pathname === scope.pathname
      ? await cache.match("./")
      : undefined);
  // The cached response itself where no header is needed: a new Response
  // made from its body has no cache entry behind it, and without one the
  // browser cannot keep the code it compiled from a WebAssembly file (V8's
  // code cache), so every visit would compile onnxruntime-web's and
  // Pyodide's WASM again and pay its optimisation during the first run.
  if (cached && !needsHeaders(request)) return cached;
  return isolated(cached ?? (await fetch(request)));
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  // Engine sources on other hosts, and the models (kept in IndexedDB), go to
  // the network untouched.
  if (request.method !== "GET" || url.origin !== scope.origin) return;
  if (url.pathname.startsWith(`${scope.pathname}models/`)) return;
  event.respondWith(respond(request));
});
