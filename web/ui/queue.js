// The queue: images in (drop anywhere, pick, paste, samples), cut out one
// after another; each has a status, can be removed or cancelled, and fails
// alone.

const $ = (sel, root = document) => root.querySelector(sel);

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
    this.ready = null; // set by the app: resolves when the worker has booted
  }

  add(files) {
    const added = [];
    for (const file of files) {
      const item = { id: nextId++, file, name: file.name || "pasted image", state: "waiting", controller: null };
      item.el = this.#render(item);
      this.items.push(item);
      added.push(item);
    }
    this.onChange();
    this.#pump();
    return added;
  }

  #render(item) {
    const li = $("#queue-template").content.firstElementChild.cloneNode(true);
    li.dataset.id = item.id;
    $(".item-name", li).textContent = item.name;
    const thumb = $(".thumb", li);
    thumb.src = URL.createObjectURL(item.file);
    thumb.onerror = () => thumb.removeAttribute("src");
    $(".item-open", li).addEventListener("click", () => item.state === "done" && this.onSelect(item));
    $(".item-remove", li).addEventListener("click", () => this.remove(item));
    $("#queue").append(li);
    this.#show(item);
    return li;
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
    $(".item-state", li).textContent = detail || words[item.state];
    $(".item-error", li).textContent = item.state === "failed" ? item.error : "";
    $(".item-remove", li).textContent = item.state === "working" ? "Cancel" : "Remove";
    $(".item-open", li).disabled = item.state !== "done";
  }

  // Remove a finished or waiting item; cancel the running one (its download
  // stops at once; an inference under way finishes and is discarded).
  remove(item) {
    if (item.state === "working") {
      item.state = "cancelled";
      item.controller?.abort();
      this.#show(item);
      this.onChange();
      return;
    }
    this.items = this.items.filter((i) => i !== item);
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
    let bytes;
    try {
      bytes = await item.file.arrayBuffer();
    } catch (err) {
      return this.#fail(item, `This file could not be read: ${err.message}`);
    }
    try {
      await this.ready;
    } catch {
      return this.#fail(item, "Backgrone could not start in this browser.");
    }
    const engine = this.engines.selected;
    item.controller = new AbortController();
    try {
      const r = await this.client.process(engine, item.name, bytes, {
        signal: item.controller.signal,
        onProgress: (msg) => {
          this.onProgress(msg);
          if (msg.stage === "download" && msg.total)
            this.#show(item, `Downloading the engine: ${Math.floor((100 * msg.loaded) / msg.total)}%`);
          else if (msg.stage === "session") this.#show(item, "Starting the engine");
          else if (msg.stage === "image") this.#show(item, "Cutting out");
        },
      });
      this.engines.downloadFinished(engine);
      if (r.warning) this.engines.note(r.warning);
      if (item.state === "cancelled") return;
      Object.assign(item, { result: r, engine, state: "done" });
      this.#show(item);
      this.setStatus(`Done: ${item.name}`);
      this.onSelect(item);
    } catch (err) {
      this.engines.downloadFinished(engine);
      if (item.state === "cancelled" || err.code === "cancelled") {
        item.state = "cancelled";
        this.#show(item);
        return;
      }
      this.#fail(item, err.message);
    } finally {
      this.engines.refreshStorage().catch(() => {});
    }
  }

  #fail(item, message) {
    item.state = "failed";
    item.error = message;
    this.#show(item);
    this.setStatus(`Failed: ${item.name}`);
  }
}

// Every way images come in: drop anywhere on the page, the picker, paste.
export function wireInputs(onFiles) {
  $("#file-input").addEventListener("change", (e) => {
    onFiles([...e.target.files]);
    e.target.value = "";
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
