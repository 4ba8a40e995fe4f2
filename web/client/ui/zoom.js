// One zoom and pan shared by several views of images of the same size: a
// wheel, drag or key press in any view moves them all, so the same detail
// sits side by side in every column.
//
// The state is the zoom (1 = one image pixel per CSS pixel) and the image
// point at the centre of each view; each view centres that point itself, so
// views of slightly different widths still line up.

const MIN_SCALE = 0.02;
const MAX_SCALE = 16;
const STEP = 1.25;

export class SyncZoom {
  constructor({ onChange } = {}) {
    this.views = [];
    this.size = null; // [w, h] of the images
    this.scale = 1;
    this.fitted = true;
    this.cx = 0;
    this.cy = 0;
    this.onChange = onChange;
    // A new window size (a phone turned, the Arena going to one column at a
    // time): fitted views fit again, zoomed ones keep their centre.
    new ResizeObserver(() => (this.fitted ? this.fit() : this.#apply())).observe(document.documentElement);
  }

  add(view) {
    this.views.push(view);
    view.addEventListener("wheel", (e) => this.#wheel(view, e), { passive: false });
    view.addEventListener("pointerdown", (e) => this.#drag(view, e));
    view.addEventListener("keydown", (e) => this.#key(e));
    this.#apply();
  }

  setImageSize(w, h) {
    const same = this.size && this.size[0] === w && this.size[1] === h;
    this.size = [w, h];
    if (!same) this.fit();
  }

  fitScale() {
    const view = this.views[0];
    if (!view || !this.size) return 1;
    return Math.min(view.clientWidth / this.size[0], view.clientHeight / this.size[1]);
  }

  fit() {
    if (!this.size) return;
    this.scale = this.fitScale();
    [this.cx, this.cy] = [this.size[0] / 2, this.size[1] / 2];
    this.fitted = true;
    this.#apply();
  }

  zoomTo(scale, at = null) {
    if (!this.size) return;
    const s = Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));
    if (at) {
      // Keep the image point under the pointer where it is.
      const { view, x, y } = at;
      const dx = x - view.clientWidth / 2;
      const dy = y - view.clientHeight / 2;
      this.cx += dx / this.scale - dx / s;
      this.cy += dy / this.scale - dy / s;
    }
    this.scale = s;
    this.fitted = false;
    this.#apply();
  }

  panBy(dx, dy) {
    this.cx -= dx / this.scale;
    this.cy -= dy / this.scale;
    this.fitted = false;
    this.#apply();
  }

  #wheel(view, e) {
    if (!this.size) return;
    e.preventDefault();
    const r = view.getBoundingClientRect();
    const factor = e.deltaY < 0 ? STEP : 1 / STEP;
    this.zoomTo(this.scale * factor, { view, x: e.clientX - r.left, y: e.clientY - r.top });
  }

  #drag(view, e) {
    if (!this.size || e.button !== 0) return;
    e.preventDefault();
    view.setPointerCapture(e.pointerId);
    let [lx, ly] = [e.clientX, e.clientY];
    const move = (ev) => {
      this.panBy(ev.clientX - lx, ev.clientY - ly);
      [lx, ly] = [ev.clientX, ev.clientY];
    };
    const up = () => {
      view.removeEventListener("pointermove", move);
      view.removeEventListener("pointerup", up);
      view.removeEventListener("pointercancel", up);
    };
    view.addEventListener("pointermove", move);
    view.addEventListener("pointerup", up);
    view.addEventListener("pointercancel", up);
  }

  #key(e) {
    const pan = { ArrowLeft: [40, 0], ArrowRight: [-40, 0], ArrowUp: [0, 40], ArrowDown: [0, -40] }[e.key];
    if (pan) this.panBy(...pan);
    else if (e.key === "+" || e.key === "=") this.zoomTo(this.scale * STEP);
    else if (e.key === "-") this.zoomTo(this.scale / STEP);
    else if (e.key === "0") this.fit();
    else return;
    e.preventDefault();
  }

  #apply() {
    if (this.size) {
      // The centre stays on the image, so a pan cannot lose it off-screen.
      this.cx = Math.min(this.size[0], Math.max(0, this.cx));
      this.cy = Math.min(this.size[1], Math.max(0, this.cy));
    }
    for (const view of this.views) {
      const img = view.querySelector("img");
      const tx = view.clientWidth / 2 - this.cx * this.scale;
      const ty = view.clientHeight / 2 - this.cy * this.scale;
      img.style.transform = `translate(${tx}px, ${ty}px) scale(${this.scale})`;
      // Pixels, not a blur, once zoomed in: that is what edge inspection needs.
      img.style.imageRendering = this.scale >= 2 ? "pixelated" : "auto";
    }
    this.onChange?.(this);
  }
}
