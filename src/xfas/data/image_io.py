"""Reading and writing images: any input becomes an upright RGB uint8 array (H, W, 3), and any
bad input becomes an XfasError naming it. The HTTP service feeds untrusted bytes through
``load_image``, so sizes are checked before decoding and decoder errors never escape raw.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from xfas.data.geometry import check_rgb_image
from xfas.errors import XfasError

# Raster formats only: Pillow's other plugins include EPS, which runs Ghostscript on the data.
# (Multi-picture JPEGs from phones, MPO, are opened by the JPEG plugin.)
FORMATS = ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM")
Image.init()  # register every plugin, so each name in FORMATS is known to Image.open
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WHITE = (255, 255, 255, 255)


def load_image(source: str | Path | bytes, max_bytes: int = 10_000_000,
               max_pixels: int = 40_000_000, *, name: str | None = None) -> np.ndarray:
    """Decode an image file or its bytes into an upright RGB uint8 array (H, W, 3).

    - EXIF orientation is applied (``ImageOps.exif_transpose``); an unreadable EXIF block is
      ignored, as browsers do.
    - Grayscale, palette, CMYK and 16-bit images are converted to 8-bit RGB (16-bit values
      are scaled by 255/65535); transparent pixels are composited on white.
    - Animated or multi-page images (GIF, APNG, WebP, TIFF, MPO): the first frame is used.
    - Only the raster formats in ``FORMATS`` are accepted.

    Args:
        source: a path, or the encoded bytes (e.g. an upload).
        max_bytes: refuse larger inputs, before reading them.
        max_pixels: refuse images whose header claims more pixels, before decoding.
        name: what error messages call the input; default: the path, or "upload" for bytes.

    Raises XfasError (naming the input) for a missing, empty, oversized, undecodable,
    truncated or decompression-bomb input.

    Example:
        >>> rgb = load_image("face.jpg")
    """
    label = name or ("upload" if isinstance(source, (bytes, bytearray, memoryview))
                     else str(source))
    data = _read_bytes(source, max_bytes, label)
    if not data:
        raise XfasError(f"{label}: empty input (0 bytes)")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise XfasError(f"{label}: {width}x{height} pixels is over the limit of "
                                f"{max_pixels} pixels")
            image.load()  # the first frame of animated images
            return _to_rgb(_upright(image))
    except XfasError:
        raise
    except Image.DecompressionBombError as error:
        raise XfasError(f"{label}: refused as a decompression bomb ({error})") from error
    except UnidentifiedImageError as error:
        raise XfasError(f"{label}: not an image in a supported format "
                        f"({', '.join(FORMATS)})") from error
    except Exception as error:  # corrupt data reaches many decoder paths and exception types
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise XfasError(f"{label}: cannot decode the image, corrupt or truncated "
                        f"({reason})") from error


def save_image(path: str | Path, rgb: np.ndarray) -> Path:
    """Write an RGB uint8 array; the format follows the suffix. Creates parent folders; the
    file appears whole or not at all (written beside it, then renamed)."""
    check_rgb_image(rgb, what=str(path))
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(rgb)).save(partial, format=_format_of(path))
        partial.replace(path)
    except (OSError, ValueError, KeyError) as error:
        partial.unlink(missing_ok=True)
        raise XfasError(f"{path}: cannot write the image ({error})") from error
    return path


def _format_of(path: Path) -> str:
    """Pillow's format name for the suffix of ``path``; XfasError for an unknown suffix."""
    format_name = Image.registered_extensions().get(path.suffix.lower())
    if format_name is None:
        raise XfasError(f"{path}: unknown image format {path.suffix!r}")
    return format_name


def encode_png(pixels: np.ndarray) -> bytes:
    """A uint8 image as PNG bytes: grey (H, W), RGB (H, W, 3) or RGBA (H, W, 4)."""
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (
            pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise XfasError(f"PNG: expected uint8 grey, RGB or RGBA pixels, got {pixels.dtype} "
                        f"{pixels.shape}")
    swapped = pixels if pixels.ndim == 2 else cv2.cvtColor(
        pixels, cv2.COLOR_RGB2BGR if pixels.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(swapped))
    if not ok:
        raise XfasError(f"PNG: could not encode an image of shape {pixels.shape}")
    return encoded.tobytes()


def write_png(path: str | Path, pixels: np.ndarray) -> Path:
    """Write ``encode_png(pixels)`` to ``path``, creating folders; the file appears whole or
    not at all, and equal pixels give equal bytes."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(encode_png(pixels))
        partial.replace(path)
    except OSError as error:
        raise XfasError(f"{path}: cannot write the image ({error.strerror})") from error
    return path


def _read_bytes(source: str | Path | bytes, max_bytes: int, label: str) -> bytes:
    """The input's bytes, refusing more than ``max_bytes`` before reading them all."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise XfasError(f"{label}: {len(data)} bytes is over the limit of {max_bytes}")
        return data
    path = Path(source)
    if not path.is_file():
        reason = "is a folder, not an image file" if path.is_dir() else "file not found"
        raise XfasError(f"{label}: {reason}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise XfasError(f"{label}: {size} bytes is over the limit of {max_bytes}")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise XfasError(f"{label}: cannot read the file ({error.strerror or error})") from error
    if len(data) > max_bytes:  # the file grew while we read it
        raise XfasError(f"{label}: over the limit of {max_bytes} bytes")
    return data


def _upright(image: Image.Image) -> Image.Image:
    """The image rotated/flipped as its EXIF orientation says."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:  # a corrupt EXIF block carries no usable orientation
        return image


def _to_rgb(image: Image.Image) -> np.ndarray:
    """Any Pillow mode -> RGB uint8 (H, W, 3)."""
    mode = image.mode
    if mode == "I" or mode.startswith("I;16"):
        # 16-bit grayscale (Pillow opens 16-bit PNGs as "I;16" or "I"): 0..65535 -> 0..255
        wide = np.asarray(image, dtype=np.float64)
        gray = np.rint(np.clip(wide, 0, 65535) * (255.0 / 65535.0)).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, _WHITE), rgba)
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)
