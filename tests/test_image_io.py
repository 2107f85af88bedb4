"""load_image / save_image: every format becomes upright RGB uint8, every bad input an XfasError
naming it, and no other exception escapes for arbitrary bytes."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from xfas.data.image_io import load_image, save_image
from xfas.errors import XfasError

from helpers.assets import asset
from helpers.image_bytes import encode, png_header_only


def test_rgb_png_round_trip_is_exact(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    path = save_image(tmp_path / "sub" / "x.png", rgb)
    out = load_image(path)
    assert out.dtype == np.uint8 and out.shape == (7, 5, 3)
    np.testing.assert_array_equal(out, rgb)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "PPM", "WEBP"])
def test_other_lossless_formats(fmt: str) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    options = {"lossless": True} if fmt == "WEBP" else {}
    np.testing.assert_array_equal(load_image(encode(Image.fromarray(rgb), fmt, **options)), rgb)


def test_grayscale_becomes_three_equal_channels() -> None:
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = load_image(encode(Image.fromarray(gray, mode="L"), "PNG"))
    assert out.shape == (3, 4, 3)
    for channel in range(3):
        np.testing.assert_array_equal(out[:, :, channel], gray)


def test_sixteen_bit_png_is_scaled_to_eight_bits() -> None:
    wide = np.array([[0, 257 * 100, 65535, 257 * 7]], dtype=np.uint16)
    data = encode(Image.fromarray(wide), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")  # really stored as 16-bit
    out = load_image(data)
    np.testing.assert_array_equal(out[0, :, 0], [0, 100, 255, 7])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_alpha_is_composited_on_white() -> None:
    rgba = np.zeros((1, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 0)      # fully transparent red -> white
    rgba[0, 1] = (0, 0, 255, 255)    # opaque blue stays blue
    rgba[0, 2] = (0, 0, 0, 128)      # half-transparent black -> mid gray
    out = load_image(encode(Image.fromarray(rgba, mode="RGBA"), "PNG")).astype(int)
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[0, 1], [0, 0, 255])
    assert np.all(np.abs(out[0, 2] - 127) <= 1)


def test_cmyk_jpeg_becomes_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta + yellow = red
    out = load_image(encode(cmyk, "JPEG", quality=95)).astype(int)
    assert out.shape == (16, 16, 3)
    assert np.all(np.abs(out - [255, 0, 0]) <= 6)


def test_palette_and_palette_transparency() -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((0, 0), 0)
    image.putpixel((1, 0), 1)
    out = load_image(encode(image, "PNG"))
    np.testing.assert_array_equal(out[0], [[10, 20, 30], [200, 100, 50]])
    out = load_image(encode(image, "PNG", transparency=0))
    np.testing.assert_array_equal(out[0], [[255, 255, 255], [200, 100, 50]])


def test_animated_gif_gives_the_first_frame() -> None:
    red = Image.new("RGB", (8, 6), (255, 0, 0))
    blue = Image.new("RGB", (8, 6), (0, 0, 255))
    data = encode(red, "GIF", save_all=True, append_images=[blue], duration=50, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = load_image(data)
    assert out.shape == (6, 8, 3)
    assert np.all(np.abs(out.astype(int) - [255, 0, 0]) <= 2)


def test_exif_orientation_is_applied() -> None:
    # Stored 40 wide x 20 high, red in the top-left 10x10 corner, blue elsewhere. EXIF
    # orientation 6 means "rotate 90 degrees clockwise to display": 20 wide x 40 high, with
    # the red corner at the top right.
    stored = np.zeros((20, 40, 3), dtype=np.uint8)
    stored[:] = (0, 0, 255)
    stored[:10, :10] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(stored), "JPEG", quality=100, exif=exif.tobytes())
    out = load_image(data).astype(int)
    assert out.shape == (40, 20, 3)
    assert np.all(np.abs(out[2:8, 12:18] - [255, 0, 0]) <= 30)   # top right: red
    assert np.all(np.abs(out[2:8, 2:8] - [0, 0, 255]) <= 30)     # top left: blue
    assert np.all(np.abs(out[32:38, 12:18] - [0, 0, 255]) <= 30)  # bottom right: blue


def test_real_sample_is_upright_like_opencv() -> None:
    path = asset("images/image_T1.jpg")
    assert Image.open(path).size == (640, 480)  # stored landscape, EXIF orientation 6
    out = load_image(path)
    reference = cv2.imread(str(path))[:, :, ::-1]  # OpenCV applies the orientation itself
    assert out.shape == reference.shape == (640, 480, 3)
    assert np.abs(out.astype(int) - reference.astype(int)).mean() < 2.0


@pytest.mark.parametrize("data, words", [
    (b"", "0 bytes"),
    (b"this is not an image at all" * 10, "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),  # PNG signature, no chunks
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "supported format"),
])
def test_bad_bytes_are_refused_naming_upload(data: bytes, words: str) -> None:
    with pytest.raises(XfasError, match="upload") as caught:
        load_image(data)
    assert words in str(caught.value)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_refused_naming_it(tmp_path: Path, fmt: str) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(XfasError, match=f"cut.{fmt.lower()}.*(truncated|corrupt)"):
        load_image(path)


def test_decompression_bomb_header_is_refused() -> None:
    data = png_header_only(100_000, 100_000)  # 10^10 pixels: Pillow refuses it on open
    with pytest.raises(XfasError, match="bomb.png: refused as a decompression bomb"):
        load_image(data, name="bomb.png")


def test_our_pixel_limit_applies_before_decoding() -> None:
    data = png_header_only(8000, 6000)  # 48M pixels: below Pillow's limit, above ours
    with pytest.raises(XfasError, match="8000x6000 pixels is over the limit of 40000000"):
        load_image(data)
    with pytest.raises(XfasError, match="over the limit of 100 pixels"):
        load_image(encode(Image.new("RGB", (20, 10)), "PNG"), max_pixels=100)


def test_byte_limit(tmp_path: Path) -> None:
    data = encode(Image.new("RGB", (32, 32)), "PNG")
    with pytest.raises(XfasError, match=f"upload: {len(data)} bytes is over the limit of 10"):
        load_image(data, max_bytes=10)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(XfasError, match="big.png.*over the limit"):
        load_image(path, max_bytes=10)
    assert load_image(path, max_bytes=len(data)).shape == (32, 32, 3)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(XfasError, match="nothere.jpg: file not found"):
        load_image(tmp_path / "nothere.jpg")
    with pytest.raises(XfasError, match="is a folder"):
        load_image(tmp_path)


def test_save_image_errors(tmp_path: Path) -> None:
    with pytest.raises(XfasError, match="x.unknownformat"):
        save_image(tmp_path / "x.unknownformat", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(XfasError, match="y.png"):
        save_image(tmp_path / "y.png", np.zeros((4, 4), np.uint8))


def check_only_xfas_errors(data: bytes) -> None:
    try:
        out = load_image(data, max_pixels=2_000_000)
    except XfasError as error:
        assert "upload" in str(error)
    else:
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_xfas_errors(data: bytes) -> None:
    check_only_xfas_errors(data)


def _seed_images() -> list[bytes]:
    rgb = np.random.default_rng(2).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    image = Image.fromarray(rgb)
    exif = Image.Exif()
    exif[0x0112] = 8
    return [encode(image, "JPEG", quality=80, exif=exif.tobytes()), encode(image, "PNG"),
            encode(image.convert("P"), "GIF")]


SEEDS = _seed_images()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(SEEDS))),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, 10**6), st.booleans())
def test_mutated_real_images_raise_only_xfas_errors(seed: int, edits: list, cut: int,
                                                   truncate: bool) -> None:
    data = bytearray(SEEDS[seed])
    for position, value in edits:
        data[position % len(data)] = value
    if truncate:
        data = data[: cut % len(data)]
    check_only_xfas_errors(bytes(data))
