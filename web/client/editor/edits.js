// The touch-up edits of one image in the queue: a list of operations that
// replay on any base mask (the engine's, or one the result view refines),
// the full-resolution mask they give, and undo and redo.
//
// Operations:
//   {kind: "stroke", mode: "erase"|"restore", points: [x, y, radius, ...],
//    softness, box, refined?}  refined: the edge-aware brush's mask over box
//   {kind: "part", mode: "remove"|"keep", x, y}   click on a connected part
//   {kind: "reset"}                               back to the base mask
//
// Every change runs through run(), one after another, after the mask has
// caught up with the item's base mask (baseOf): when it is replaced (a new
// result, or "Refine edges" switched), the operations replay on the new one,
// so no edit is lost. Undo pastes back
// the pixels an operation changed; past PATCH_BUDGET the oldest of those are
// let go, and undoing that far replays from the base instead.

import { decodeMask } from "./pixels.js";
import { erase, restore, strokeCoverage, towards } from "./raster.js";
import { DROP, partToDrop } from "./regions.js";

const PATCH_BUDGET = 160 * 2 ** 20; // bytes of undo pixels kept per image

// The mask the edits apply to (a PNG): the one the result view shows, the
// refined or the engine's raw mask (item.baseMask), else the result's own.
export const baseOf = (item) => item.baseMask ?? item.result.mask;

export class Edits {
  constructor(item) {
    this.item = item;
    this.width = item.result.width;
    this.height = item.result.height;
    this.ops = [];
    this.done = 0; // ops[0..done) are applied; the rest can be redone
    this.patches = []; // per applied op: {box, pixels} from before it, or null
    this.base = null; // Uint8Array: the base mask
    this.baseRef = null; // the PNG it was decoded from
    this.mask = null; // Uint8Array: the base with ops[0..done) applied
    this.marks = null; // work buffer for parts
    this.rebased = false; // set when the base changed under the edits
    this.chain = Promise.resolve();
  }

  get canUndo() {
    return this.done > 0;
  }

  get canRedo() {
    return this.done < this.ops.length;
  }

  get edited() {
    return this.done > 0;
  }

  get full() {
    return [0, 0, this.width, this.height];
  }

  // Run `fn` after every change queued before it, on an up-to-date mask.
  run(fn) {
    const next = this.chain.then(async () => {
      await this.#sync();
      return fn(this);
    });
    this.chain = next.catch(() => {});
    return next;
  }

  async #sync() {
    const ref = baseOf(this.item);
    if (ref === this.baseRef && this.mask) return;
    this.base = await decodeMask(ref, this.width, this.height);
    this.rebased = this.baseRef !== null;
    this.baseRef = ref;
    this.mask = this.base.slice();
    this.patches = [];
    for (let i = 0; i < this.done; i++) {
      this.#apply(this.ops[i], false);
      this.patches.push(null);
    }
  }

  // The edited mask for an export, or null when there are no edits.
  exportMask() {
    return this.run(() => (this.edited ? this.mask.slice() : null));
  }

  // Apply a new operation, dropping those undone. Returns the box it
  // changed, or null when it changes nothing (a click beside the subject):
  // then it is not recorded.
  push(op) {
    const r = this.#apply(op, true);
    if (!r) return null;
    this.ops.length = this.done;
    this.patches.length = this.done;
    this.ops.push(op);
    this.patches.push(r.before);
    this.done++;
    this.#trim();
    return r.box;
  }

  undo() {
    if (!this.canUndo) return null;
    const i = --this.done;
    const patch = this.patches[i];
    this.patches[i] = null;
    if (patch) {
      this.#paste(patch);
      return patch.box;
    }
    this.mask.set(this.base);
    for (let k = 0; k < i; k++) this.#apply(this.ops[k], false);
    return this.full;
  }

  redo() {
    if (!this.canRedo) return null;
    const r = this.#apply(this.ops[this.done], true);
    this.patches[this.done++] = r?.before ?? null;
    this.#trim();
    return r?.box ?? null;
  }

  #crop(box) {
    const [x0, y0, x1, y1] = box;
    const w = x1 - x0;
    const out = new Uint8Array(w * (y1 - y0));
    for (let y = y0; y < y1; y++) out.set(this.mask.subarray(y * this.width + x0, y * this.width + x1), (y - y0) * w);
    return { box, pixels: out };
  }

  #paste({ box, pixels }) {
    const [x0, y0, x1, y1] = box;
    const w = x1 - x0;
    for (let y = y0; y < y1; y++) this.mask.set(pixels.subarray((y - y0) * w, (y - y0 + 1) * w), y * this.width + x0);
  }

  #trim() {
    let total = this.patches.reduce((sum, p) => sum + (p ? p.pixels.length : 0), 0);
    for (let i = 0; i < this.patches.length && total > PATCH_BUDGET; i++) {
      if (!this.patches[i]) continue;
      total -= this.patches[i].pixels.length;
      this.patches[i] = null;
    }
  }

  // Apply one operation to the mask; {box, before} (before only if asked), or null.
  #apply(op, keep) {
    if (op.kind === "reset") {
      const before = keep ? this.#crop(this.full) : null;
      this.mask.set(this.base);
      return { box: this.full, before };
    }
    if (op.kind === "part") return this.#part(op, keep);
    return this.#stroke(op, keep);
  }

  #stroke(op, keep) {
    const box = op.box;
    const before = keep ? this.#crop(box) : null;
    // Painted coverage is handed over once; a replay paints it again.
    const cov = op.coverage ?? strokeCoverage(op.points, op.softness, box);
    delete op.coverage;
    const [x0, y0, x1, y1] = box;
    const bw = x1 - x0;
    const { mask, width } = this;
    const plain = op.mode === "erase" ? erase : restore;
    for (let y = y0; y < y1; y++) {
      let i = y * width + x0;
      let k = (y - y0) * bw;
      if (op.refined) {
        for (let x = x0; x < x1; x++, i++, k++) if (cov[k]) mask[i] = towards(mask[i], op.refined[k], cov[k], op.mode);
      } else {
        for (let x = x0; x < x1; x++, i++, k++) if (cov[k]) mask[i] = plain(mask[i], cov[k]);
      }
    }
    return { box, before };
  }

  #part(op, keep) {
    const { mask, width, height } = this;
    const marks = (this.marks ??= new Uint8Array(width * height));
    const box = partToDrop(mask, marks, width, height, op.x, op.y, op.mode);
    let before = null;
    if (box) {
      before = keep ? this.#crop(box) : null;
      const [x0, y0, x1, y1] = box;
      for (let y = y0; y < y1; y++) {
        for (let i = y * width + x0, end = y * width + x1; i < end; i++) if (marks[i] === DROP) mask[i] = 0;
      }
    }
    marks.fill(0);
    return box ? { box, before } : null;
  }
}

// The item's edits, made on first use.
export const editsOf = (item) => (item.edits ??= new Edits(item));

// What `render` needs for an item's mask: the edited one as raw pixels, or
// the engine's PNG when it has no edits.
export async function maskFields(item) {
  const edited = item.edits ? await item.edits.exportMask() : null;
  if (!edited) return { mask: baseOf(item), maskSize: null };
  return { mask: edited.buffer, maskSize: [item.result.width, item.result.height] };
}
