// The queue: images in (drop anywhere, pick, paste, samples), cut out one
// after another; each has a status, can be removed or cancelled, and fails
// alone. Each image is cut out by the engine chosen when it was added (shown
// in its status), so switching engines never changes an image under way.

import { browserDecode, prepare, scaledBlob } from "./decode.js";

const $ = (sel, root = document) => root.querySelector(sel);
// Thumbnails are made at this side, in device pixels: a 12 MP photo's full
// bitmap behind a 48 px thumbnail would cost 48 MB.
const THUMB_SIDE = 160;
let thumbs = Promise.resolve(); // thumbnails are made one after another

let nextId = 1;

export class Queue {
  constructor({ client, engines, setStatus, onProgress, onSelect, onChange }) {
    this.client = client;
    this.engines = engines; // EnginePanel
    this.setStatus = setStatus;
    this.onProgress = onProgress;
    this.onSelect = onSelect;
    this.onChange = onChange;
    this.items = [];
    this.running = null; // the item being cut out
    this.started = false; // the worker has booted and the default engine is settled
    // A crash fails the image under way (with the message); the queue goes on
    // with a new worker. Said here too, for a crash between images.
    client.onRestart = (message) => this.setStatus(message);
  }

  // Set by the app: resolves when the worker has booted.
  set ready(promise) {
    this.readyPromise = promise;
    promise?.then(() => (this.started = true), () => {});
  }

  get ready() {
    return this.readyPromise;
  }

  add(files) {
    const added = [];
    for (const file of files) {
      // Before the worker has started, the default engine is provisional: such
      // an item takes the engine selected when its turn comes.
      const engine = this.started ? this.engines.selected : null;
      const item = { id: nextId++, file, name: file.name || "pasted image", engine, state: "waiting", controller: null };
      item.el = this.#render(item);
      this.items.push(item);
      added.push(item);
    }
    // Before the worker has started it may warm its engine up: not now.
    if (!this.started && added.length) this.client.expect();
    this.onChange();
    this.#pump();
    return added;
  }

  // An image already cut out (the Arena's "Use"): in the queue as done,
  // with the result it came with.
  addResult(file, engine, result) {
    const item = { id: nextId++, file, name: file.name || "image", engine, state: "done", result, controller: null };
    item.el = this.#render(item);
    this.items.push(item);
    this.onChange();
    this.onSelect(item);
    return item;
  }

