"""backgrone.compose: subject box, backgrounds, crop, export formats, names, ZIP.

Small images with known content: a 40x30 photo whose subject is a red 10x10
square at (15, 10)-(25, 20), and a mask marking exactly that square.
"""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image, ImageFilter

from backgrone.compose import (
    OptionsError,
    RenderOptions,
    crop_box,
    encode,
    encode_mask,
    make_zip,
    output_name,
    render,
    subject_box,
)
from backgrone.errors import BackgroneError

W, H = 40, 30
SUBJECT = (15, 10, 25, 20)  # left, top, right, bottom
RED = (220, 20, 30)
rng = np.random.default_rng(7)
NOISE = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)


def make_photo() -> Image.Image:
    """Random background, red subject square."""
    arr = NOISE.copy()
    l, t, r, b = SUBJECT
    arr[t:b, l:r] = RED
    return Image.fromarray(arr, "RGB")


def make_mask(box=SUBJECT, size=(W, H), value=255) -> Image.Image:
    arr = np.zeros(size[::-1], np.uint8)
    l, t, r, b = box
    arr[t:b, l:r] = value
    return Image.fromarray(arr, "L")


def outside(arr: np.ndarray, box=SUBJECT, pad: int = 0) -> np.ndarray:
    """Boolean selector of the pixels at least `pad` px outside `box`."""
    sel = np.ones(arr.shape[:2], bool)
    l, t, r, b = box
    sel[max(0, t - pad) : b + pad, max(0, l - pad) : r + pad] = False
    return sel


def inside(arr: np.ndarray, box=SUBJECT) -> np.ndarray:
    l, t, r, b = box
    return arr[t:b, l:r]


def px(img: Image.Image) -> np.ndarray:
    return np.asarray(img).astype(int)


# -- subject_box, crop_box ---------------------------------------------------


def test_subject_box_is_the_tight_box_of_the_mask():
    assert subject_box(make_mask()) == SUBJECT


def test_subject_box_ignores_faint_haze_at_the_threshold():
    arr = np.asarray(make_mask()).copy()
    arr[0, 0] = 8  # at the threshold: haze
    arr[29, 39] = 9  # above: part of the subject
    assert subject_box(Image.fromarray(arr, "L")) == (15, 10, 40, 30)
    assert subject_box(Image.fromarray(arr, "L"), threshold=9) == SUBJECT


def test_subject_box_of_a_single_pixel_and_of_an_empty_mask():
    assert subject_box(make_mask((3, 4, 4, 5))) == (3, 4, 4, 5)
    assert subject_box(Image.new("L", (W, H), 8)) is None
    assert subject_box(Image.new("L", (W, H), 0)) is None


def test_crop_box_grows_by_the_margin_of_the_larger_side_on_every_side():
    assert crop_box(make_mask(), 0.1) == (14, 9, 26, 21)  # 10 px side -> 1 px
    assert crop_box(make_mask(), 0.0) == SUBJECT
    # A wide box: the margin comes from the width (20 px -> 2 px), also vertically.
    assert crop_box(make_mask((10, 10, 30, 14)), 0.1) == (8, 8, 32, 16)


def test_crop_box_is_clamped_to_the_image():
    assert crop_box(make_mask((0, 0, 10, 10)), 0.5) == (0, 0, 15, 15)
    assert crop_box(make_mask((30, 22, 40, 30)), 0.5) == (25, 17, 40, 30)
    assert crop_box(make_mask(), 10.0) == (0, 0, W, H)


def test_crop_box_of_an_empty_mask_is_none():
    assert crop_box(Image.new("L", (W, H), 0), 0.05) is None


def test_crop_box_refuses_a_negative_margin():
    with pytest.raises(OptionsError):
        crop_box(make_mask(), -0.1)


# -- render: transparent -------------------------------------------------------


def test_transparent_alpha_is_the_mask_and_colours_are_the_photo():
    mask = Image.fromarray(rng.integers(0, 256, (H, W), dtype=np.uint8), "L")
    out = render(make_photo(), mask, None, RenderOptions())
    assert out.mode == "RGBA" and out.size == (W, H)
    arr = np.asarray(out)
    assert np.array_equal(arr[:, :, 3], np.asarray(mask))
    assert np.array_equal(arr[:, :, :3], np.asarray(make_photo()))


