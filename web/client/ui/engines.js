// The engine picker, each engine's download state, and the storage panel;
// on the first screen, the chosen engine in brief ("the chip"), with a button
// that opens all of that.

import { Rate, mb } from "./format.js";

const $ = (sel, root = document) => root.querySelector(sel);
const STORAGE_KEY = "backgrone.engine";
const GUIDE_ROWS = ["Model size", "Quality", "Speed", "Edge detail", "Hair/Fur", "Transparent objects", "Memory"];

export class EnginePanel {
  // onProgress: the page's status line for a download's progress
  constructor({ client, engines, setStatus, onProgress = () => {} }) {
    this.client = client;
    this.engines = engines;
    this.setStatus = setStatus;
    this.onProgress = onProgress;
    this.stored = new Map(); // engine id -> stored record
    this.storeAvailable = true;
    this.cards = new Map();
    this.downloading = new Map(); // engine id -> {controller, rate}
    this.selected = null;
    this.storageKnown = false; // until the worker has said what is stored
    this.userChose = localStorage.getItem(STORAGE_KEY);
    this.#renderGuide();
    this.#renderCards();
    this.#wireImport();
    this.#wirePanel();
  }

  label(id) {
    return this.engines.find((e) => e.id === id)?.label ?? id;
  }

  // Balanced when this site can give it without asking anyone (self-hosted,
  // or already stored); otherwise Lightweight, and one line says why, with
  // the licence behind a link. In low-memory mode Lightweight, the engine
  // that needs the least.
  chooseDefault({ lowMemory = false } = {}) {
    this.note("");
    if (this.engines.some((e) => e.id === this.userChose)) return this.select(this.userChose, false);
    if (lowMemory) {
      this.select("lightweight", false);
      return this.note("Lightweight: in low-memory mode, the engine that needs the least memory.");
    }
    const balanced = this.engines.find((e) => e.id === "balanced");
    if (balanced && (balanced.self_hosted || this.stored.has("balanced"))) return this.select("balanced", false);
    this.select("lightweight", false);
    this.note("Lightweight, because Balanced (the default) is hosted elsewhere.", {
      href: "licenses/#engines",
      text: "Its licence",
    });
  }

  // One line under the chosen engine: why it was chosen, or a warning. It
  // takes the place of the engine's summary (so the first screen keeps its height).
  note(text, link = null) {
    const note = $("#engine-note");
    note.textContent = text;
    if (text && link) {
      const a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      note.append(" ", a);
    }
    note.hidden = !text;
    $("#chosen-summary").hidden = !!text;
  }

  select(id, remember = true) {
    this.selected = id;
    for (const [eid, card] of this.cards) $("input[name=engine]", card).checked = eid === id;
    if (remember) {
      this.userChose = id;
      localStorage.setItem(STORAGE_KEY, id);
      this.note("");
    }
    this.#refreshChosen();
  }

  // -- the chip: the chosen engine's name, size, whether it is here --------

