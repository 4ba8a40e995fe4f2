// The result view: before/after slider, backgrounds, crop, export, and
// "download all" as one ZIP. Every pixel is made by Python in the worker
// (backgrone.compose); this file only asks and shows.

import { scaledURL } from "./decode.js";
import { saveAs, stem } from "./format.js";

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
    this.#wire();
  }

  options() {
    return {
      background: $("input[name=bg]:checked").value,
      color: $("#bg-color").value,
      blur: 0.02,
      crop: $("#crop").checked,
      margin: Number($("#margin").value) / 100,
    };
  }

  #wire() {
    $("#compare-slider").addEventListener("input", (e) => {
      $("#before-clip").style.clipPath = `inset(0 ${100 - Number(e.target.value)}% 0 0)`;
    });
    for (const el of document.querySelectorAll("input[name=bg], #crop")) el.addEventListener("change", () => this.preview());
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
  }

  show(item) {
    this.item = item;
    $("#viewer").hidden = false;
    this.#showBefore(item);
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
    return this.low ? Math.min(PREVIEW_SIDE, this.memory.screenSide()) : PREVIEW_SIDE;
  }

  async #showBefore(item) {
    if (this.beforeURL) URL.revokeObjectURL(this.beforeURL);
    this.beforeURL = null;
    const url = this.low ? await scaledURL(item.file, this.previewSide()).catch(() => null) : null;
    if (this.item !== item) return url && URL.revokeObjectURL(url);
    this.beforeURL = url ?? URL.createObjectURL(item.file);
    $("#view-before").src = this.beforeURL;
  }

  // Low-memory mode switched: the views again, at their new size.
  refresh() {
    if (this.item) this.show(this.item);
  }

  hide() {
    this.item = null;
    $("#viewer").hidden = true;
  }

  async #render(item, format, maxSide) {
    const options = this.options();
    if (options.background === "image" && !this.bgImage) throw new Error("Choose a background image first.");
    return this.client.render({
      bytes: await item.file.arrayBuffer(),
      mask: item.result.mask,
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
    let blob;
    try {
      // The plain cutout is already there: no round trip for the default view
      // (unless it is to be shown at screen size).
      if (opts.background === "transparent" && !opts.crop && !this.low) blob = new Blob([item.result.png], { type: "image/png" });
      else {
        $("#viewer").dataset.busy = "true";
        const r = await this.#render(item, "png", this.previewSide());
        blob = new Blob([r.bytes], { type: r.mime });
      }
    } catch (err) {
      $("#export-note").textContent = err.message;
      return;
    } finally {
      if (token === this.renderToken) delete $("#viewer").dataset.busy;
    }
    if (token !== this.renderToken) return; // a newer preview is on its way
    if (this.previewURL) URL.revokeObjectURL(this.previewURL);
    this.previewURL = URL.createObjectURL(blob);
    $("#view-after").src = this.previewURL;
    $("#export-note").textContent = "";
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