def test_transparent_alpha_multiplies_with_the_photos_own_alpha():
    mask = Image.new("L", (W, H), 255)
    alpha_arr = np.full((H, W), 255, np.uint8)
    alpha_arr[:, :20] = 128
    alpha_arr[0, 0] = 0
    mask_arr = np.asarray(mask).copy()
    mask_arr[:, 30:] = 128
    out = px(render(make_photo(), Image.fromarray(mask_arr, "L"), Image.fromarray(alpha_arr, "L"), RenderOptions()))
    assert out[0, 0, 3] == 0
    assert abs(out[5, 5, 3] - 128) <= 1  # 255 * 128
    assert out[5, 25, 3] == 255  # both opaque
    assert abs(out[5, 35, 3] - 128) <= 1  # 128 * 255


# -- render: colour ------------------------------------------------------------


def test_color_background_outside_and_photo_inside():
    opts = RenderOptions(background="color", color=(0, 128, 255))
    out = render(make_photo(), make_mask(), None, opts)
    assert out.mode == "RGB" and out.size == (W, H)
    arr = px(out)
    assert (arr[outside(arr)] == (0, 128, 255)).all()
    assert (inside(arr) == RED).all()


def test_half_transparent_mask_blends_photo_and_colour():
    photo = Image.new("RGB", (3, 1), (200, 100, 0))
    mask = Image.fromarray(np.array([[128, 64, 0]], np.uint8), "L")
    out = px(render(photo, mask, None, RenderOptions(background="color", color=(0, 50, 250))))
    for x, m in enumerate((128, 64, 0)):
        expect = [(p * m + c * (255 - m)) / 255 for p, c in zip((200, 100, 0), (0, 50, 250))]
        assert np.abs(out[0, x] - expect).max() <= 1, (x, out[0, x], expect)


def test_color_shows_where_the_photo_itself_was_transparent():
    alpha = Image.new("L", (W, H), 255)
    alpha.paste(0, (15, 10, 20, 20))  # the left half of the subject was transparent
    alpha.paste(128, (20, 10, 25, 20))
    out = px(render(make_photo(), make_mask(), alpha, RenderOptions(background="color", color=(0, 0, 0))))
    assert (out[10:20, 15:20] == 0).all()
    expect = np.array(RED) * 128 / 255
    assert np.abs(out[10:20, 20:25] - expect).max() <= 1


# -- render: blur --------------------------------------------------------------


