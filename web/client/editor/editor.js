// The touch-up editor: brings together its controls (panel.js), its view
// (view.js), its input (input.js) and the item's edits (edits.js). A stroke
// is shown at screen resolution as it happens and painted into the
// full-resolution mask in slices of each animation frame, so at pointer-up
// little is left to do. The worker is asked only for the edge-aware brush
// (a `refineStroke` request) and, where the browser cannot decode the
// photo, for the photo itself.

import { editsOf } from "./edits.js";
import { EditorInput } from "./input.js";
import { EditorPanel } from "./panel.js";
import { decodePhoto } from "./pixels.js";
import { erase, paintPiece, restore, union } from "./raster.js";
import { EditorView } from "./view.js";

const $ = (sel, root = document) => root.querySelector(sel);

const FRAME_BUDGET = 8; // ms of full-resolution painting per frame while a stroke goes on
const SPACING = 1.5; // view pixels between the points a stroke keeps
// The crop sent to the edge-aware brush reaches this many brush radii past
// the stroke: the guided filter's window (edgebrush.RADIUS_SHARE) and a pixel.
const EDGE_MARGIN = 3.1;

const clip = ([x0, y0, x1, y1], w, h) => [Math.max(0, x0), Math.max(0, y0), Math.min(w, x1), Math.min(h, y1)];

export class Editor {
  constructor({ client, root = $("#editor"), onClose = () => {} }) {
    this.client = client;
    this.root = root;
    this.onClose = onClose;
    this.item = null;
    this.edits = null;
    this.stroke = null; // the stroke under way
    this.coverage = null; // its coverage, at the image's size
    this.pending = 0; // changes queued or waiting for the worker
    this.photoOf = null; // the item whose photo the view holds
    this.photoURL = null;
    this.token = 0; // bumped by each open: late work for an older one is dropped
    this.panel = new EditorPanel(root, (action, value) => this.#action(action, value));
    const viewEl = $("#edit-view", root);
    this.input = new EditorInput(viewEl, {
      start: (p, how) => this.#start(p, how),
      move: (points) => this.#move(points),
      end: (how) => this.#end(how),
      cancel: () => this.#cancel(),
      hover: (p) => this.#hover(p),
      action: (name) => this.#action(name),
    });
    this.view = new EditorView(viewEl, { pan: (e) => this.input.pans(e), onZoom: (z) => this.panel.setZoom(z) });
  }

  get isOpen() {
    return !this.root.hidden;
  }

  async open(item) {
    this.#cancel();
    const token = ++this.token;
    this.item = item;
    this.edits = editsOf(item);
    this.root.hidden = false;
    delete this.root.dataset.ready;
    this.input.enabled = true;
    this.panel.setStatus("Opening the editor\u2026");
    this.#showHistory();
    try {
      if (this.photoOf !== item) await this.#loadPhoto(item, token);
      if (token !== this.token) return;
      await this.edits.run(() => {});
      if (token !== this.token) return;
      this.edits.rebased = false;
      this.view.paint(this.edits.mask, this.edits.full);
      this.view.zoom.fit();
      this.#showHistory();
      this.panel.setStatus("");
      this.root.dataset.ready = "true";
      $("#edit-view", this.root).focus({ preventScroll: true });
    } catch (err) {
      if (token === this.token) this.panel.setStatus(`The editor could not open this image: ${err.message}`);
    }
  }

  // The base mask changed under the edits ("Refine edges" switched): they
  // replay on the new one and the view repaints.
  rebase() {
    if (this.isOpen) this.#queue(async () => null, { what: "rebase" });
  }

  close() {
    if (!this.isOpen) return;
    this.#cancel();
    this.token++;
    this.root.hidden = true;
    this.input.enabled = false;
    this.view.showOriginal(false);
    this.panel.setOriginal(false);
    const item = this.item;
    this.item = null;
    this.onClose(item);
  }

  // The photo's pixels: decoded by the browser, or where it cannot (TIFF,
  // say), drawn by Python: the photo through a mask that keeps everything.
  async #loadPhoto(item, token) {
    const { width, height } = item.result;
    let blob = item.file;
    let photo = await decodePhoto(blob, width, height);
    if (!photo) {
      const keepAll = new Uint8Array(width * height).fill(255);
      const r = await this.client.render({
        bytes: await item.file.arrayBuffer(),
        mask: keepAll.buffer,
        maskSize: [width, height],
        options: { background: "transparent" },
        format: "png",
      });
      blob = new Blob([r.bytes], { type: r.mime });
      photo = await decodePhoto(blob, width, height);
      if (!photo) throw new Error("this browser cannot show it");
    }
    if (token !== this.token) return;
    if (this.photoURL) URL.revokeObjectURL(this.photoURL);
    this.photoURL = URL.createObjectURL(blob);
    this.view.setPhoto(photo, this.photoURL);
    this.photoOf = item;
    if (this.coverage?.length !== width * height) this.coverage = new Uint8Array(width * height);
  }

