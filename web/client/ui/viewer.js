// The result view: before/after slider, backgrounds, edges (refined or the
// engine's raw mask, colour spill removed or not), crop, export, "download
// all" as one ZIP, and the touch-up editor (../editor/). Every pixel is made
// by Python in the worker (backgrone.compose, refine, foreground) from the
// item's mask with its edits; this file only asks and shows. Every export
// uses what is shown: the mask, edits and colours chosen here.

import { Editor } from "../editor/editor.js";
import { maskFields } from "../editor/edits.js";
import { saveAs, screenSide, stem } from "./format.js";
import { ShareButton } from "./share.js";

const $ = (sel, root = document) => root.querySelector(sel);
const PREVIEW_SIDE = 1600; // previews are scaled down: fast on 12 MP photos
const EXT = { png: "png", webp: "webp", jpeg: "jpg", mask: "png" };

export class Viewer {
  constructor({ client, setStatus, memory = null }) {
    this.client = client;
    this.setStatus = setStatus;
    this.memory = memory; // MemoryMode: in low-memory mode every view is at screen size
    this.beforeURL = null;
    this.item = null;
    this.bgImage = null; // ArrayBuffer of the picked background image
    this.previewURL = null;
    this.renderToken = 0;
    this.editor = new Editor({ client, onClose: (item) => this.#editorClosed(item) });
    this.#wire();
    this.share = new ShareButton($("#share"), {
      makeFile: () => this.exportFile(),
      key: () => JSON.stringify([this.item?.id, this.options(), $("#format").value, $("#bg-image-pick").textContent]),
      say: (text) => ($("#export-note").textContent = text),
    });
  }

  options() {
    return {
      background: $("input[name=bg]:checked").value,
      color: $("#bg-color").value,
      blur: 0.02,
      crop: $("#crop").checked,
      margin: Number($("#margin").value) / 100,
      decontaminate: $("#decontaminate").checked,
    };
  }

  // The mask shown, before any edits: refined (the default) or the
  // engine's own. The item's edits replay on it (editor/edits.js).
  maskOf(item) {
    return $("#refine").checked ? item.result.mask : item.result.rawMask;
  }

  #setBase(item) {
    item.baseMask = this.maskOf(item);
  }

  #wire() {
    $("#compare-slider").addEventListener("input", (e) => {
      $("#before-clip").style.clipPath = `inset(0 ${100 - Number(e.target.value)}% 0 0)`;
    });
    for (const el of document.querySelectorAll("input[name=bg], #crop, #decontaminate, #compare-with"))
      el.addEventListener("change", () => this.preview());
    $("#refine").addEventListener("change", () => {
      if (this.item) this.#setBase(this.item);
      this.editor.rebase();
      this.preview();
    });
    $("#bg-color").addEventListener("input", () => {
      $("input[name=bg][value=color]").checked = true;
      this.preview();
    });
    $("#margin").addEventListener("input", (e) => {
      $("#margin-out").textContent = `${e.target.value}%`;
      if ($("#crop").checked) this.preview();
    });
    $("#bg-image-pick").addEventListener("click", () => $("#bg-image").click());
    $("#bg-image").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      e.target.value = "";
      if (!file) return;
      this.bgImage = await file.arrayBuffer();
      $("#bg-image-pick").textContent = file.name;
      $("input[name=bg][value=image]").checked = true;
      this.preview();
    });
    $("#download").addEventListener("click", () => this.download());
    $("#edit-open").addEventListener("click", () => this.edit());
  }

  // Open the touch-up editor on the image shown.
  edit() {
    if (!this.item) return;
    $("#viewer").classList.add("editing");
    this.editor.open(this.item);
  }

  #editorClosed(item) {
    $("#viewer").classList.remove("editing");
    // The queue shows which images carry edits.
    item?.el?.classList.toggle("edited", !!item.edits?.edited);
    this.preview();
    $("#edit-open").focus({ preventScroll: true });
  }

  show(item) {
    if (this.item !== item && this.editor.isOpen) {
      this.item = null; // nothing to preview on the way out
      this.editor.close();
    }
    this.item = item;
    this.#setBase(item);
    $("#viewer").hidden = false;
    const r = item.result;
    $("#view-meta").textContent =
      `${item.name} \u00b7 ${r.width}\u00d7${r.height} \u00b7 ${item.engineLabel ?? item.engine} \u00b7 ` +
      `${Object.values(r.timings).reduce((a, b) => a + b, 0).toFixed(1)} s` +
      (r.backend ? ` on ${r.backend}` : "") +
      (r.notes.length ? ` \u00b7 ${r.notes.join(" ")}` : "");
    $("#compare").style.aspectRatio = `${r.width} / ${r.height}`;
    this.preview();
  }

  get low() {
    return !!this.memory?.low;
  }

  // The longest side of a preview: the screen's in low-memory mode.
  previewSide() {
    return this.low ? Math.min(PREVIEW_SIDE, screenSide()) : PREVIEW_SIDE;
  }

  // Low-memory mode switched: the views again, at their new size.
  refresh() {
    if (this.item) this.show(this.item);
  }

  hide() {
    this.item = null;
    this.editor.close();
    $("#viewer").hidden = true;
  }

  // `mask` (a PNG) overrides the item's shown mask and edits.
  async #render(item, format, maxSide, { mask = null, ...overrides } = {}) {
    const options = { ...this.options(), ...overrides };
    if (options.background === "image" && !this.bgImage) throw new Error("Choose a background image first.");
    return this.client.render({
      bytes: await item.file.arrayBuffer(),
      ...(mask ? { mask, maskSize: null } : await maskFields(item)),
      options,
      background: options.background === "image" ? this.bgImage : null,
      format,
      maxSide,
    });
  }

  async preview() {
    const item = this.item;
    if (!item) return;
    const token = ++this.renderToken;
    const opts = this.options();
    const compareWith = $("#compare-with").value;
    const png = (bytes) => new Blob([bytes], { type: "image/png" });
    let after, before;
    try {
      $("#viewer").dataset.busy = "true";
      const edited = !!item.edits?.edited;
      if (compareWith === "masks") {
        after = edited ? png((await this.#render(item, "mask", this.previewSide())).bytes) : png(this.maskOf(item));
        before = png(item.result.rawMask);
      } else {
        // The default cutout is already there: no round trip for the default view.
        const defaults = opts.background === "transparent" && !opts.crop && opts.decontaminate && $("#refine").checked && !edited && !this.low;
        if (defaults) after = png(item.result.png);
        else {
          const r = await this.#render(item, "png", this.previewSide());
          after = new Blob([r.bytes], { type: r.mime });
        }
        if (compareWith === "raw") {
          const r = await this.#render(item, "png", this.previewSide(), { mask: item.result.rawMask, decontaminate: false });
          before = new Blob([r.bytes], { type: r.mime });
        } else if (this.low) {
          // Made by the worker, from a reduced decode: the page's own decoder
          // would hold the whole photo while both engines' memories are at
          // their peak (docs/benchmark.md, "Memory on a phone's photos").
          const r = await this.client.preview(await item.file.arrayBuffer(), this.previewSide());
          before = new Blob([r.bytes], { type: r.mime });
        } else before = item.file;
      }
    } catch (err) {
      $("#export-note").textContent = err.message;
      return;
    } finally {
      if (token === this.renderToken) delete $("#viewer").dataset.busy;
    }
    if (token !== this.renderToken) return; // a newer preview is on its way
    for (const url of [this.previewURL, this.beforeURL]) if (url) URL.revokeObjectURL(url);
    this.previewURL = URL.createObjectURL(after);
    this.beforeURL = URL.createObjectURL(before);
    $("#view-after").src = this.previewURL;
    $("#view-before").src = this.beforeURL;
    $("#compare").dataset.compare = compareWith;
    // A cutout on either side of the slider: both on the checkerboard.
    $("#before-clip").classList.toggle("checker", compareWith === "raw");
    $("#export-note").textContent = "";
  }

  // What Download saves, as a File (for Share).
  async exportFile() {
    const format = $("#format").value;
    const r = await this.#render(this.item, format, null);
    return new File([r.bytes], this.exportName(this.item, format), { type: r.mime });
  }

  exportName(item, format) {
    return `${stem(item.name)}-${format === "mask" ? "mask" : "cutout"}.${EXT[format]}`;
  }

  async download() {
    const item = this.item;
    if (!item) return;
    const format = $("#format").value;
    $("#export-note").textContent = "Preparing\u2026";
    try {
      const r = await this.#render(item, format, null);
      saveAs(r.bytes, r.mime, this.exportName(item, format));
      $("#export-note").textContent =
        format === "jpeg" && this.options().background === "transparent" ? "JPEG has no transparency: saved on white." : "";
    } catch (err) {
      $("#export-note").textContent = err.message;
    }
  }

  // Every finished image with the current background, crop and format.
  async downloadAll(items) {
    const format = $("#format").value;
    const entries = [];
    for (const [i, item] of items.entries()) {
      this.setStatus(`Preparing the ZIP: ${i + 1} of ${items.length}`);
      const r = await this.#render(item, format, null);
      entries.push({ name: this.exportName(item, format), bytes: r.bytes });
    }
    const zip = await this.client.zip(entries);
    saveAs(zip.bytes, "application/zip", "backgrone-cutouts.zip");
    this.setStatus(`Saved ${items.length} image${items.length === 1 ? "" : "s"} as backgrone-cutouts.zip`);
  }
}
