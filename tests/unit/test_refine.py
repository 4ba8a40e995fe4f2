"""backgrone.refine and backgrone.foreground on synthetic edges, where the
right answer is known: a photo with a sharp edge, a mask that only knows it
at a quarter of the photo's resolution."""
from __future__ import annotations

import numpy as np
from PIL import Image

from backgrone import band, foreground, refine

H, W = 96, 160
EDGE = 81  # the photo's edge: x < EDGE is the subject
SUBJECT = (200, 60, 40)
BACKDROP = (40, 90, 210)


def edge_photo(noise: float = 0.0, seed: int = 0) -> Image.Image:
    photo = np.empty((H, W, 3), np.float64)
    photo[:, :EDGE] = SUBJECT
    photo[:, EDGE:] = BACKDROP
    if noise:
        photo += np.random.default_rng(seed).normal(0, noise, photo.shape)
    return Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8))


def quarter_mask() -> Image.Image:
    """The true step brought to 1/4 of the photo's size and back up: a soft
    ramp over several pixels around the edge, as a 1024^2 mask is on a
    4000x3000 photo."""
    truth = np.zeros((H, W), np.uint8)
    truth[:, :EDGE] = 255
    small = Image.fromarray(truth).resize((W // 4, H // 4), Image.Resampling.BILINEAR)
    return small.resize((W, H), Image.Resampling.BILINEAR)


def test_a_soft_ramp_gets_sharper_where_the_photo_has_an_edge():
    photo, mask = edge_photo(noise=2.0), quarter_mask()
    raw = np.asarray(mask, np.float64) / 255
    out = np.asarray(refine.refine(photo, mask, 4.0), np.float64) / 255
    truth = (np.arange(W) < EDGE).astype(np.float64)
    row_raw, row_out = raw[H // 2], out[H // 2]
    # The ramp spans several pixels; refined, the step is where the photo's is.
    assert ((row_raw > 0.05) & (row_raw < 0.95)).sum() >= 4
    assert ((row_out > 0.05) & (row_out < 0.95)).sum() <= 2
    assert row_out[EDGE - 1] > 0.9 and row_out[EDGE] < 0.1
    # And it is closer to the truth everywhere, on every row.
    assert np.abs(out - truth).sum() < 0.3 * np.abs(raw - truth).sum()


def test_pixels_away_from_the_edge_keep_their_values_bit_for_bit():
    photo, mask = edge_photo(noise=6.0), quarter_mask()
    out = np.asarray(refine.refine(photo, mask, 4.0))
    raw = np.asarray(mask)
    # The band: cells whose mask is unsure, grown by GROW cells of 4 px.
    reach = 4 * (refine.GROW + 2)
    far = np.abs(np.arange(W) - EDGE) > reach
    assert np.array_equal(out[:, far], raw[:, far])
    assert (raw[:, far] == 255).any() and (raw[:, far] == 0).any()  # opaque and clear pixels among them


def test_a_mask_with_no_soft_pixels_is_returned_as_it_is():
    mask = Image.new("L", (W, H), 255)
    assert refine.refine(edge_photo(), mask, 4.0) is mask


def test_refinement_does_not_follow_an_edge_the_mask_does_not_have():
    # An edge in the photo far from the mask's edge (texture inside the
    # subject) stays opaque: only the band is touched.
    photo = np.asarray(edge_photo(), np.uint8).copy()
    photo[:, 20:24] = (250, 250, 250)
    out = np.asarray(refine.refine(Image.fromarray(photo), quarter_mask(), 4.0))
    assert (out[:, 10:40] == 255).all()


def disc(size: int = 640, seed: int = 1) -> tuple[Image.Image, Image.Image]:
    """A noisy photo of a disc and its mask known at a quarter of its size:
    an outline long enough to cross many of the band's tiles."""
    yy, xx = np.mgrid[:size, :size]
    inside = (yy - size / 2) ** 2 + (xx - size / 2.3) ** 2 < (size / 3) ** 2
    photo = np.where(inside[..., None], SUBJECT, BACKDROP).astype(np.float64)
    photo += np.random.default_rng(seed).normal(0, 4.0, photo.shape)
    photo = Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8))
    small = Image.fromarray((inside * 255).astype(np.uint8)).resize((size // 4,) * 2, Image.Resampling.BILINEAR)
    return photo, small.resize((size, size), Image.Resampling.BILINEAR)


def test_the_fit_made_a_few_tiles_at_a_time_gives_the_same_mask(monkeypatch):
    photo, mask = disc()
    monkeypatch.setattr(refine, "TILES_PER_FIT", 10**6)
    whole = np.asarray(refine.refine(photo, mask, 4.0))
    monkeypatch.setattr(refine, "TILES_PER_FIT", 3)
    parts = [0]
    real_parts = band.Tiles.parts

    def counted(self, size):
        for part in real_parts(self, size):
            parts[0] += 1
            yield part

    monkeypatch.setattr(band.Tiles, "parts", counted)
    assert np.array_equal(np.asarray(refine.refine(photo, mask, 4.0)), whole)
    assert parts[0] > 3  # the fit really was made in parts
    assert (whole != np.asarray(mask)).any()


def test_in_place_refines_the_mask_itself_and_otherwise_leaves_it_alone():
    photo, mask = disc()
    before = np.asarray(mask).copy()
    copy = refine.refine(photo, mask, 4.0)
    assert copy is not mask and np.array_equal(np.asarray(mask), before)
    same = refine.refine(photo, mask, 4.0, in_place=True)
    assert same is mask and np.array_equal(np.asarray(mask), np.asarray(copy))


def test_a_mask_of_another_size_is_stretched_and_its_scale_found():
    small = quarter_mask().resize((W // 4, H // 4), Image.Resampling.BILINEAR)
    full, scale = refine.stretched(small, (W, H))
    assert full.size == (W, H) and scale == 4.0
    same, scale_same = refine.stretched(full, (W, H))
    assert same is full and scale_same == 1.0
    assert refine.network_scale((4000, 3000)) == 4000 / 1024


def test_band_cells_interpolate_like_bilinear_sampling():
    # The grid's values at cell centres, bilinearly at every pixel: the
    # 3x3-neighbour shortcut against a direct evaluation.
    rng = np.random.default_rng(4)
    grid = rng.random((6, 9, 2)).astype(np.float32)
    step = 4
    b = band.Band(step, (9 * step, 6 * step), np.ones((6, 9), bool))
    cy, cx = np.nonzero(b.cells)
    got = b.interpolate(grid, cy, cx)
    for k in (0, 7, 20, 53):
        for dy in range(step):
            for dx in range(step):
                y, x = cy[k] * step + dy, cx[k] * step + dx
                u, v = (x + 0.5) / step - 0.5, (y + 0.5) / step - 0.5
                x0, y0 = int(np.floor(u)), int(np.floor(v))
                fx, fy = u - x0, v - y0
                def at(yy, xx):
                    return grid[min(max(yy, 0), 5), min(max(xx, 0), 8)]
                want = ((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
                        + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)))
                assert np.allclose(got[k, dy, dx], want, atol=1e-6)


# -- colour decontamination ------------------------------------------------------

def spill_photo(w=2 * W, h=2 * H, ramp=10):
    """A soft edge: alpha a ramp from 1 to 0 over `ramp` px, the photo
    a*F + (1-a)*B."""
    x = np.arange(w, dtype=np.float64)
    alpha = np.clip((w // 2 + ramp / 2 - x) / ramp, 0, 1)
    a = np.broadcast_to(alpha, (h, w))[..., None]
    photo = a * np.asarray(SUBJECT) + (1 - a) * np.asarray(BACKDROP)
    mask = Image.fromarray((np.broadcast_to(alpha, (h, w)) * 255 + 0.5).astype(np.uint8))
    return Image.fromarray((photo + 0.5).astype(np.uint8)), mask


def visible_spill(photo: Image.Image, mask: Image.Image) -> float:
    """How far the colours under the soft edge are from the subject's, as
    much as they show (weighted by alpha), in 8-bit levels."""
    a = np.asarray(mask, np.float64) / 255
    soft = (a > 0) & (a < 1)
    return float((a[soft][:, None] * np.abs(np.asarray(photo, np.float64)[soft] - SUBJECT)).mean())


def test_colour_spill_is_removed_under_soft_edges():
    photo, mask = spill_photo()
    before = visible_spill(photo, mask)
    after = visible_spill(foreground.decontaminate(photo.copy(), mask, 1.0), mask)
    assert before > 15  # the backdrop's blue shows through the edge...
    assert after < 0.3 * before  # ...and is mostly gone


def test_opaque_and_clear_pixels_keep_their_colours():
    photo, mask = spill_photo()
    before = np.asarray(photo).copy()
    out = foreground.decontaminate(photo, mask, 1.0)
    assert out is photo  # in place: the photo is about to become the cutout
    a = np.asarray(mask)
    hard = (a == 0) | (a == 255)
    assert hard.sum() > 0.5 * a.size
    assert np.array_equal(np.asarray(out)[hard], before[hard])


def test_decontamination_on_a_coarser_grid_too():
    # The photo three times larger than its mask's resolution: the grid's
    # cells are 3x3 pixels; hard pixels still keep their colours.
    photo, mask = spill_photo(ramp=30)
    before = np.asarray(photo).copy()
    spill = visible_spill(photo, mask)
    out = foreground.decontaminate(photo, mask, 3.0)
    a = np.asarray(mask)
    hard = (a == 0) | (a == 255)
    assert np.array_equal(np.asarray(out)[hard], before[hard])
    assert visible_spill(out, mask) < 0.3 * spill