  #ready() {
    return this.isOpen && this.root.dataset.ready === "true" && this.edits?.mask;
  }

  // -- strokes and clicks ------------------------------------------------------

  #start(point, { eraser }) {
    if (!this.#ready()) return;
    if (!this.panel.brush && !eraser) {
      this.stroke = { part: this.panel.tool };
      return;
    }
    const mode = eraser ? "erase" : this.panel.tool;
    this.stroke = {
      mode,
      combine: mode === "erase" ? erase : restore,
      softness: this.panel.softness,
      edges: this.panel.edges,
      size: this.panel.size,
      points: [],
      tail: null, // the latest point, kept back until far enough from the last
      next: 0, // the next piece to paint at full resolution
      box: null, // what it has painted so far
      dirty: null, // what it has painted since the view last showed it
      frame: 0,
      edits: this.edits,
    };
    this.view.beginPath(mode);
    this.#addPoint(point);
  }

  #addPoint(point) {
    const s = this.stroke;
    const [x, y] = this.view.toImage(point.clientX, point.clientY);
    const r = Math.max(0.5, (s.size / 2 / this.view.scale) * point.pressure);
    const [vx, vy] = this.view.toView(point.clientX, point.clientY);
    this.view.addToPath(vx, vy, s.size * point.pressure);
    const p = s.points;
    const n = p.length;
    if (n && Math.hypot(x - p[n - 3], y - p[n - 2]) * this.view.scale < SPACING) {
      s.tail = [x, y, r];
      return;
    }
    p.push(x, y, r);
    s.tail = null;
    s.frame ||= requestAnimationFrame(() => this.#frame());
  }

  #move(points) {
    if (!this.stroke || this.stroke.part) return;
    for (const p of points) this.#addPoint(p);
  }

  #paintPieces(s, budget = Infinity) {
    const t0 = performance.now();
    const { width, height } = this.item.result;
    while (s.next < s.points.length / 3 && performance.now() - t0 < budget) {
      const box = paintPiece(this.coverage, [0, 0, width, height], s.points, s.next++, s.softness);
      s.box = union(s.box, box);
      s.dirty = union(s.dirty, box);
    }
    if (s.dirty) {
      this.view.paint(s.edits.mask, s.dirty, this.coverage, s.combine);
      s.dirty = null;
    }
  }

  #frame() {
    const s = this.stroke;
    if (!s || s.part) return;
    s.frame = 0;
    this.#paintPieces(s, FRAME_BUDGET);
    if (s.next < s.points.length / 3) s.frame = requestAnimationFrame(() => this.#frame());
  }

  #end({ point, moved }) {
    const s = this.stroke;
    this.stroke = null;
    if (!s) return;
    const t0 = performance.now();
    if (s.part) {
      if (moved) return;
      const [x, y] = this.view.toImage(point.clientX, point.clientY).map(Math.floor);
      this.#commit({ kind: "part", mode: s.part, x, y }, { t0 });
      return;
    }
    cancelAnimationFrame(s.frame);
    if (s.tail) s.points.push(...s.tail);
    const queued = this.pending > 0;
    this.#paintPieces(s);
    this.view.endPath();
    if (!s.box) return;
    const op = {
      kind: "stroke",
      mode: s.mode,
      points: Float64Array.from(s.points),
      softness: s.softness,
      box: s.box,
      coverage: this.#takeCoverage(s.box),
    };
    // The view already shows a plain stroke's result, unless changes still
    // queued move the mask under it.
    this.#commit(op, { t0, edges: s.edges, repaint: queued || s.edges });
  }

  // The stroke's coverage over its box, handed to its operation; the shared
  // buffer is cleared for the next stroke.
  #takeCoverage(box) {
    const [x0, y0, x1, y1] = box;
    const { width } = this.item.result;
    const out = new Uint8Array((x1 - x0) * (y1 - y0));
    for (let y = y0; y < y1; y++) {
      const row = this.coverage.subarray(y * width + x0, y * width + x1);
      out.set(row, (y - y0) * (x1 - x0));
      row.fill(0);
    }
    return out;
  }

  #cancel() {
    const s = this.stroke;
    this.stroke = null;
    if (!s || s.part) return;
    cancelAnimationFrame(s.frame);
    this.view.endPath();
    if (!s.box) return;
    this.#takeCoverage(s.box);
    if (s.edits === this.edits) this.view.paint(this.edits.mask, s.box);
  }

  #hover(point) {
    if (!point || !this.panel.brush) return this.view.setCursor(null);
    const [x, y] = this.view.toView(point.clientX, point.clientY);
    this.view.setCursor([x, y, this.panel.size * point.pressure]);
  }

  // -- changes -------------------------------------------------------------------

  // Queue one change of the mask; `change(edits)` returns the box it changed.
  #queue(change, { t0 = performance.now(), repaint = true, what = "edit" } = {}) {
    const edits = this.edits;
    if (!edits) return Promise.resolve();
    this.pending++;
    this.panel.setBusy(true);
    return edits
      .run(async () => {
        const box = await change(edits);
        if (edits !== this.edits || !this.isOpen) return;
        if (edits.rebased) {
          edits.rebased = false;
          this.view.paint(edits.mask, edits.full);
        } else if (box && repaint) this.view.paint(edits.mask, box);
        this.#showHistory();
        // Pointer-up (or key press) to the updated view, for docs/editor.md.
        requestAnimationFrame(() =>
          this.root.dispatchEvent(new CustomEvent("editapplied", { detail: { what, ms: performance.now() - t0 } })),
        );
      })
      .catch((err) => this.panel.setStatus(`That edit failed: ${err.message}`))
      .finally(() => {
        if (--this.pending === 0) this.panel.setBusy(false);
      });
  }

  #commit(op, { t0, edges = false, repaint = true }) {
    const photo = this.view.photo;
    return this.#queue(
      async (edits) => {
        if (edges) await this.#refine(op, edits, photo);
        const box = edits.push(op);
        if (!box && op.kind === "part") this.panel.setStatus("Click on a part of the subject (where it is at least half opaque).");
        else if (op.kind !== "stroke" || !edges) this.panel.setStatus("");
        return box;
      },
      { t0, repaint, what: op.kind },
    );
  }

  // The edge-aware brush: the worker makes the plainly painted stroke follow
  // the photo's edges (py/backgrone/edgebrush.py) over a crop around it.
  async #refine(op, edits, photo) {
    const { width, height } = edits;
    let radius = 0;
    for (let i = 2; i < op.points.length; i += 3) radius = Math.max(radius, op.points[i]);
    const m = Math.ceil(EDGE_MARGIN * radius) + 1;
    const [x0, y0, x1, y1] = clip([op.box[0] - m, op.box[1] - m, op.box[2] + m, op.box[3] + m], width, height);
    const [bx0, by0, bx1, by1] = op.box;
    const cw = x1 - x0;
    const ch = y1 - y0;
    const rgba = new Uint8Array(cw * ch * 4);
    const painted = new Uint8Array(cw * ch);
    const plain = op.mode === "erase" ? erase : restore;
    for (let y = y0; y < y1; y++) {
      rgba.set(photo.data.subarray((y * width + x0) * 4, (y * width + x1) * 4), (y - y0) * cw * 4);
      for (let x = x0; x < x1; x++) {
        const m0 = edits.mask[y * width + x];
        const inBox = x >= bx0 && x < bx1 && y >= by0 && y < by1;
        const c = inBox ? op.coverage[(y - by0) * (bx1 - bx0) + (x - bx0)] : 0;
        painted[(y - y0) * cw + (x - x0)] = c ? plain(m0, c) : m0;
      }
    }
    this.panel.setStatus("Following the photo's edges\u2026");
    try {
      const r = await this.client.refineStroke({ rgba: rgba.buffer, mask: painted.buffer, width: cw, height: ch, radius });
      const q = new Uint8Array(r.mask);
      const refined = new Uint8Array((bx1 - bx0) * (by1 - by0));
      for (let y = by0; y < by1; y++) refined.set(q.subarray((y - y0) * cw + (bx0 - x0), (y - y0) * cw + (bx1 - x0)), (y - by0) * (bx1 - bx0));
      op.refined = refined;
      this.panel.setStatus("");
    } catch (err) {
      this.panel.setStatus(`The edges could not be followed (${err.message}): the stroke was applied as painted.`);
    }
  }

  #showHistory() {
    const e = this.edits;
    this.panel.setHistory({ canUndo: !!e?.canUndo, canRedo: !!e?.canRedo, edited: !!e?.edited });
  }

  #action(name, value) {
    if (!this.isOpen) return;
    const z = this.view.zoom;
    switch (name) {
      case "undo":
        this.#cancel(); // a stroke under way is dropped, not undone later
        return this.#queue((edits) => edits.undo(), { what: "undo" });
      case "redo":
        this.#cancel();
        return this.#queue((edits) => edits.redo(), { what: "redo" });
      case "reset":
        this.#cancel();
        return this.#commit({ kind: "reset" }, {});
      case "original": {
        const on = !this.view.el.classList.contains("show-original");
        this.view.showOriginal(on);
        return this.panel.setOriginal(on);
      }
      case "leave":
        return this.close();
      case "smaller":
      case "larger":
        return this.panel.resize(name === "larger");
      case "erase":
      case "restore":
        this.panel.tool = name;
        return;
      case "zoom":
        if (value === "fit") z.fit();
        else if (value === "in") z.zoomTo(z.scale * 1.25);
        else if (value === "out") z.zoomTo(z.scale / 1.25);
        else z.zoomTo(Number(value));
    }
  }
}
