// One column of the Engine Arena: an engine (or the consensus), its state,
// its download, its result in three views (cutout, mask, disagreement), each
// with refined edges or the engine's raw mask, and its figures.

import { mb } from "./format.js";

export const CONSENSUS = "consensus";

const $ = (sel, root) => root.querySelector(sel);

export class ArenaColumn {
  constructor(id, engine, { onDownload, onUse, onSave }) {
    this.id = id;
    this.label = engine.label;
    this.result = null; // {cutout: Blob, mask: ArrayBuffer, rawCutout, rawMask, figures}
    this.urls = {}; // "refined:cutout", "raw:mask", ... -> object URL
    this.edges = "refined";
    this.cancel = null;
    this.el = document.querySelector("#column-template").content.firstElementChild.cloneNode(true);
    this.el.dataset.engine = id;
    this.view = $(".arena-view", this.el);
    this.img = $(".arena-img", this.el);
    $(".col-title", this.el).textContent = engine.label;
    $(".col-model", this.el).textContent = engine.model ?? "";
    $(".col-size", this.el).textContent = engine.guide?.["Model size"] ?? "";
    this.view.setAttribute("aria-label", `${engine.label}: ${this.view.getAttribute("aria-label")}`);
    $(".col-download", this.el).addEventListener("click", onDownload);
    $(".col-cancel", this.el).addEventListener("click", () => this.cancel?.());
    $(".col-use", this.el).addEventListener("click", onUse);
    $(".col-save", this.el).addEventListener("click", () => onSave("cutout"));
    $(".col-save-mask", this.el).addEventListener("click", () => onSave("mask"));
    if (id !== CONSENSUS) $(".col-use", this.el).textContent = `Use ${engine.label}`;
    this.setState("waiting", id === CONSENSUS ? "Needs at least two engines' results" : "");
  }

  get state() {
    return this.el.dataset.state;
  }

  setState(state, text) {
    this.el.dataset.state = state;
    $(".state-text", this.el).textContent = text;
    const done = state === "done";
    $(".col-download", this.el).hidden = true;
    $(".col-cancel", this.el).hidden = state !== "downloading";
    $(".col-progress", this.el).hidden = state !== "downloading" && state !== "running";
    if (state === "running") $(".col-progress", this.el).removeAttribute("value");
    $(".col-use", this.el).hidden = !done || this.id === CONSENSUS;
    $(".col-save", this.el).hidden = !done;
    $(".col-save-mask", this.el).hidden = !done;
  }

  offerDownload(engine, message = "") {
    const button = $(".col-download", this.el);
    const from = engine.self_hosted || !/^https?:/.test(engine.source) ? "" : ` from ${new URL(engine.source).host}`;
    this.setState("absent", message || `Not on this device.${from ? ` It downloads${from}.` : ""}`);
    button.textContent = `Download ${mb(engine.size ?? engine.approx_mb * 2 ** 20)}`;
    button.title = `Downloads the ${engine.label} engine${from} once and keeps it on this device`;
    button.hidden = false;
  }

  startDownload(cancel) {
    this.cancel = cancel;
    this.setState("downloading", "Starting the download\u2026");
  }

  downloadProgress(loaded, total, text) {
    const bar = $(".col-progress", this.el);
    if (total) {
      bar.max = total;
      bar.value = loaded;
    }
    $(".state-text", this.el).textContent = text;
  }

  #setURL(view, blob) {
    if (this.urls[view]) URL.revokeObjectURL(this.urls[view]);
    this.urls[view] = blob ? URL.createObjectURL(blob) : null;
  }

  // `raw`: {cutout, mask} for the engine's raw mask (the cutout may come later, see setRaw).
  setResult({ cutout, mask, figures, raw = null }, mode) {
    this.result = { cutout, mask, figures, rawCutout: null, rawMask: null };
    this.#setURL("refined:cutout", cutout);
    this.#setURL("refined:mask", new Blob([mask], { type: "image/png" }));
    if (raw) this.setRaw(raw, mode);
    else this.show(mode);
  }

  setRaw({ cutout = null, mask = null }, mode) {
    if (mask) {
      this.result.rawMask = mask;
      this.#setURL("raw:mask", new Blob([mask], { type: "image/png" }));
    }
    if (cutout) {
      this.result.rawCutout = cutout;
      this.#setURL("raw:cutout", cutout);
    }
    this.show(mode);
  }

  setHeat(png, mode, edges = "refined") {
    this.#setURL(`${edges}:heat`, png ? new Blob([png], { type: "image/png" }) : null);
    this.show(mode);
  }

  // The mask shown for the current edges choice.
  shownMask() {
    return this.edges === "raw" ? this.result?.rawMask : this.result?.mask;
  }

  show(mode, edges = this.edges) {
    this.edges = edges;
    const url = this.urls[`${edges}:${mode}`];
    this.img.hidden = !url;
    if (url) this.img.src = url;
    else this.img.removeAttribute("src");
    this.view.dataset.mode = mode;
    this.view.dataset.edges = edges;
  }

  setFigures(rows) {
    const dl = $(".figures", this.el);
    dl.replaceChildren();
    for (const [name, value, hint] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = name;
      const dd = document.createElement("dd");
      dd.textContent = value;
      dd.dataset.figure = name;
      if (hint) dt.title = dd.title = hint;
      dl.append(dt, dd);
    }
  }

  clear() {
    this.result = null;
    for (const view of Object.keys(this.urls)) this.#setURL(view, null);
    this.show("cutout", this.edges);
    this.setFigures([]);
    this.setState("waiting", this.id === CONSENSUS ? "Needs at least two engines' results" : "");
  }
}
