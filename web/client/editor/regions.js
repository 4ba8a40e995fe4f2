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
// edge spreads to once scaled to the photo's size, and at least the 3 pixels
// of fall-off that edge refinement leaves on a small photo (a removed blob
// must leave no faint halo).
export const MIN_RIM = 4;
export const rimDepth = (width, height) => Math.max(MIN_RIM, Math.round(Math.max(width, height) / 256));

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

// Mark with `label` the part holding pixel `start` (a subject pixel not yet
// marked); `marks` is a zeroed work buffer of the mask's size. With `edge`
// (a Stack), the soft pixels touching the part (0 < mask < SUBJECT) are
// marked too and pushed there: the first step of its rim, found on the way.
// Returns the part's box [x0, y0, x1, y1).
function fill(mask, marks, width, height, start, label, edge = null) {
  const stack = new Stack();
  stack.push(start);
  const touch = (k) => {
    const v = mask[k];
    if (v > 0 && v < SUBJECT && marks[k] === 0) {
      marks[k] = label;
      edge.push(k);
    }
  };
  let [bx0, by0, bx1, by1] = [width, height, 0, 0];
  while (stack.length) {
    const j = stack.pop();
    if (mask[j] < SUBJECT || marks[j] !== 0) continue;
    const y = (j / width) | 0;
    const row = y * width;
    let l = j - row;
    let r = l;
    while (l > 0 && mask[row + l - 1] >= SUBJECT && marks[row + l - 1] === 0) l--;
    while (r < width - 1 && mask[row + r + 1] >= SUBJECT && marks[row + r + 1] === 0) r++;
    marks.fill(label, row + l, row + r + 1);
    if (edge && l > 0) touch(row + l - 1);
    if (edge && r < width - 1) touch(row + r + 1);
    bx0 = Math.min(bx0, l);
    bx1 = Math.max(bx1, r + 1);
    by0 = Math.min(by0, y);
    by1 = Math.max(by1, y + 1);
    // The rows above and below: one seed for each run of subject pixels.
    for (let ny = y - 1; ny <= y + 1; ny += 2) {
      if (ny < 0 || ny >= height) continue;
      let run = false;
      for (let k = ny * width + l, end = ny * width + r; k <= end; k++) {
        const v = mask[k];
        if (v >= SUBJECT && marks[k] === 0) {
          if (!run) stack.push(k);
          run = true;
          continue;
        }
        run = false;
        if (edge !== null && v > 0 && v < SUBJECT && marks[k] === 0) {
          marks[k] = label;
          edge.push(k);
        }
      }
    }
  }
  return [bx0, by0, bx1, by1];
}

// Grow the rim from its first step (`edge`, marked `label`) to `depth`
// steps: soft pixels reached through soft pixels. Returns `box` grown to
// hold the rim.
function rim(mask, marks, width, box, label, depth, edge) {
  let [bx0, by0, bx1, by1] = box;
  const grow = (k) => {
    const x = k % width;
    const y = (k / width) | 0;
    bx0 = Math.min(bx0, x);
    bx1 = Math.max(bx1, x + 1);
    by0 = Math.min(by0, y);
    by1 = Math.max(by1, y + 1);
  };
  for (let i = 0; i < edge.length; i++) grow(edge.data[i]);
  let frontier = edge;
  for (let step = 1; step < depth && frontier.length; step++) {
    const next = new Stack();
    while (frontier.length) {
      const j = frontier.pop();
      const x = j % width;
      const step = (k) => {
        if (marks[k] !== 0 || mask[k] === 0 || mask[k] >= SUBJECT) return;
        marks[k] = label;
        next.push(k);
        grow(k);
      };
      if (x > 0) step(j - 1);
      if (x < width - 1) step(j + 1);
      if (j >= width) step(j - width);
      if (j + width < mask.length) step(j + width);
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
  const edge = new Stack();
  if (mode === "remove") return rim(mask, marks, width, fill(mask, marks, width, height, at, DROP, edge), DROP, depth, edge);
  fill(mask, marks, width, height, at, 1);
  let box = null;
  for (let j = 0; j < mask.length; j++) {
    if (mask[j] < SUBJECT || marks[j] !== 0) continue;
    const b = fill(mask, marks, width, height, j, DROP, edge);
    box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : b;
  }
  return box && rim(mask, marks, width, box, DROP, depth, edge);
}

export { DROP };
