"""The edge band: the few pixels of a photo where its mask is unsure, and the
coarse grid on which the work there is planned.

A mask stretched from the network's 1024x1024 to a 12 MP photo is 0 or 255
almost everywhere; only along the subject's outline (a few % of the pixels)
is it in between. Edge refinement and colour decontamination touch only
that band, so they cost what the outline costs, not what the photo does:

- the grid: the photo and its mask averaged over cells of `step` x `step`
  pixels (Pillow's reduce, in C), about the mask's own resolution;
- the band's cells: grid cells where the mask is unsure, grown by a few
  cells so the refined edge can move off the stretched one;
- tiles: the band's cells in blocks of TILE x TILE, each cut with a margin
  into one stack, so a window filter runs as one numpy call over the stack
  rather than over the whole grid;
- pixels: the full-resolution pixels of the band's cells, read and written
  a strip of rows at a time, so no full-size copy of the photo or its mask
  is made (at 48 MP each full-size copy of the mask is 46 MiB).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

# Grid cells per tile side. Smaller tiles follow the outline more tightly but
# carry more margin per cell; 8 and 32 cost the same as 16 within the
# measurement's noise (docs/quality.md).
TILE = 16
# Photo rows read per strip (rounded to whole cells): a 12 MP photo's strip
# is 3 MB of RGB.
STRIP_ROWS = 256


def grid_step(scale: float) -> int:
    """Photo pixels per grid cell for a mask of `scale` photo pixels per mask
    pixel: about as fine as the mask; at least 2 once the mask is stretched
    at all (a grid finer than the mask holds no more of its information and
    costs the square)."""
    if scale <= 1.0:
        return 1
    return max(2, int(round(scale)))


def reduce(img: Image.Image, step: int) -> Image.Image:
    return img if step == 1 else img.reduce(step)


@dataclass
class Band:
    step: int  # photo pixels per grid cell
    size: tuple[int, int]  # the photo's (width, height)
    cells: np.ndarray  # (gh, gw) bool: the band's grid cells

    @classmethod
    def find(cls, grid_mask: np.ndarray, step: int, size, lo: float, hi: float, grow: int) -> "Band":
        """Cells whose mask (0..1) is strictly between lo and hi, grown by
        `grow` cells (a square)."""
        unsure = (grid_mask > lo) & (grid_mask < hi)
        return cls(step, tuple(size), dilate(unsure, grow))

    @property
    def empty(self) -> bool:
        return not self.cells.any()

    def strips(self):
        """(c0, cy, cx) per strip of cell rows holding band cells: the strip's
        first cell row and its band cells (cy relative to c0)."""
        rows_per = max(1, STRIP_ROWS // self.step)
        gh = self.cells.shape[0]
        for c0 in range(0, gh, rows_per):
            cy, cx = np.nonzero(self.cells[c0:c0 + rows_per])
            if len(cy):
                yield c0, cy, cx

    def blocks(self, img: Image.Image, c0: int, cy: np.ndarray, cx: np.ndarray) -> np.ndarray:
        """The photo pixels of the given cells of one strip (see strips()):
        (cells, step, step[, channels]) uint8; zeros past the photo's edge."""
        s = self.step
        gw = self.cells.shape[1]
        rows = int(cy.max()) + 1
        strip = np.asarray(img.crop((0, c0 * s, gw * s, (c0 + rows) * s)))
        return cells_view(strip, s)[cy, cx]

    def paste(self, img: Image.Image, c0: int, cy: np.ndarray, cx: np.ndarray, values: np.ndarray) -> None:
        """Write (cells, step, step[, channels]) uint8 values into the given
        cells of one strip (see strips()) of `img`, in place; what falls past
        the photo's edge is dropped. A strip at a time, so no full-size copy
        of the image is made."""
        s = self.step
        gw = self.cells.shape[1]
        rows = int(cy.max()) + 1
        box = (0, c0 * s, gw * s, (c0 + rows) * s)
        strip = np.array(img.crop(box))  # writable
        cells_view(strip, s)[cy, cx] = values
        h = min(img.height, box[3]) - box[1]
        img.paste(Image.fromarray(np.ascontiguousarray(strip[:h, :img.width])), (0, box[1]))

    def interpolate(self, grid: np.ndarray, cy: np.ndarray, cx: np.ndarray) -> np.ndarray:
        """A (gh, gw, c) grid array bilinearly interpolated at every photo
        pixel of the given cells (absolute cell rows), the cells' values
        sitting at their centres: (cells, step, step, c) float32. The
        weights depend only on a pixel's place in its cell, so each cell
        takes its 3x3 neighbours and one small matrix product."""
        gh, gw = grid.shape[:2]
        n, c = len(cy), grid.shape[2]
        s = self.step
        if s == 1:
            return grid[cy, cx].astype(np.float32).reshape(n, 1, 1, c)
        neigh = np.empty((9, n, c), np.float32)
        k = 0
        for dy in (-1, 0, 1):
            yy = np.clip(cy + dy, 0, gh - 1)
            for dx in (-1, 0, 1):
                neigh[k] = grid[yy, np.clip(cx + dx, 0, gw - 1)]
                k += 1
        # A matrix product here is slow on such thin shapes (and Pyodide's
        # numpy has no BLAS): four multiply-adds per pixel place instead, the
        # bilinear taps that are not zero.
        weights = _cell_weights(s)  # (s*s, 9)
        out = np.empty((n, s * s, c), np.float32)
        for p in range(s * s):
            taps = np.nonzero(weights[p])[0]
            acc = weights[p, taps[0]] * neigh[taps[0]]
            for k in taps[1:]:
                acc += weights[p, k] * neigh[k]
            out[:, p] = acc
        return out.reshape(n, s, s, c)


