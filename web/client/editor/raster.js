// Strokes at the mask's full resolution. A stroke is a path of points in
// image pixels, each with the brush's radius there (a pen's pressure changes
// it); a pixel's coverage is 255 within the brush, falling to 0 at its rim
// over a width set by the softness. Coverage of several segments combines
// by maximum, so a path that crosses itself is not painted twice.
//
// Geometry: pixel (x, y) is the square [x, x+1) x [y, y+1); its distance is
// taken from its centre. With softness 0 the rim is one pixel wide (anti-
// aliasing): coverage is full up to radius - 1 and nothing from the radius on.

export const FULL = 255;

// Brush sizes, as a diameter in screen pixels (the cursor's size).
export const MIN_SIZE = 2;
export const MAX_SIZE = 400;

// The rim's width in pixels for a brush of radius r.
export const rimWidth = (r, softness) => Math.max(1, softness * r);

export const union = (a, b) => (!a ? b : !b ? a : [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);

// Paint the segment from (ax, ay) with radius ar to (bx, by) with radius br
// into `cov`, a coverage buffer for the box `area` [x0, y0, x1, y1) of the
// image (row by row, (x1 - x0) bytes a row). Returns the box it touched, or null.
export function paintSegment(cov, area, ax, ay, ar, bx, by, br, softness) {
  const [ox, oy, ex, ey] = area;
  const stride = ex - ox;
  const R = Math.max(ar, br);
  const x0 = Math.max(ox, Math.floor(Math.min(ax, bx) - R));
  const y0 = Math.max(oy, Math.floor(Math.min(ay, by) - R));
  const x1 = Math.min(ex, Math.ceil(Math.max(ax, bx) + R));
  const y1 = Math.min(ey, Math.ceil(Math.max(ay, by) + R));
  if (x0 >= x1 || y0 >= y1) return null;
  const dx = bx - ax;
  const dy = by - ay;
  const dr = br - ar;
  const len2 = dx * dx + dy * dy;
  const nx = len2 > 0 ? -dy / Math.sqrt(len2) : 0;
  const ny = len2 > 0 ? dx / Math.sqrt(len2) : 0;
  for (let y = y0; y < y1; y++) {
    const py = y + 0.5 - ay;
    let [sx, tx] = [x0, x1];
    if (len2 > 0 && nx !== 0) {
      // On this row the segment's capsule lies where the distance to its
      // line is at most R: a cheap bound that skips most of a diagonal's box.
      const lo = (-R - py * ny) / nx;
      const hi = (R - py * ny) / nx;
      sx = Math.max(x0, Math.floor(ax - 0.5 + Math.min(lo, hi)));
      tx = Math.min(x1, Math.ceil(ax - 0.5 + Math.max(lo, hi)) + 1);
    }
    let i = (y - oy) * stride + (sx - ox);
    for (let x = sx; x < tx; x++, i++) {
      if (cov[i] === FULL) continue;
      const px = x + 0.5 - ax;
      let t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const qx = px - t * dx;
      const qy = py - t * dy;
      const r = ar + t * dr;
      const d2 = qx * qx + qy * qy;
      if (d2 >= r * r) continue;
      const u = (r - Math.sqrt(d2)) / rimWidth(r, softness);
      const c = u >= 1 ? FULL : Math.round(FULL * u * u * (3 - 2 * u));
      if (c > cov[i]) cov[i] = c;
    }
  }
  return [x0, y0, x1, y1];
}

// Paint the n-th piece of a path: its first point as a dot, then each
// segment. Returns the box it touched, or null.
export function paintPiece(cov, area, points, n, softness) {
  const i = n === 0 ? 0 : (n - 1) * 3;
  const j = n * 3;
  return paintSegment(cov, area, points[i], points[i + 1], points[i + 2], points[j], points[j + 1], points[j + 2], softness);
}

// A whole stroke's coverage over its box, for replaying it: the same
// pieces as when it was painted, so the same pixels.
export function strokeCoverage(points, softness, box) {
  const cov = new Uint8Array((box[2] - box[0]) * (box[3] - box[1]));
  for (let n = 0; n < points.length / 3; n++) paintPiece(cov, box, points, n, softness);
  return cov;
}

// How a stroke changes a mask value m where its coverage is c (0..255),
// rounded, and exact at the ends: c = 255 gives 0 (erase) or 255 (restore),
// c = 0 leaves m as it was.
export const erase = (m, c) => ((m * (FULL - c) + 127) / FULL) | 0;
export const restore = (m, c) => m + ((((FULL - m) * c + 127) / FULL) | 0);
// The edge-aware brush: towards the refined value q, but a restore never
// lowers the mask and an erase never raises it.
export function towards(m, q, c, mode) {
  const t = mode === "restore" ? Math.max(m, q) : Math.min(m, q);
  return ((m * (FULL - c) + t * c + 127) / FULL) | 0;
}