  #render(item) {
    const li = $("#queue-template").content.firstElementChild.cloneNode(true);
    li.dataset.id = item.id;
    $(".item-name", li).textContent = item.name;
    item.el = li;
    this.#thumb(item);
    $(".item-reduce", li).addEventListener("click", () => this.reduce(item));
    $(".item-open", li).addEventListener("click", () => item.state === "done" && this.onSelect(item));
    $(".item-remove", li).addEventListener("click", () => this.remove(item));
    $("#queue").append(li);
    this.#show(item);
    return li;
  }

  async #thumb(item) {
    const thumb = $(".thumb", item.el);
    const file = item.file;
    // One at a time: each decodes its photo in full for a moment. A HEIC
    // photo before it is decoded has none.
    const made = (thumbs = thumbs.then(() => scaledBlob(file, THUMB_SIDE).then((b) => URL.createObjectURL(b), () => null)));
    const url = await made;
    if (item.file !== file) return url && URL.revokeObjectURL(url);
    if (thumb.src) URL.revokeObjectURL(thumb.src);
    if (url) thumb.src = url;
    else thumb.removeAttribute("src");
  }

  #show(item, detail = "") {
    const li = item.el ?? $(`#queue [data-id="${item.id}"]`);
    if (!li) return;
    li.dataset.state = item.state;
    const words = {
      waiting: "Waiting",
      working: "Working",
      done: "Done",
      failed: "Failed",
      cancelled: "Cancelled",
    };
    const label = item.engine ? this.engines.label(item.engine) : "";
    const notes = item.state === "done" && item.result?.notes?.length ? ` \u00b7 ${item.result.notes.join(" ")}` : "";
    $(".item-state", li).textContent =
      (detail || words[item.state]) + (label && item.state !== "failed" ? ` \u00b7 ${label}` : "") + notes;
    $(".item-error", li).textContent = item.state === "failed" ? item.error : "";
    $(".item-reduce", li).hidden = !(item.state === "failed" && item.reducible);
    $(".item-remove", li).textContent = item.state === "working" ? "Cancel" : "Remove";
    $(".item-open", li).disabled = item.state !== "done";
  }

  // Remove an item. The running one is cancelled first: its download stops
  // at once; an inference under way finishes in the worker and is discarded,
  // and the next image starts after it.
  remove(item) {
    if (item.state === "working") {
      item.state = "cancelled";
      item.controller?.abort();
      this.setStatus(`Cancelled: ${item.name}`);
    }
    this.items = this.items.filter((i) => i !== item);
    const thumb = $(".thumb", item.el).getAttribute("src");
    if (thumb) URL.revokeObjectURL(thumb);
    item.el.remove();
    this.onChange(item);
  }

  done() {
    return this.items.filter((i) => i.state === "done");
  }

  async #pump() {
    if (this.running) return;
    const item = this.items.find((i) => i.state === "waiting");
    if (!item) return;
    this.running = item;
    try {
      await this.#cutOut(item);
    } finally {
      this.running = null;
      this.onChange();
      this.#pump();
    }
  }

  async #cutOut(item) {
    item.state = "working";
    this.#show(item);
    try {
      await this.ready;
    } catch {
      return this.#fail(item, "Backgrone could not start in this browser.");
    }
    item.engine ??= this.engines.selected;
    const engine = item.engine;
    item.controller = new AbortController();
    try {
      let r;
      // A HEIC photo becomes a PNG first; so does an image over the size
      // limit, once the user asked for it at a reduced size.
      const prepared = await prepare(this.client, item.file, {
        reduce: item.reduce,
        onProgress: () => this.#show(item, item.reduce ? "Reducing the image" : "Decoding the photo"),
      });
      if (prepared.file !== item.file) {
        item.file = prepared.file;
        item.reduce = false;
        this.#thumb(item);
      }
      try {
        r = await this.#process(item, engine, await item.file.arrayBuffer());
      } catch (err) {
        // A format the runtime's Pillow cannot read (AVIF in the browser's
        // Pillow): this browser may decode it. The item keeps the decoded PNG,
        // so the viewer and the exports use it too.
        if (err.code !== "unsupported-format" || item.state === "cancelled") throw err;
        const png = await browserDecode(item.file).catch(() => null);
        if (!png) throw err;
        item.file = png;
        r = await this.#process(item, engine, await png.arrayBuffer());
        const format = /This is an? ([\w ]+?) image/.exec(err.message)?.[1] ?? "This format";
        r.notes = [`${format}: decoded by the browser.`, ...r.notes];
      }
      r.notes = [...prepared.notes, ...r.notes];
      if (r.warning) this.engines.note(r.warning);
      if (item.state === "cancelled") return;
      Object.assign(item, { result: r, state: "done" });
      // The engine worker's WebAssembly memory after this image (its peak so far).
      if (r.memory) item.el.dataset.memory = r.memory;
      this.#show(item);
      this.setStatus(`Done: ${item.name}`);
      this.onSelect(item, { auto: true });
    } catch (err) {
      if (item.state === "cancelled" || err.code === "cancelled") {
        item.state = "cancelled";
        this.#show(item);
        return;
      }
      if (err.name === "NotReadableError" || err.name === "NotFoundError") {
        return this.#fail(item, `This file could not be read: ${err.message}`);
      }
      this.#fail(item, err.message, err.code === "too-large");
    } finally {
      this.engines.downloadFinished(engine);
      this.engines.refreshStorage().catch(() => {});
    }
  }

  #process(item, engine, bytes) {
    return this.client.process(engine, item.name, bytes, {
      signal: item.controller.signal,
      onProgress: (msg) => {
        this.onProgress(msg);
        if (item.state !== "working") return;
        if (msg.stage === "download" && msg.total)
          this.#show(item, `Downloading the engine: ${Math.floor((100 * msg.loaded) / msg.total)}%`);
        else if (msg.stage === "boot") this.#show(item, "Restarting the engine");
        else if (msg.stage === "session") this.#show(item, "Starting the engine");
        else if (msg.stage === "image") this.#show(item, "Cutting out");
      },
    });
  }

  // `reducible`: the image is over the size limit; the item offers to cut it
  // out at a reduced size instead.
  #fail(item, message, reducible = false) {
    item.state = "failed";
    item.error = message;
    item.reducible = reducible;
    this.#show(item);
    this.setStatus(`Failed: ${item.name}`);
  }

  // The user accepted a reduced size: the item goes back in line.
  reduce(item) {
    if (item.state !== "failed" || !item.reducible) return;
    Object.assign(item, { state: "waiting", reduce: true, reducible: false, error: "" });
    this.#show(item);
    this.onChange();
    this.#pump();
  }
}

// Every way images come in: drop anywhere on the page, the picker (its
// button, or a click anywhere in the drop zone), paste.
export function wireInputs(onFiles) {
  $("#file-input").addEventListener("change", (e) => {
    onFiles([...e.target.files]);
    e.target.value = "";
  });
  $("#dropzone").addEventListener("click", (e) => {
    if (!e.target.closest("label, input, a, button")) $("#file-input").click();
  });
  let depth = 0;
  document.addEventListener("dragenter", (e) => {
    e.preventDefault();
    depth++;
    document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    if (--depth <= 0) {
      depth = 0;
      document.body.classList.remove("dragging");
    }
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    document.body.classList.remove("dragging");
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) onFiles(files);
  });
  document.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    onFiles(files.map((f, i) => (f.name && f.name !== "image.png" ? f : new File([f], `pasted-${Date.now()}-${i + 1}.png`, { type: f.type }))));
  });
}