  #refreshChosen() {
    const id = this.selected;
    const engine = this.engines.find((e) => e.id === id);
    if (!engine) return;
    $("#chosen-name").textContent = engine.label;
    $("#chosen-size").textContent = engine.guide["Model size"];
    $("#chosen-summary").textContent = engine.summary;
    const busy = this.downloading.get(id);
    $("#chosen-progress").hidden = !busy;
    if (busy) return; // the progress fills it in
    const stored = this.stored.get(id);
    $("#chosen").dataset.stored = stored ? "true" : "false";
    $("#chosen-state").textContent = !this.storageKnown
      ? "Checking this device\u2026"
      : stored
        ? "On this device"
        : this.storeAvailable
          ? "Downloads once, with your first photo"
          : "Downloads with your first photo";
  }

  #chosenProgress(id, msg) {
    if (id !== this.selected) return;
    $("#chosen").dataset.stored = "false";
    $("#chosen-progress").hidden = false;
    const bar = $("#chosen-progress");
    if (msg?.total) {
      bar.max = msg.total;
      bar.value = msg.loaded;
    } else bar.removeAttribute("value");
    $("#chosen-state").textContent = msg?.total
      ? `Downloading: ${Math.floor((100 * msg.loaded) / msg.total)}%`
      : "Downloading\u2026";
  }

  // The engine panel opens under the first screen; "Done" closes it and
  // brings the focus back to the button that opened it.
  #wirePanel() {
    const toggle = $("#engines-toggle");
    const panel = $("#engine-panel");
    const open = (yes) => {
      panel.hidden = !yes;
      toggle.setAttribute("aria-expanded", String(yes));
    };
    toggle.addEventListener("click", () => {
      open(panel.hidden);
      // Scrolled to only where it opens out of sight (below a phone's first screen).
      if (!panel.hidden && panel.getBoundingClientRect().top > innerHeight * 0.75)
        panel.scrollIntoView({ block: "start", behavior: "smooth" });
    });
    $("#engines-done").addEventListener("click", () => {
      open(false);
      toggle.focus();
      toggle.scrollIntoView({ block: "nearest" });
    });
    panel.addEventListener("keydown", (e) => {
      if (e.key !== "Escape") return;
      open(false);
      toggle.focus();
    });
  }

  #renderGuide() {
    const table = $("#guide-table");
    const head = `<tr><td></td>${this.engines.map((e) => `<th scope="col">${e.label}</th>`).join("")}</tr>`;
    const rows = GUIDE_ROWS.map(
      (r) => `<tr><th scope="row">${r}</th>${this.engines.map((e) => `<td>${e.guide[r]}</td>`).join("")}</tr>`,
    ).join("");
    const when = `<tr><th scope="row">Choose it for</th>${this.engines
      .map((e) => `<td>${e.choose_when.join("; ")}</td>`)
      .join("")}</tr>`;
    const license = `<tr><th scope="row">License</th>${this.engines.map((e) => `<td>${e.license}</td>`).join("")}</tr>`;
    table.innerHTML = head + rows + when + license;
  }

  #renderCards() {
    const box = $("#engines");
    for (const e of this.engines) {
      const card = $("#engine-template").content.firstElementChild.cloneNode(true);
      card.dataset.engine = e.id;
      const input = $("input", card);
      input.value = e.id;
      $(".name", card).textContent = e.label;
      $(".size", card).textContent = e.guide["Model size"];
      $(".model", card).textContent = e.model;
      $(".summary", card).textContent = e.summary;
      $(".when", card).textContent = `Choose it for: ${e.choose_when.join("; ")}.`;
      input.addEventListener("change", () => this.select(e.id));
      $(".download-engine", card).addEventListener("click", (ev) => {
        ev.preventDefault();
        this.download(e.id);
      });
      $(".cancel-download", card).addEventListener("click", (ev) => {
        ev.preventDefault();
        this.downloading.get(e.id)?.controller.abort();
      });
      this.cards.set(e.id, card);
      box.append(card);
    }
    for (const e of this.engines) {
      const opt = document.createElement("option");
      opt.value = e.id;
      opt.textContent = e.label;
      $("#import-engine").append(opt);
    }
  }

  #refreshCard(id) {
    const card = this.cards.get(id);
    const engine = this.engines.find((e) => e.id === id);
    const stored = this.stored.get(id);
    const busy = this.downloading.has(id);
    card.dataset.stored = stored ? "true" : "false";
    if (id === this.selected) this.#refreshChosen();
    $(".download-engine", card).hidden = busy || !!stored;
    $(".download-engine", card).textContent = `Download ${mb(engine.size ?? engine.approx_mb * 2 ** 20)}`;
    $(".cancel-download", card).hidden = !busy;
    $(".engine-progress", card).hidden = !busy;
    if (!busy) {
      $(".state-text", card).textContent = stored
        ? `On this device \u00b7 ${mb(stored.size)}`
        : engine.self_hosted
          ? "Not downloaded yet"
          : "Not downloaded yet \u00b7 from its own source";
    }
  }

  // From the worker: a download's progress (started here or by a queued image).
  onDownloadProgress(msg) {
    if (msg.stage !== "download" || !msg.engine) return;
    const card = this.cards.get(msg.engine);
    if (!this.downloading.has(msg.engine)) this.downloading.set(msg.engine, { controller: null, rate: new Rate() });
    const { rate } = this.downloading.get(msg.engine);
    this.#refreshCard(msg.engine);
    const bar = $(".engine-progress", card);
    if (msg.total) {
      bar.max = msg.total;
      bar.value = msg.loaded;
    }
    $(".state-text", card).textContent = `Downloading: ${rate.describe(msg.loaded, msg.total)}`;
    this.#chosenProgress(msg.engine, msg);
  }

  downloadFinished(id) {
    this.downloading.delete(id);
    this.#refreshCard(id);
  }

  async download(id) {
    if (this.downloading.has(id)) return;
    const controller = new AbortController();
    this.downloading.set(id, { controller, rate: new Rate() });
    this.#refreshCard(id);
    this.#chosenProgress(id, null);
    try {
      const r = await this.client.downloadEngine(id, {
        signal: controller.signal,
        onProgress: (msg) => {
          this.onDownloadProgress(msg);
          this.onProgress(msg);
        },
      });
      if (r.warning) this.note(r.warning);
      this.setStatus(`The ${this.label(id)} engine is ready.`);
    } catch (err) {
      this.setStatus(err.message);
    } finally {
      this.downloadFinished(id);
      await this.refreshStorage();
    }
  }

  applyStorage(info) {
    this.storageKnown = true;
    this.storeAvailable = info.available;
    this.stored = new Map(info.stored.map((s) => [s.engine, s]));
    for (const id of this.cards.keys()) this.#refreshCard(id);
    const total = info.stored.reduce((a, s) => a + s.size, 0);
    $("#storage-summary").textContent = info.available
      ? `(${info.stored.length} engine${info.stored.length === 1 ? "" : "s"}, ${mb(total)})`
      : "(unavailable)";
    $("#storage-space").textContent = !info.available
      ? "This browser gives this site no storage here (a private window?). Backgrone still works, but engines are downloaded again on every visit."
      : info.quota
        ? `This site uses ${mb(info.usage ?? 0)} of the ${mb(info.quota)} the browser grants it` +
          (info.persisted ? " (kept even when the device runs low on space)." : ".")
        : "";
    const list = $("#storage-list");
    list.replaceChildren();
    for (const s of info.stored) {
      const li = document.createElement("li");
      li.dataset.engine = s.engine;
      const text = document.createElement("span");
      text.textContent = `${this.label(s.engine)} \u00b7 ${mb(s.size)}${s.source === "imported" ? " \u00b7 imported" : ""}`;
      const del = document.createElement("button");
      del.type = "button";
      del.className = "linklike delete-engine";
      del.textContent = "Delete";
      del.setAttribute("aria-label", `Delete the ${this.label(s.engine)} engine`);
      del.addEventListener("click", async () => {
        this.applyStorage(await this.client.deleteEngine(s.engine));
        this.setStatus(`The ${this.label(s.engine)} engine was deleted from this device.`);
      });
      li.append(text, " ", del);
      list.append(li);
    }
  }

  async refreshStorage() {
    this.applyStorage(await this.client.storage());
  }

  #wireImport() {
    $("#import-file").addEventListener("change", async (ev) => {
      const file = ev.target.files[0];
      ev.target.value = "";
      if (!file) return;
      const id = $("#import-engine").value;
      const status = $("#import-status");
      status.textContent = `Checking ${file.name}\u2026`;
      let message;
      try {
        const r = await this.client.importEngine(id, await file.arrayBuffer());
        message = `${file.name} is now the ${this.label(id)} engine.` + (r.warning ? ` ${r.warning}` : "");
      } catch (err) {
        message = err.message;
      }
      // The answer last, once the storage list shows it too.
      await this.refreshStorage();
      status.textContent = message;
    });
  }
}
