"""Citizens' photos: refuse what is not a safe, readable image; re-encode the rest as metadata-free JPEGs.

Photos are untrusted. check() decides by content alone and refuses oversize files and
decompression bombs before any pixel is decoded; process() strips every byte of
metadata (EXIF, GPS, ICC, comments, XMP) by drawing the pixels onto a fresh canvas.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO

from flask_babel import gettext as _
from PIL import ExifTags, Image, ImageOps

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # width × height
MAX_SIDE = 2048  # longest side of the stored image
THUMB_SIDE = 320
ALLOWED = {"JPEG", "PNG", "WEBP"}
JPEG_QUALITY = 85


class PhotoRejected(ValueError):
    """A photo the portal will not take; the message is for the citizen, in Vietnamese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CheckedPhoto:
    format: str  # "JPEG", "PNG" or "WEBP"
    width: int
    height: int
    location: tuple[float, float] | None  # (lon, lat) from EXIF GPS


def _number(x: float) -> str:
    """A number the Vietnamese way: at most one decimal, decimal comma."""
    return f"{x:.1f}".rstrip("0").rstrip(".").replace(".", ",")


def _size(n: int) -> str:
    """A byte count as MB, KB or bytes."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= size:
            return f"{_number(n / size)} {unit}"
    return f"{n} byte"


@contextmanager
def _bombs_are_errors() -> Iterator[None]:
    """Turn Pillow's DecompressionBombWarning into an exception, only inside the block."""
    # warnings.catch_warnings is process-wide: fine in an RQ worker, racy under threads.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def _open(data: bytes) -> Image.Image:
    """Open the image lazily (header only), trying only the allowed decoders."""
    return Image.open(BytesIO(data), formats=sorted(ALLOWED))


def check(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> CheckedPhoto:
    """Validate untrusted bytes as a JPEG, PNG or WebP photo; raise PhotoRejected otherwise."""
    if not data:
        raise PhotoRejected(_("Tệp ảnh trống."))
    if len(data) > max_bytes:
        raise PhotoRejected(_("Ảnh lớn quá %(size)s.", size=_size(max_bytes)))
    too_many_pixels = PhotoRejected(_("Ảnh có quá nhiều điểm ảnh (tối đa %(n)s triệu).", n=_number(max_pixels / 1e6)))
    with _bombs_are_errors():
        try:
            img = _open(data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_many_pixels from None
        except Exception:
            raise PhotoRejected(_("Tệp này không phải là ảnh JPEG, PNG hoặc WebP.")) from None
        with img:
            # Many phones write MPO: a JPEG followed by extra pictures. Pillow's JPEG decoder names it so.
            fmt = "JPEG" if img.format == "MPO" else img.format
            if fmt not in ALLOWED:
                raise PhotoRejected(_("Tệp này không phải là ảnh JPEG, PNG hoặc WebP."))
            if img.width * img.height > max_pixels:
                raise too_many_pixels
            try:
                img.load()  # decode every pixel once: refuses truncated and corrupt files
            except Exception:
                raise PhotoRejected(_("Ảnh bị hỏng, không đọc được.")) from None
            return CheckedPhoto(fmt, img.width, img.height, _location(img))


def _degrees(value: object, ref: object, positive: str, negative: str) -> float:
    """EXIF GPS (degrees, minutes, seconds) rationals plus a N/S/E/W ref → signed decimal degrees."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii")
    ref = str(ref).strip("\x00 ").upper()
    if ref not in (positive, negative):
        raise ValueError(f"bad GPS ref {ref!r}")
    parts = [float(v) for v in value]  # type: ignore[attr-defined]
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        raise ValueError(f"bad GPS value {value!r}")
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    return -degrees if ref == negative else degrees


def _location(img: Image.Image) -> tuple[float, float] | None:
    """(lon, lat) from the EXIF GPS IFD, or None when absent or malformed."""
    try:
        gps = img.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        if not gps:
            return None
        lat = _degrees(gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLatitudeRef], "N", "S")
        lon = _degrees(gps[ExifTags.GPS.GPSLongitude], gps[ExifTags.GPS.GPSLongitudeRef], "E", "W")
    except Exception:
        return None
    # (0, 0) is what phones without a fix often write, not a real place.
    if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    return (lon, lat)


def _jpeg(img: Image.Image) -> bytes:
    """Encode an RGB image as a progressive JPEG with no metadata."""
    buf = BytesIO()
    img.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buf.getvalue()


def process(
    data: bytes,
    *,
    max_side: int = MAX_SIDE,
    thumb_side: int = THUMB_SIDE,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> tuple[bytes, bytes]:
    """Check the photo, then return (image_jpeg, thumbnail_jpeg): upright, RGB, downscaled, metadata-free."""
    check(data, max_bytes=max_bytes, max_pixels=max_pixels)
    with _bombs_are_errors(), _open(data) as src:
        src.load()
        try:
            ImageOps.exif_transpose(src, in_place=True)
        except Exception:  # malformed EXIF: keep the pixels as stored
            pass
        if src.mode.startswith("I"):  # 16-bit greyscale PNG: scale to 8 bits rather than clip to white
            img = src.convert("I").point(lambda v: v / 256).convert("RGB")
        else:
            img = src.convert("RGBA" if src.has_transparency_data else "RGB")
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # never upscales
    # A fresh white canvas flattens transparency and carries none of the source's metadata.
    image = Image.new("RGB", img.size, "white")
    image.paste(img, mask=img if img.mode == "RGBA" else None)
    thumb = image.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return _jpeg(image), _jpeg(thumb)
