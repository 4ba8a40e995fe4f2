// One column of the Engine Arena: an engine (or the consensus), its state,
// its download, its result in three views (cutout, mask, disagreement), each
// with refined edges or the engine's raw mask, and its figures.
//
// A view larger than the screen is shown from a copy at the screen's size
// until the zoom shows more pixels than the copy has: the browser keeps an
// <img> decoded at its image's size, and four 12 MP columns would hold
// nearly 200 MB for pictures a few hundred pixels wide. The copies are made
// by the engine worker (the cutout's comes with it; `makeCopy` asks for the
// others), never by decoding the whole image in the page.

import { mb, screenSide } from "./format.js";

export const CONSENSUS = "consensus";

const $ = (sel, root) => root.querySelector(sel);

export class ArenaColumn {
  // makeCopy(blob, side): a Promise of the image at most `side` px long.
  constructor(id, engine, { onDownload, onUse, onSave, makeCopy }) {
    this.id = id;
    this.makeCopy = makeCopy;
    this.label = engine.label;
    this.result = null; // {cutout: Blob, mask: ArrayBuffer, rawCutout, rawMask, figures}
    this.blobs = {}; // "refined:cutout", "raw:mask", ... -> the view's image
    this.urls = {}; // the same views -> object URL of that image
    this.copies = {}; // the same views -> {url, failed}: its screen-size copy, once asked for
    this.size = null; // [width, height] of every view of the result
    this.scale = 1; // the zoom: CSS pixels per image pixel
    this.edges = "refined";
    this.mode = "cutout";
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

  // `copy`: the view's screen-size copy, where it came with the image.
  #setURL(view, blob, copy = null) {
    if (this.urls[view]) URL.revokeObjectURL(this.urls[view]);
    if (this.copies[view]?.url) URL.revokeObjectURL(this.copies[view].url);
    delete this.copies[view];
    this.blobs[view] = blob;
    this.urls[view] = blob ? URL.createObjectURL(blob) : null;
    if (blob && copy) this.copies[view] = { url: URL.createObjectURL(copy), failed: false };
  }

  // `size`: [width, height] of the image; `copy`: the cutout's screen-size
  // copy, if made with it; `raw`: {cutout, mask} for the engine's raw mask
  // (the cutout may come later, see setRaw).
  setResult({ cutout, copy = null, mask, figures, size, raw = null }, mode) {
    this.result = { cutout, mask, figures, rawCutout: null, rawMask: null };
    this.size = size;
    this.#setURL("refined:cutout", cutout, copy);
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
    this.mode = mode;
    this.edges = edges;
    this.view.dataset.mode = mode;
    this.view.dataset.edges = edges;
    this.#update();
  }

  // The zoom changed: a view may now need its own pixels, or its copy again.
  setScale(scale) {
    const before = this.#fromCopy();
    this.scale = scale;
    if (this.#fromCopy() !== before) this.#update();
  }

  // Whether the shown view comes from its screen-size copy: the image is
  // larger than the screen, and the zoom shows no more pixels than the copy has.
  #fromCopy() {
    if (!this.size) return false;
    const side = screenSide();
    const longest = Math.max(...this.size);
    return longest > side && this.scale * (devicePixelRatio || 1) * longest <= side;
  }

  // Puts the current view in the <img>. While its copy is being made, the
  // picture shown before stays.
  #update() {
    const view = `${this.edges}:${this.mode}`;
    const url = this.urls[view];
    if (!url) return this.#display(null);
    if (!this.#fromCopy()) return this.#display(url, view, "full");
    const copy = (this.copies[view] ??= this.#copy(view));
    if (copy.url) this.#display(copy.url, view, "screen");
    else if (copy.failed) this.#display(url, view, "full");
    else this.view.dataset.preparing = "";
  }

  #copy(view) {
    const copy = { url: null, failed: false };
    this.makeCopy(this.blobs[view], screenSide())
      .catch(() => null)
      .then((blob) => {
        if (this.copies[view] !== copy) return; // a new result, or cleared, meanwhile
        if (blob) copy.url = URL.createObjectURL(blob);
        else copy.failed = true; // no copy could be made: the image itself then
        this.#update();
      });
    return copy;
  }

  // `detail`: "full" (the image itself) or "screen" (its copy), laid out at
  // the image's size either way so that the zoom places both alike.
  #display(url, view = null, detail = null) {
    delete this.view.dataset.preparing;
    this.img.hidden = !url;
    if (!url) {
      this.img.removeAttribute("src");
      delete this.img.dataset.view;
      delete this.img.dataset.detail;
      return;
    }
    if (this.img.getAttribute("src") !== url) this.img.src = url;
    this.img.style.width = this.size ? `${this.size[0]}px` : "";
    this.img.style.height = this.size ? `${this.size[1]}px` : "";
    Object.assign(this.img.dataset, { view, detail });
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
    this.size = null;
    this.show("cutout", this.edges);
    this.setFigures([]);
    this.setState("waiting", this.id === CONSENSUS ? "Needs at least two engines' results" : "");
  }
}
