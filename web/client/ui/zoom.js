// One zoom and pan shared by several views of images of the same size: a
// wheel, drag, pinch or key press in any view moves them all, so the same
// detail sits side by side in every column.
//
// The state is the zoom (1 = one image pixel per CSS pixel) and the image
// point at the centre of each view; each view centres that point itself, so
// views of slightly different widths still line up.
//
// A view's layers (by default its <img>) are the elements moved. One
// pointer pans when the view's `pan` test says so (by default: the primary
// button, a finger or a pen); two fingers always pan and pinch-zoom.

const MIN_SCALE = 0.02;
const MAX_SCALE = 16;
const STEP = 1.25;

export class SyncZoom {
  constructor({ onChange } = {}) {
    this.views = [];
    this.layers = new Map(); // view -> the elements it moves
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

  add(view, { layers = [view.querySelector("img")], pan = (e) => e.button === 0 } = {}) {
    this.views.push(view);
    this.layers.set(view, layers);
    view.addEventListener("wheel", (e) => this.#wheel(view, e), { passive: false });
    this.#pointers(view, pan);
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

  // A point of the page (client coordinates) in image pixels.
  toImage(view, clientX, clientY) {
    const [x, y] = this.#local(view, clientX, clientY);
    return [this.cx + (x - view.clientWidth / 2) / this.scale, this.cy + (y - view.clientHeight / 2) / this.scale];
  }

  #local(view, clientX, clientY) {
    const r = view.getBoundingClientRect();
    return [clientX - r.left - view.clientLeft, clientY - r.top - view.clientTop];
  }

  #wheel(view, e) {
    if (!this.size) return;
    e.preventDefault();
    const [x, y] = this.#local(view, e.clientX, e.clientY);
    const factor = e.deltaY < 0 ? STEP : 1 / STEP;
    this.zoomTo(this.scale * factor, { view, x, y });
  }

  // One pointer drags (when `pan` allows); two fingers pan and pinch.
  #pointers(view, pan) {
    const fingers = new Map(); // pointerId -> [clientX, clientY]
    let drag = null; // {id, x, y}
    let pinch = null; // {x, y, dist}: the two fingers' midpoint and distance
    const twoFingers = () => {
      const [[ax, ay], [bx, by]] = [...fingers.values()];
      return { x: (ax + bx) / 2, y: (ay + by) / 2, dist: Math.max(1, Math.hypot(bx - ax, by - ay)) };
    };
    view.addEventListener("pointerdown", (e) => {
      if (!this.size) return;
      if (e.pointerType === "touch") fingers.set(e.pointerId, [e.clientX, e.clientY]);
      if (fingers.size === 2) {
        drag = null;
        pinch = twoFingers();
        e.preventDefault();
        return;
      }
      if (fingers.size > 2 || !pan(e)) return;
      e.preventDefault();
      view.setPointerCapture(e.pointerId);
      drag = { id: e.pointerId, x: e.clientX, y: e.clientY };
    });
    view.addEventListener("pointermove", (e) => {
      if (fingers.has(e.pointerId)) fingers.set(e.pointerId, [e.clientX, e.clientY]);
      if (pinch && fingers.size === 2 && fingers.has(e.pointerId)) {
        const next = twoFingers();
        this.panBy(next.x - pinch.x, next.y - pinch.y);
        const [x, y] = this.#local(view, next.x, next.y);
        this.zoomTo((this.scale * next.dist) / pinch.dist, { view, x, y });
        pinch = next;
      } else if (drag?.id === e.pointerId) {
        this.panBy(e.clientX - drag.x, e.clientY - drag.y);
        [drag.x, drag.y] = [e.clientX, e.clientY];
      }
    });
    const end = (e) => {
      fingers.delete(e.pointerId);
      if (fingers.size < 2) pinch = null;
      if (drag?.id === e.pointerId) drag = null;
    };
    view.addEventListener("pointerup", end);
    view.addEventListener("pointercancel", end);
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
      const tx = view.clientWidth / 2 - this.cx * this.scale;
      const ty = view.clientHeight / 2 - this.cy * this.scale;
      for (const layer of this.layers.get(view)) {
        layer.style.transform = `translate(${tx}px, ${ty}px) scale(${this.scale})`;
        // Pixels, not a blur, once zoomed in: that is what edge inspection needs.
        layer.style.imageRendering = this.scale >= 2 ? "pixelated" : "auto";
      }
    }
    this.onChange?.(this);
  }
}