def blur_photo(w: int, h: int) -> tuple[Image.Image, Image.Image, tuple[int, int, int, int]]:
    """Left half a 1 px black/white checkerboard, right half solid blue, a red
    subject in the middle; returns (photo, mask, subject box)."""
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.zeros((h, w, 3), np.uint8)
    arr[...] = ((xx + yy) % 2 * 255)[..., None]
    arr[:, w // 2 :] = (0, 0, 255)
    box = (w * 2 // 5, h * 2 // 5, w * 3 // 5, h * 3 // 5)
    l, t, r, b = box
    arr[t:b, l:r] = RED
    return Image.fromarray(arr, "RGB"), make_mask(box, (w, h)), box


@pytest.mark.parametrize("size", [(80, 60), (1200, 900)])  # the second is blurred downscaled
def test_blur_background_is_the_photo_smoothed_and_the_subject_is_unchanged(size):
    w, h = size
    photo, mask, box = blur_photo(w, h)
    out = render(photo, mask, None, RenderOptions(background="blur", blur=0.05))
    assert out.mode == "RGB" and out.size == size
    arr, orig = px(out), px(photo)
    assert np.array_equal(inside(arr, box), inside(orig, box))
    # Far from the subject and from the middle line (colours bleed by the radius):
    left = arr[:, : w // 5]
    right = arr[:, w * 4 // 5 :]
    # The checkerboard becomes an even grey: neighbours differ little.
    assert np.abs(np.diff(orig[:, : w // 5], axis=1)).mean() == 255
    assert np.abs(np.diff(left, axis=1)).mean() < 5
    assert np.abs(left - 127.5).max() < 20
    # The blue half stays blue: it is the photo that is blurred.
    assert np.abs(right - (0, 0, 255)).max() <= 2


def test_blur_of_a_large_photo_looks_like_a_full_resolution_blur():
    # Worked on a 512 px copy, it must still match a blur of the whole photo,
    # radius for radius: a step edge plus a diagonal texture.
    w, h = 1200, 900
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.zeros((h, w, 3), np.uint8)
    arr[:, w // 2 :, 0] = 255
    arr[..., 1] = (xx * 7 + yy * 3) % 256
    photo = Image.fromarray(arr, "RGB")
    out = render(photo, Image.new("L", (w, h), 0), None, RenderOptions(background="blur", blur=0.02))
    full = photo.filter(ImageFilter.GaussianBlur(0.02 * w))
    diff = np.abs(px(out) - px(full))[8:-8, 8:-8]  # the borders are handled differently
    assert diff.max() <= 8 and diff.mean() < 1


def test_blur_zero_leaves_the_photo_as_it_is():
    photo, mask, _ = blur_photo(80, 60)
    out = render(photo, mask, None, RenderOptions(background="blur", blur=0))
    assert np.array_equal(px(out), px(photo))


# -- render: picked image ------------------------------------------------------


def test_picked_image_of_one_colour_fills_the_background():
    picked = Image.new("RGB", (10, 10), (12, 200, 77))
    out = px(render(make_photo(), make_mask(), None, RenderOptions(background="image", image=picked)))
    assert (out[outside(out)] == (12, 200, 77)).all()
    assert (inside(out) == RED).all()


def test_picked_image_covers_and_is_centre_cropped():
    # 80x30 for a 40x30 photo: height fits at scale 1; the outer quarters
    # (yellow) are cut off, the middle is blue | green.
    arr = np.zeros((30, 80, 3), np.uint8)
    arr[:, :20] = (255, 255, 0)
    arr[:, 20:40] = (0, 0, 255)
    arr[:, 40:60] = (0, 255, 0)
    arr[:, 60:] = (255, 255, 0)
    picked = Image.fromarray(arr, "RGB")
    out = px(render(make_photo(), make_mask(), None, RenderOptions(background="image", image=picked)))
    assert (out[:, :15] == (0, 0, 255)).all()
    assert (out[:, 25:] == (0, 255, 0)).all()


def test_small_picked_image_is_scaled_up_to_cover():
    # 8x4 (2:1) for the 40x30 photo: scaled x7.5 on height, the sides cut off.
    arr = np.zeros((4, 8, 3), np.uint8)
    arr[:, :4] = (0, 0, 255)
    arr[:, 4:] = (0, 255, 0)
    out = px(render(make_photo(), make_mask(), None, RenderOptions(background="image", image=Image.fromarray(arr, "RGB"))))
    assert out.shape == (H, W, 3)
    assert (out[:, :12] == (0, 0, 255)).all()
    assert (out[:, 28:] == (0, 255, 0)).all()


def test_picked_image_with_alpha_or_palette_becomes_rgb():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))  # fully transparent -> white
    out = px(render(make_photo(), make_mask(), None, RenderOptions(background="image", image=rgba)))
    assert (out[outside(out)] == 255).all()
    pal = Image.new("RGB", (10, 10), (9, 99, 199)).convert("P", palette=Image.Palette.ADAPTIVE)
    out = px(render(make_photo(), make_mask(), None, RenderOptions(background="image", image=pal)))
    assert (out[outside(out)] == (9, 99, 199)).all()


# -- render: crop --------------------------------------------------------------


@pytest.mark.parametrize("background", ["transparent", "color", "blur", "image"])
def test_crop_cuts_the_result_to_the_box_with_margin(background):
    picked = Image.fromarray(rng.integers(0, 256, (25, 35, 3), dtype=np.uint8), "RGB")
    alpha = Image.fromarray(rng.integers(0, 256, (H, W), dtype=np.uint8), "L")
    opts = RenderOptions(background=background, image=picked, margin=0.2)
    full = render(make_photo(), make_mask(), alpha, opts)
    cropped = render(make_photo(), make_mask(), alpha, RenderOptions(background=background, image=picked, crop=True, margin=0.2))
    assert cropped.size == (14, 14)
    assert cropped.mode == full.mode
    # The same pixels as the uncropped result at that place.
    assert np.array_equal(px(cropped), px(full)[8:22, 13:27])


def test_crop_with_an_empty_mask_keeps_the_whole_image():
    out = render(make_photo(), Image.new("L", (W, H), 0), None, RenderOptions(background="color", crop=True))
    assert out.size == (W, H)
    assert (px(out) == 255).all()


def test_render_refuses_a_mask_of_another_size():
    with pytest.raises(ValueError):
        render(make_photo(), Image.new("L", (W, H + 1), 0), None, RenderOptions())


# -- encode --------------------------------------------------------------------


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def cutout_image() -> Image.Image:
    return render(make_photo(), make_mask(), None, RenderOptions())


def test_png_is_lossless_rgba_and_rgb():
    img = cutout_image()
    data, mime = encode(img, "png")
    back = decode(data)
    assert mime == "image/png" and back.format == "PNG" and back.mode == "RGBA"
    got, want = np.asarray(back), np.asarray(img)
    seen = want[:, :, 3] > 0
    assert seen.any() and not seen.all()
    assert np.array_equal(got[seen], want[seen])
    assert not got[~seen].any()  # fully transparent pixels carry no colour
    rgb = make_photo()
    back = decode(encode(rgb, "png")[0])
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), np.asarray(rgb))


def test_webp_keeps_alpha():
    img = cutout_image()
    data, mime = encode(img, "webp")
    back = decode(data)
    assert mime == "image/webp" and back.format == "WEBP" and back.mode == "RGBA"
    assert np.array_equal(np.asarray(back)[:, :, 3], np.asarray(img)[:, :, 3])
    assert np.abs(inside(px(back))[2:-2, 2:-2, :3] - RED).max() <= 12


def test_webp_of_an_rgb_image():
    back = decode(encode(make_photo(), "webp")[0])
    assert back.format == "WEBP" and back.mode == "RGB" and back.size == (W, H)


def test_jpeg_is_rgb_with_white_where_transparent():
    data, mime = encode(cutout_image(), "jpeg")
    back = decode(data)
    assert mime == "image/jpeg" and back.format == "JPEG" and back.mode == "RGB"
    assert not back.info.get("progressive")
    arr = px(back)
    # The noisy background is gone; JPEG rings a little near the edge.
    assert (arr[outside(arr, pad=3)] >= 235).all()
    assert np.abs(inside(arr)[3:-3, 3:-3] - RED).max() <= 16


def test_jpeg_quality_is_used_and_jpg_is_an_alias():
    noisy = Image.fromarray(NOISE, "RGB")
    low, _ = encode(noisy, "jpeg", quality=20)
    high, mime = encode(noisy, "jpg", quality=95)
    assert mime == "image/jpeg"
    assert len(low) < len(high) * 0.7


@pytest.mark.parametrize("fmt", ["gif", "", "PNG8"])
def test_unknown_format_is_refused(fmt):
    with pytest.raises(OptionsError) as info:
        encode(cutout_image(), fmt)
    assert info.value.code == "bad-options"


@pytest.mark.parametrize("quality", [0, 101, 90.5, True])
def test_bad_quality_is_refused(quality):
    with pytest.raises(OptionsError):
        encode(make_photo(), "jpeg", quality=quality)


def test_webp_too_wide_is_refused_with_a_message():
    with pytest.raises(OptionsError, match="PNG"):
        encode(Image.new("RGB", (16384, 1)), "webp")


def test_encode_mask_is_a_greyscale_png():
    mask = Image.fromarray(rng.integers(0, 256, (H, W), dtype=np.uint8), "L")
    data, mime = encode_mask(mask)
    back = decode(data)
    assert mime == "image/png" and back.format == "PNG" and back.mode == "L"
    assert np.array_equal(np.asarray(back), np.asarray(mask))


# -- options -------------------------------------------------------------------


def test_from_dict_defaults():
    opts = RenderOptions.from_dict({})
    assert opts == RenderOptions()
    assert opts.background == "transparent" and opts.color == (255, 255, 255)
    assert opts.blur == 0.02 and opts.crop is False and opts.margin == 0.05


@pytest.mark.parametrize("color", ["#ff8800", "#FF8800", [255, 136, 0], (255, 136, 0)])
def test_from_dict_reads_colours(color):
    opts = RenderOptions.from_dict({"background": "color", "color": color})
    assert opts.color == (255, 136, 0)


def test_from_dict_reads_everything_and_takes_the_image():
    picked = Image.new("RGB", (2, 2))
    d = {"background": "image", "color": None, "blur": 0.1, "crop": True, "margin": 0}
    opts = RenderOptions.from_dict(d, image=picked)
    assert opts.background == "image" and opts.image is picked
    assert opts.blur == 0.1 and opts.crop is True and opts.margin == 0
    assert opts.color == (255, 255, 255)  # None: the default


@pytest.mark.parametrize(
    "d",
    [
        {"background": "sepia"},
        {"background": "image"},  # no image given
        {"color": "ff8800"},
        {"color": "#ff880"},
        {"color": "#gg8800"},
        {"color": "orange"},
        {"color": [255, 136]},
        {"color": [256, 0, 0]},
        {"color": [-1, 0, 0]},
        {"color": [1.5, 0, 0]},
        {"margin": -0.01},
        {"margin": "5%"},
        {"margin": float("nan")},
        {"blur": -1},
        {"blur": "big"},
        {"crop": "yes"},
        {"colour": "#ffffff"},  # misspelt key
    ],
)
def test_from_dict_refuses_bad_input(d):
    with pytest.raises(OptionsError) as info:
        RenderOptions.from_dict(d)
    assert isinstance(info.value, BackgroneError)
    assert info.value.code == "bad-options"
    assert str(info.value)


def test_options_are_checked_when_made_directly_too():
    with pytest.raises(OptionsError):
        RenderOptions(background="image")
    with pytest.raises(OptionsError):
        RenderOptions(margin=-1)


# -- make_zip ------------------------------------------------------------------


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        return {i.filename: zf.read(i) for i in zf.infolist()}


def test_zip_round_trips():
    entries = [("a-cutout.png", b"\x89PNG one"), ("b-cutout.webp", b"RIFF two"), ("empty.jpg", b"")]
    assert unzip(make_zip(entries)) == dict(entries)


def test_zip_renames_duplicates_before_the_extension():
    names = list(unzip(make_zip([("a.png", b"1"), ("a.png", b"2"), ("A.png", b"3"), ("a (2).png", b"4"), ("noext", b"5"), ("noext", b"6")])))
    assert names == ["a.png", "a (2).png", "A (3).png", "a (2) (2).png", "noext", "noext (2)"]


def test_zip_keeps_every_name_inside_the_folder(tmp_path):
    entries = [
        ("../../evil.png", b"1"),
        ("/etc/passwd", b"2"),
        ("dir/sub/x.png", b"3"),
        ("C:\\Windows\\y.png", b"4"),
        ("..", b"5"),
        ("C:z.png", b"6"),
    ]
    data = make_zip(entries)
    files = unzip(data)
    for name in files:
        assert "/" not in name and "\\" not in name and ":" not in name
        assert name.strip(".")
    assert files["evil.png"] == b"1" and files["passwd"] == b"2"
    assert files["x.png"] == b"3" and files["y.png"] == b"4"
    assert files["file"] == b"5" and files["C_z.png"] == b"6"
    out = tmp_path / "out"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(out)
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert written == sorted(files)
    assert all(p.parent == out for p in tmp_path.rglob("*") if p.is_file())


# -- output_name ---------------------------------------------------------------


@pytest.mark.parametrize(
    "original, fmt, expect",
    [
        ("photo.jpg", "webp", "photo-cutout.webp"),
        ("photo.jpg", "png", "photo-cutout.png"),
        ("photo.png", "jpeg", "photo-cutout.jpg"),
        ("photo.jpg", "mask", "photo-mask.png"),
        ("holiday.2024.heic", "png", "holiday.2024-cutout.png"),
        ("noext", "png", "noext-cutout.png"),
        ("folder/sub/pic.JPG", "png", "pic-cutout.png"),
        ("", "png", "image-cutout.png"),
        ("...", "jpeg", "image-cutout.jpg"),
        (".", "mask", "image-mask.png"),
        ("file", "png", "file-cutout.png"),
    ],
)
def test_output_name(original, fmt, expect):
    assert output_name(original, fmt) == expect


def test_output_name_takes_a_suffix_and_refuses_unknown_formats():
    assert output_name("photo.jpg", "png", suffix="-white") == "photo-white.png"
    with pytest.raises(OptionsError):
        output_name("photo.jpg", "tiff")
