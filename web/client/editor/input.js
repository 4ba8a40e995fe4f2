// The editor's input: pointer events from a mouse, pen or finger become
// strokes and clicks; the keyboard gives the shortcuts. Panning and zooming
// are the zoom's (ui/zoom.js): the wheel, the middle button or a drag with
// Space held, and two fingers, which also cancel a stroke one finger began.

const CLICK_SLOP = 4; // view pixels a click may move and still be a click

// Keys -> actions, with the modifiers they need.
function keyAction(e) {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && !e.altKey && key === "z") return e.shiftKey ? "redo" : "undo";
  if (mod && !e.altKey && key === "y") return "redo";
  if (mod || e.altKey) return null;
  return { "[": "smaller", "]": "larger", e: "erase", r: "restore", b: "original", Escape: "leave" }[key] ?? null;
}

// Elements where the keys type text rather than act.
const typing = (el) => el?.closest?.("input[type=text], input[type=number], input[type=search], textarea, select, [contenteditable=true]");

export class EditorInput {
  // handlers: start(point, {eraser}), move(points), end(), cancel(), click(point),
  // hover(point | null), action(name)
  constructor(view, handlers) {
    this.view = view;
    this.handlers = handlers;
    this.active = null; // {id, x, y, moved}: the pointer painting
    this.fingers = new Set();
    this.space = false; // Space held: the primary button pans
    this.over = false; // the pointer is over the view
    this.enabled = false;
    this.#wire();
  }

  // Whether a pointerdown pans instead of painting (read by the zoom).
  pans(e) {
    return e.button === 1 || (e.button === 0 && this.space && e.pointerType !== "touch");
  }

  #point(e) {
    // Pressure only where the device measures it: a mouse reports 0.5 for
    // any press, and most touch screens report a constant too.
    const pressure = e.pointerType === "pen" && e.pressure > 0 ? e.pressure : 1;
    return { clientX: e.clientX, clientY: e.clientY, pressure };
  }

  #wire() {
    const v = this.view;
    v.addEventListener("pointerdown", (e) => {
      if (!this.enabled) return;
      if (e.pointerType === "touch") {
        this.fingers.add(e.pointerId);
        if (this.fingers.size > 1) {
          // Two fingers: a pinch or a pan, never paint.
          if (this.active) this.handlers.cancel();
          this.active = null;
          return;
        }
      }
      if (this.pans(e)) return;
      const eraser = e.button === 5; // a pen's eraser end
      if (e.button !== 0 && !eraser) return;
      e.preventDefault();
      v.focus({ preventScroll: true });
      v.setPointerCapture(e.pointerId);
      this.active = { id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
      this.handlers.start(this.#point(e), { eraser });
    });
    v.addEventListener("pointermove", (e) => {
      if (!this.enabled) return;
      if (e.pointerType !== "touch") this.handlers.hover(this.#point(e));
      if (this.active?.id !== e.pointerId) return;
      const events = e.getCoalescedEvents?.() ?? [];
      const points = (events.length ? events : [e]).map((ev) => this.#point(ev));
      if (Math.hypot(e.clientX - this.active.x, e.clientY - this.active.y) > CLICK_SLOP) this.active.moved = true;
      this.handlers.move(points);
    });
    v.addEventListener("pointerenter", () => (this.over = true));
    v.addEventListener("pointerleave", (e) => {
      this.over = false;
      if (e.pointerType !== "touch") this.handlers.hover(null);
    });
    const up = (e) => {
      this.fingers.delete(e.pointerId);
      if (this.active?.id !== e.pointerId) return;
      const { moved } = this.active;
      this.active = null;
      if (e.type === "pointercancel") this.handlers.cancel();
      else this.handlers.end({ point: this.#point(e), moved });
    };
    v.addEventListener("pointerup", up);
    v.addEventListener("pointercancel", up);
    // The middle button pans; keep the browser's autoscroll out of it.
    v.addEventListener("mousedown", (e) => e.button === 1 && e.preventDefault());

    document.addEventListener("keydown", (e) => {
      if (!this.enabled || typing(e.target)) return;
      // Space pans while the pointer is over the view (then a focused button
      // is not pressed by it), or when the view itself has the focus.
      if (e.key === " " && (this.over || e.target === this.view)) {
        this.space = true;
        this.view.classList.add("panning");
        e.preventDefault();
        return;
      }
      const action = keyAction(e);
      if (!action) return;
      e.preventDefault();
      this.handlers.action(action);
    });
    document.addEventListener("keyup", (e) => {
      if (e.key !== " ") return;
      this.space = false;
      this.view.classList.remove("panning");
    });
  }
}
