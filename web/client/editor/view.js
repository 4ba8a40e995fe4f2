// The editor's view: the cutout at the photo's full resolution in a canvas
// (the photo's pixels with the mask as alpha), the original photo for
// before/after, both moved by the shared zoom (ui/zoom.js), an overlay at
// screen resolution for the stroke under way, and the brush's outline.

import { SyncZoom } from "../ui/zoom.js";

const $ = (sel, root) => root.querySelector(sel);

// The stroke under way is drawn opaque; the overlay's own opacity (CSS)
// tints it evenly, however its pieces overlap.
const TINT = { erase: "rgb(214 40 40)", restore: "rgb(30 150 80)" };

export class EditorView {
  constructor(el, { pan, onZoom }) {
    this.el = el;
    this.canvas = $(".edit-canvas", el);
    this.photoImg = $(".edit-photo", el);
    this.overlay = $(".edit-overlay", el);
    this.ring = $(".edit-cursor", el);
    this.ctx = null;
    // ImageData of the photo at full size: its colours are the photo's, its
    // alpha what the view shows (the mask, times the photo's own alpha), so
    // a repaint writes one byte a pixel and copies only the box it changed.
    this.photo = null;
    this.photoAlpha = null; // the photo's own alpha, where it has one
    this.path = null; // the stroke under way, in view pixels: {mode, points: [x, y, size, ...]}
    this.zoom = new SyncZoom({ onChange: (z) => onZoom?.(z) });
    this.zoom.add(el, { layers: [this.canvas, this.photoImg], pan });
    new ResizeObserver(() => {
      if (this.zoom.fitted) this.zoom.fit();
      this.#sizeOverlay();
    }).observe(el);
  }

  get scale() {
    return this.zoom.scale;
  }

  // The photo (ImageData, which the view then owns) and a URL the browser
  // can show it from.
  setPhoto(photo, url) {
    this.photo = photo;
    this.photoAlpha = null;
    const rgba = photo.data;
    for (let i = 3; i < rgba.length; i += 4) {
      if (rgba[i] === 255) continue;
      this.photoAlpha = new Uint8Array(photo.width * photo.height);
      for (let j = 0, k = 3; j < this.photoAlpha.length; j++, k += 4) this.photoAlpha[j] = rgba[k];
      break;
    }
    this.canvas.width = photo.width;
    this.canvas.height = photo.height;
    this.ctx = this.canvas.getContext("2d");
    this.photoImg.src = url;
    this.zoom.setImageSize(photo.width, photo.height);
    this.zoom.fit();
    this.#sizeOverlay();
  }

  // Redraw the box [x0, y0, x1, y1) of the cutout from `mask`; with
  // `cov` (the image's size) and `combine`, as the stroke under way would
  // leave it.
  paint(mask, box, cov = null, combine = null) {
    const { width, data } = this.photo;
    const own = this.photoAlpha;
    const [x0, y0, x1, y1] = box;
    for (let y = y0; y < y1; y++) {
      let i = y * width + x0;
      for (let x = x0, a = i * 4 + 3; x < x1; x++, i++, a += 4) {
        const m = cov && cov[i] ? combine(mask[i], cov[i]) : mask[i];
        data[a] = own ? (m * own[i] + 127) / 255 : m;
      }
    }
    this.ctx.putImageData(this.photo, 0, 0, x0, y0, x1 - x0, y1 - y0);
  }

  showOriginal(on) {
    this.el.classList.toggle("show-original", on);
  }

  // Client coordinates -> image pixels, and image pixels per view pixel.
  toImage(clientX, clientY) {
    return this.zoom.toImage(this.el, clientX, clientY);
  }

  toView(clientX, clientY) {
    const r = this.el.getBoundingClientRect();
    return [clientX - r.left - this.el.clientLeft, clientY - r.top - this.el.clientTop];
  }

  // -- the overlay ---------------------------------------------------------

  #sizeOverlay() {
    const dpr = devicePixelRatio || 1;
    this.overlay.width = Math.max(1, Math.round(this.el.clientWidth * dpr));
    this.overlay.height = Math.max(1, Math.round(this.el.clientHeight * dpr));
    this.#draw();
  }

  beginPath(mode) {
    this.path = { mode, points: [] };
  }

  addToPath(x, y, size) {
    if (!this.path) return;
    const p = this.path.points;
    p.push(x, y, size);
    this.#drawPiece(p.length / 3 - 1); // only the new piece: the overlay keeps the rest
  }

  endPath() {
    this.path = null;
    this.#draw();
  }

  // The brush's outline at [x, y] (view pixels) with its diameter, or none.
  setCursor(cursor) {
    this.ring.hidden = !cursor;
    if (!cursor) return;
    const [x, y, size] = cursor;
    this.ring.style.width = this.ring.style.height = `${size}px`;
    this.ring.style.transform = `translate(${x - size / 2}px, ${y - size / 2}px)`;
  }

  // The stroke as it happens, at screen resolution; the full-resolution mask
  // catches up underneath.
  #draw() {
    const ctx = this.overlay.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.overlay.width, this.overlay.height);
    const n = this.path ? this.path.points.length / 3 : 0;
    for (let i = 0; i < n; i++) this.#drawPiece(i);
  }

  // The n-th piece of the path: its first point as a dot, then each segment.
  #drawPiece(n) {
    const ctx = this.overlay.getContext("2d");
    const dpr = devicePixelRatio || 1;
    const p = this.path.points;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.strokeStyle = ctx.fillStyle = TINT[this.path.mode];
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (n === 0) {
      ctx.arc(p[0], p[1], p[2] / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    const i = n * 3;
    ctx.lineWidth = p[i + 2];
    ctx.moveTo(p[i - 3], p[i - 2]);
    ctx.lineTo(p[i], p[i + 1]);
    ctx.stroke();
  }
}