def cells_view(arr: np.ndarray, step: int) -> np.ndarray:
    """A (rows*step, cols*step[, ch]) array seen as (rows, cols, step, step[, ch])."""
    h, w = arr.shape[:2]
    v = arr.reshape((h // step, step, w // step, step) + arr.shape[2:])
    return v.swapaxes(1, 2)


def _cell_weights(step: int) -> np.ndarray:
    """Bilinear weights of the 3x3 cells around a cell for each of its
    step x step pixels: (step*step, 9)."""
    u = (np.arange(step) + 0.5) / step - 0.5  # a pixel's offset from its cell's centre, in cells
    taps = np.stack([np.maximum(-u, 0), 1 - np.abs(u), np.maximum(u, 0)], axis=1)  # (step, 3)
    w = taps[:, None, :, None] * taps[None, :, None, :]  # (dy, dx, ky, kx)
    return w.reshape(step * step, 9).astype(np.float32)


def dilate(cells: np.ndarray, grow: int) -> np.ndarray:
    """Binary dilation by a (2g+1)^2 square, separable."""
    out = cells.copy()
    for axis in (0, 1):
        src = out.copy()
        n = src.shape[axis]
        for d in range(1, min(grow, n - 1) + 1):
            a = [slice(None)] * 2
            b = [slice(None)] * 2
            a[axis], b[axis] = slice(0, n - d), slice(d, n)
            out[tuple(a)] |= src[tuple(b)]
            out[tuple(b)] |= src[tuple(a)]
    return out


class Tiles:
    """The TILE x TILE blocks of a grid that hold any of `cells`, each cut
    with `pad` cells of margin: gather() stacks them, inside says which
    entries are grid cells (not past the grid's edge), put() writes each
    tile's centre back into a full grid array."""

    def __init__(self, cells: np.ndarray, pad: int):
        gh, gw = cells.shape
        self.shape = (gh, gw)
        self.pad = pad
        th, tw = -(-gh // TILE), -(-gw // TILE)
        padded = np.zeros((th * TILE, tw * TILE), bool)
        padded[:gh, :gw] = cells
        any_cell = padded.reshape(th, TILE, tw, TILE).any(axis=(1, 3))
        ty, tx = np.nonzero(any_cell)
        self.count = len(ty)
        span = np.arange(-pad, TILE + pad)
        ys = ty[:, None] * TILE + span[None, :]  # (n, T + 2p)
        xs = tx[:, None] * TILE + span[None, :]
        self._ok_y = (ys >= 0) & (ys < gh)
        self._ok_x = (xs >= 0) & (xs < gw)
        self._ys = np.clip(ys, 0, gh - 1)
        self._xs = np.clip(xs, 0, gw - 1)
        self.inside = (self._ok_y[:, :, None] & self._ok_x[:, None, :]).astype(np.float64)
        self._ty, self._tx = ty, tx

    def parts(self, size: int):
        """Slices of at most `size` tiles, for work whose temporaries would
        be too large over every tile at once."""
        for k in range(0, self.count, size):
            yield slice(k, k + size)

    def gather(self, grid: np.ndarray, part: slice = slice(None)) -> np.ndarray:
        """(n, T + 2p, T + 2p, ...) stack of the tiles (those of `part`) of a
        (gh, gw, ...) array, zero past the grid's edge."""
        out = grid[self._ys[part, :, None], self._xs[part, None, :]]
        inside = self.inside[part]
        inside = inside.reshape(inside.shape + (1,) * (grid.ndim - 2))
        return out * inside.astype(out.dtype) if out.dtype.kind == "f" else out

    def put(self, tiles: np.ndarray, out: np.ndarray, part: slice = slice(None)) -> None:
        """Write each tile's centre (TILE x TILE, without the margin) into
        `out`; `tiles` holds those of `part`."""
        p = self.pad
        gh, gw = self.shape
        centre = tiles[:, p:p + TILE, p:p + TILE]
        for j, k in enumerate(range(self.count)[part]):
            y0, x0 = self._ty[k] * TILE, self._tx[k] * TILE
            h, w = min(TILE, gh - y0), min(TILE, gw - x0)
            out[y0:y0 + h, x0:x0 + w] = centre[j, :h, :w]


def photo_grid(rgb: Image.Image, step: int) -> np.ndarray:
    """The photo's cell means, (gh, gw, 3) uint8."""
    return np.asarray(reduce(rgb, step))
