// Shared by every page that runs the engines.

// The service worker makes the site work offline, and adds the cross-origin
// isolation headers where the host does not send them. In that case the page
// reloads once, under the worker's control, to get WASM threads.
export async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("sw.js");
  } catch {
    return; // e.g. a file:// page: works online, without offline support
  }
  if (self.crossOriginIsolated || sessionStorage.getItem("backgrone.coi-reload")) return;
  await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
  }
  sessionStorage.setItem("backgrone.coi-reload", "1");
  location.reload();
  await new Promise(() => {}); // the page is going away
}
