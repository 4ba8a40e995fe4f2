// Connected parts of a mask, for "click to remove or keep a part". A part is
// a 4-connected region of subject pixels (mask >= SUBJECT); its soft rim
// (the pixels between 0 and SUBJECT next to it, up to rimDepth() pixels out)
// goes with it, so a removed blob leaves no faint halo.
//
// Labelling is a scanline flood fill here on the page: on a 12 MP mask it
// takes tens of milliseconds, where Pillow's ImageDraw.floodfill, a Python
// loop over pixels, took 7.8 s for a 5 MP region under CPython
// (docs/editor.md).

export const SUBJECT = 128;

// How far a part's soft rim reaches: about what a 1024-pixel engine mask's
// edge spreads to once scaled to the photo's size.
export const rimDepth = (width, height) => Math.max(2, Math.round(Math.max(width, height) / 256));

class Stack {
  constructor() {
    this.data = new Int32Array(1024);
    this.length = 0;
  }

  push(v) {
    if (this.length === this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }

  pop() {
    return this.data[--this.length];
  }
}

// Mark with `label` the part holding pixel i (which must be a subject pixel
// not yet marked); `marks` is a zeroed work buffer of the mask's size.
// Returns the part's box [x0, y0, x1, y1).
function fill(mask, marks, width, height, i, label) {
  const inside = (j) => mask[j] >= SUBJECT && marks[j] === 0;
  const stack = new Stack();
  stack.push(i);
  let [bx0, by0, bx1, by1] = [width, height, 0, 0];
  while (stack.length) {
    const j = stack.pop();
    if (!inside(j)) continue;
    const y = (j / width) | 0;
    const row = y * width;
    let l = j - row;
    let r = l;
    while (l > 0 && inside(row + l - 1)) l--;
    while (r < width - 1 && inside(row + r + 1)) r++;
    marks.fill(label, row + l, row + r + 1);
    bx0 = Math.min(bx0, l);
    bx1 = Math.max(bx1, r + 1);
    by0 = Math.min(by0, y);
    by1 = Math.max(by1, y + 1);
    for (const ny of [y - 1, y + 1]) {
      if (ny < 0 || ny >= height) continue;
      const nrow = ny * width;
      let run = false;
      for (let x = l; x <= r; x++) {
        const ok = inside(nrow + x);
        if (ok && !run) stack.push(nrow + x);
        run = ok;
      }
    }
  }
  return [bx0, by0, bx1, by1];
}

// Mark with `label` the soft rim around the pixels marked `label` in `box`:
// pixels with 0 < mask < SUBJECT reached from them in at most `depth` steps.
// Returns the grown box.
function rim(mask, marks, width, height, box, label, depth) {
  let frontier = new Stack();
  const [x0, y0, x1, y1] = box;
  // Start from the pixels on the part's border only: a large part's inside
  // would fill the queue for nothing.
  const outside = (k) => marks[k] !== label;
  for (let y = y0; y < y1; y++) {
    for (let x = x0, j = y * width + x0; x < x1; x++, j++) {
      if (marks[j] !== label) continue;
      if ((x > 0 && outside(j - 1)) || (x < width - 1 && outside(j + 1)) || (y > 0 && outside(j - width)) || (y < height - 1 && outside(j + width)))
        frontier.push(j);
    }
  }
  let [bx0, by0, bx1, by1] = box;
  for (let step = 0; step < depth && frontier.length; step++) {
    const next = new Stack();
    while (frontier.length) {
      const j = frontier.pop();
      const x = j % width;
      for (const k of [x > 0 ? j - 1 : -1, x < width - 1 ? j + 1 : -1, j - width, j + width]) {
        if (k < 0 || k >= mask.length || marks[k] !== 0 || mask[k] === 0 || mask[k] >= SUBJECT) continue;
        marks[k] = label;
        next.push(k);
        const kx = k % width;
        const ky = (k / width) | 0;
        bx0 = Math.min(bx0, kx);
        bx1 = Math.max(bx1, kx + 1);
        by0 = Math.min(by0, ky);
        by1 = Math.max(by1, ky + 1);
      }
    }
    frontier = next;
  }
  return [bx0, by0, bx1, by1];
}

const DROP = 2; // marks: 1 = the part clicked, DROP = what is removed

// The pixels a click at (x, y) removes: with mode "remove" the part there,
// with "keep" every other part. Marks them DROP in `marks` (zeroed, the
// mask's size) and returns the box holding them, or null when the click is
// not on the subject (or nothing else is there to remove).
export function partToDrop(mask, marks, width, height, x, y, mode) {
  const at = y * width + x;
  if (x < 0 || y < 0 || x >= width || y >= height || mask[at] < SUBJECT) return null;
  const depth = rimDepth(width, height);
  if (mode === "remove") return rim(mask, marks, width, height, fill(mask, marks, width, height, at, DROP), DROP, depth);
  fill(mask, marks, width, height, at, 1);
  let box = null;
  for (let j = 0; j < mask.length; j++) {
    if (mask[j] < SUBJECT || marks[j] !== 0) continue;
    const b = fill(mask, marks, width, height, j, DROP);
    box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : b;
  }
  return box && rim(mask, marks, width, height, box, DROP, depth);
}

export { DROP };
