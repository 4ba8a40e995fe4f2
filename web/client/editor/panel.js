// The editor's controls: tool, brush size and softness, edge-aware mode,
// undo, redo, reset, before/after, zoom, done. It shows state and reports
// what the user asks for; it holds no image.

import { MAX_SIZE, MIN_SIZE } from "./raster.js";

const $ = (sel, root = document) => root.querySelector(sel);

export const BRUSHES = ["erase", "restore"];
const SIZE_STEP = 1.25; // [ and ]: a quarter larger or smaller

export class EditorPanel {
  constructor(root, onAction) {
    this.root = root;
    this.onAction = onAction;
    for (const radio of root.querySelectorAll("input[name=edit-tool]")) radio.addEventListener("change", () => this.#showTool());
    $("#edit-size", root).addEventListener("input", () => this.#showSize());
    $("#edit-softness", root).addEventListener("input", () => this.#showSoftness());
    for (const [sel, action] of [
      ["#edit-undo", "undo"],
      ["#edit-redo", "redo"],
      ["#edit-reset", "reset"],
      ["#edit-original", "original"],
      ["#edit-done", "leave"],
    ]) {
      $(sel, root).addEventListener("click", () => onAction(action));
    }
    for (const button of root.querySelectorAll("[data-edit-zoom]")) {
      button.addEventListener("click", () => onAction("zoom", button.dataset.editZoom));
    }
    this.#showTool();
    this.#showSize();
    this.#showSoftness();
  }

  get tool() {
    return $("input[name=edit-tool]:checked", this.root).value;
  }

  set tool(value) {
    $(`input[name=edit-tool][value=${value}]`, this.root).checked = true;
    this.#showTool();
  }

  get brush() {
    return BRUSHES.includes(this.tool);
  }

  // The brush's diameter in view pixels.
  get size() {
    return Number($("#edit-size", this.root).value);
  }

  set size(px) {
    $("#edit-size", this.root).value = String(Math.round(Math.min(MAX_SIZE, Math.max(MIN_SIZE, px))));
    this.#showSize();
  }

  resize(bigger) {
    this.size = bigger ? Math.max(this.size + 1, this.size * SIZE_STEP) : Math.min(this.size - 1, this.size / SIZE_STEP);
  }

  get softness() {
    return Number($("#edit-softness", this.root).value) / 100;
  }

  get edges() {
    return $("#edit-edges", this.root).checked;
  }

  #showTool() {
    this.root.dataset.tool = this.tool;
    // Size, softness and edges belong to the brushes.
    for (const el of this.root.querySelectorAll(".brush-only input")) el.disabled = !this.brush;
  }

  #showSize() {
    $("#edit-size-out", this.root).textContent = `${this.size} px`;
  }

  #showSoftness() {
    $("#edit-softness-out", this.root).textContent = `${Math.round(this.softness * 100)}%`;
  }

  setHistory({ canUndo, canRedo, edited }) {
    $("#edit-undo", this.root).disabled = !canUndo;
    $("#edit-redo", this.root).disabled = !canRedo;
    $("#edit-reset", this.root).disabled = !edited;
  }

  setOriginal(on) {
    $("#edit-original", this.root).setAttribute("aria-pressed", String(on));
  }

  setZoom(z) {
    const pct = `${Math.round(z.scale * 100)}%`;
    $("#edit-zoom-level", this.root).textContent = z.fitted ? `Fit (${pct})` : pct;
  }

  setStatus(text) {
    $("#edit-status", this.root).textContent = text;
  }

  // While edits wait for the worker (the edge-aware brush) or are applied.
  setBusy(busy) {
    if (busy) this.root.dataset.busy = "true";
    else delete this.root.dataset.busy;
  }
}
