"""Photo checking and processing, and local storage: pure functions, no database, no Flask app."""

from __future__ import annotations

import struct
import warnings
import zlib
from io import BytesIO
from types import SimpleNamespace

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from app.services.photos import CheckedPhoto, PhotoRejected, check, process
from app.storage import LocalStorage, Storage, init_app

GPS_IFD = 0x8825
ORIENTATION = 0x0112
NOT_AN_IMAGE = "không phải là ảnh JPEG, PNG hoặc WebP"


def image_bytes(size=(40, 20), fmt="JPEG", mode="RGB", color="red", **save_args) -> bytes:
    buf = BytesIO()
    Image.new(mode, size, color).save(buf, fmt, **save_args)
    return buf.getvalue()


def exif_with_gps(gps: dict) -> Image.Exif:
    exif = Image.Exif()
    exif[GPS_IFD] = gps
    return exif


def gps_exif(lat: tuple, lat_ref: str, lon: tuple, lon_ref: str) -> Image.Exif:
    return exif_with_gps({1: lat_ref, 2: lat, 3: lon_ref, 4: lon})


def hanoi_exif() -> Image.Exif:
    # 21.0285 N = 21° 1' 42.6"; 105.8542 E = 105° 51' 15.12"
    return gps_exif((21.0, 1.0, 42.6), "N", (105.0, 51.0, 15.12), "E")


def png_claiming(width: int, height: int) -> bytes:
    """A 1×1 PNG whose header claims width × height: a bomb that costs nothing to build."""
    data = bytearray(image_bytes((1, 1), "PNG", mode="1"))
    ihdr = 8  # after the PNG signature: length (4), "IHDR" (4), 13 bytes of data, CRC (4)
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", zlib.crc32(data[ihdr + 4 : ihdr + 21]))
    return bytes(data)


def rejection(data: bytes, **kwargs) -> str:
    with pytest.raises(PhotoRejected) as exc:
        check(data, **kwargs)
    return exc.value.message


def opened(data: bytes) -> Image.Image:
    img = Image.open(BytesIO(data))
    img.load()
    return img


# --- check: what is accepted ---


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (image_bytes((40, 20), "JPEG"), "JPEG"),
        (image_bytes((40, 20), "PNG", mode="RGBA", color=(255, 0, 0, 128)), "PNG"),
        (image_bytes((40, 20), "WEBP"), "WEBP"),
    ],
    ids=["jpeg", "png-with-alpha", "webp"],
)
def test_jpeg_png_and_webp_are_accepted_with_format_and_size(data, fmt):
    assert check(data) == CheckedPhoto(format=fmt, width=40, height=20, location=None)


def test_phone_mpo_jpeg_is_accepted_as_jpeg():
    buf = BytesIO()
    Image.new("RGB", (40, 20)).save(buf, "MPO", save_all=True, append_images=[Image.new("RGB", (40, 20))])
    assert check(buf.getvalue()).format == "JPEG"
    image, _ = process(buf.getvalue())
    assert opened(image).format == "JPEG"


# --- check: what is refused ---


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is not a photo\n",
        b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF",
        image_bytes(fmt="GIF"),
        image_bytes(fmt="BMP"),
        image_bytes(fmt="TIFF"),
    ],
    ids=["text", "html", "pdf", "gif", "bmp", "tiff"],
)
def test_files_that_are_not_jpeg_png_or_webp_are_refused_whatever_their_name(data, tmp_path):
    # The name plays no part: check() sees only the bytes.
    (tmp_path / "photo.jpg").write_bytes(data)
    assert NOT_AN_IMAGE in rejection((tmp_path / "photo.jpg").read_bytes())


def test_empty_file_is_refused():
    assert "trống" in rejection(b"")


def test_file_over_max_bytes_is_refused_before_opening():
    data = image_bytes((200, 200), "PNG")
    assert "lớn quá" in rejection(data, max_bytes=len(data) - 1)
    assert check(data, max_bytes=len(data)).format == "PNG"


def test_default_size_message_names_ten_megabytes():
    assert rejection(b"\xff" * (10 * 1024 * 1024 + 1)) == "Ảnh lớn quá 10 MB."


def test_truncated_jpeg_is_refused():
    data = image_bytes((400, 300), "JPEG")
    assert rejection(data[: len(data) // 2]) == "Ảnh bị hỏng, không đọc được."


def test_png_with_corrupt_pixel_data_is_refused():
    data = bytearray(image_bytes((100, 100), "PNG", color="blue"))
    idat = data.index(b"IDAT")
    data[idat + 10 : idat + 30] = b"\x00" * 20
    assert "hỏng" in rejection(bytes(data))


@pytest.mark.parametrize(
    ("width", "height"),
    [(30000, 30000), (10000, 10000), (8000, 6000)],
    ids=["beyond-pillow-error-limit", "in-pillow-warning-range", "over-our-40-million"],
)
def test_pixel_bomb_is_refused_from_its_header(width, height):
    assert rejection(png_claiming(width, height)) == "Ảnh có quá nhiều điểm ảnh (tối đa 40 triệu)."


def test_real_compressed_pixel_bomb_is_refused():
    data = image_bytes((8000, 6000), "PNG", mode="1", color=0)  # 48 million pixels in a few kilobytes
    assert len(data) < 100_000
    assert "quá nhiều điểm ảnh" in rejection(data)


def test_bomb_check_leaves_global_warning_filters_unchanged():
    before = list(warnings.filters)
    rejection(png_claiming(10000, 10000))
    assert warnings.filters == before


def test_max_pixels_can_be_lowered_by_argument():
    assert "tối đa 0,5 triệu" in rejection(image_bytes((1000, 600), "PNG"), max_pixels=500_000)


# --- check: GPS location ---


def test_gps_exif_gives_location_as_lon_lat():
    location = check(image_bytes(exif=hanoi_exif())).location
    assert location == pytest.approx((105.8542, 21.0285), abs=1e-4)


def test_jpeg_without_exif_has_no_location():
    assert check(image_bytes()).location is None


def test_south_and_west_refs_give_negative_coordinates():
    exif = gps_exif((33.0, 52.0, 7.68), "S", (70.0, 40.0, 0.0), "W")
    assert check(image_bytes(exif=exif)).location == pytest.approx((-70.6667, -33.8688), abs=1e-4)


@pytest.mark.parametrize(
    "exif",
    [
        gps_exif((21.0, 1.0, 42.6), "X", (105.0, 51.0, 15.12), "E"),  # unknown ref
        gps_exif((95.0, 0.0, 0.0), "N", (105.0, 51.0, 15.12), "E"),  # latitude beyond the pole
        gps_exif((0.0, 0.0, 0.0), "N", (0.0, 0.0, 0.0), "E"),  # what phones without a fix write
        exif_with_gps({1: "N", 2: (21.0, 1.0, 42.6)}),  # no longitude
    ],
    ids=["bad-ref", "out-of-range", "null-island", "missing-longitude"],
)
def test_malformed_gps_gives_no_location_instead_of_failing(exif):
    assert check(image_bytes(exif=exif)).location is None


def test_zero_denominator_gps_gives_no_location():
    exif = gps_exif((IFDRational(21, 0), 1.0, 42.6), "N", (105.0, 51.0, 15.12), "E")
    assert check(image_bytes(exif=exif)).location is None


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_corrupt_exif_is_ignored_not_fatal():
    # A GPS IFD pointer to an offset far beyond the EXIF block.
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x88\x25\x00\x04\x00\x00\x00\x01\xff\xff\xff\xff"
    data = image_bytes(exif=exif)
    assert check(data).location is None
    assert opened(process(data)[0]).size == (40, 20)


# --- process ---


def test_processed_image_and_thumbnail_carry_no_metadata_at_all():
    exif = hanoi_exif()
    exif[0x010F] = "PhoneMaker"  # Make
    source = image_bytes(
        (400, 300), exif=exif, icc_profile=b"ICC-SECRET", comment=b"COMMENT-SECRET", xmp=b"<x:xmpmeta>XMP-SECRET"
    )
    assert check(source).location is not None
    for out in process(source):
        img = opened(out)
        assert img.format == "JPEG"
        assert not img.getexif()
        assert not img.getexif().get_ifd(GPS_IFD)
        for key in ("exif", "icc_profile", "comment", "xmp"):
            assert key not in img.info
        for secret in (b"PhoneMaker", b"ICC-SECRET", b"COMMENT-SECRET", b"XMP-SECRET", b"Exif"):
            assert secret not in out
        assert check(out).location is None


def test_exif_orientation_is_applied():
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # rotate 90° clockwise to display
    image, thumb = process(image_bytes((40, 20), exif=exif))
    assert opened(image).size == (20, 40)
    assert opened(thumb).size == (20, 40)


def test_large_photo_is_downscaled_to_2048_and_thumbnail_to_320():
    image, thumb = process(image_bytes((4000, 3000), "JPEG"))
    assert opened(image).size == (2048, 1536)
    assert opened(thumb).size == (320, 240)


def test_small_photo_is_never_upscaled():
    image, thumb = process(image_bytes((100, 50), "PNG"))
    assert opened(image).size == (100, 50)
    assert opened(thumb).size == (100, 50)


def test_transparent_png_becomes_rgb_jpeg_on_white():
    image, thumb = process(image_bytes((64, 64), "PNG", mode="RGBA", color=(0, 0, 0, 0)))
    for out in (image, thumb):
        img = opened(out)
        assert (img.format, img.mode) == ("JPEG", "RGB")
        assert all(c >= 250 for c in img.getpixel((32, 32)))


def test_16_bit_greyscale_png_keeps_its_tones():
    image, _ = process(image_bytes((10, 10), "PNG", mode="I;16", color=32768))
    assert opened(image).getpixel((5, 5)) == pytest.approx((128, 128, 128), abs=2)


def test_process_refuses_what_check_refuses():
    with pytest.raises(PhotoRejected, match="quá nhiều điểm ảnh"):
        process(png_claiming(30000, 30000))
    with pytest.raises(PhotoRejected):
        process(b"<html></html>")


# --- LocalStorage ---


def test_local_storage_round_trip(tmp_path):
    store = LocalStorage(tmp_path)
    assert isinstance(store, Storage)
    key = "photos/12/34.jpg"
    assert not store.exists(key)
    store.put(key, b"first")
    store.put(key, b"second")
    assert store.exists(key)
    assert store.get(key) == b"second"
    assert (tmp_path / "photos" / "12" / "34.jpg").read_bytes() == b"second"
    assert sorted(p.name for p in (tmp_path / "photos" / "12").iterdir()) == ["34.jpg"]  # no temp files left
    store.delete(key)
    assert not store.exists(key)
    store.delete(key)  # deleting a missing key is not an error


def test_local_storage_get_of_missing_key_raises_key_error(tmp_path):
    with pytest.raises(KeyError):
        LocalStorage(tmp_path).get("incoming/missing.bin")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a\\b", "..", "", "photos/.."])
def test_local_storage_refuses_keys_that_could_escape_the_root(tmp_path, key):
    store = LocalStorage(tmp_path / "root")
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key), lambda: store.exists(key)):
        with pytest.raises(ValueError):
            call()
    assert not (tmp_path / "x").exists() and not (tmp_path / "b").exists()


def test_local_storage_refuses_symlink_out_of_the_root(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(ValueError):
        LocalStorage(tmp_path / "root").put("link/x", b"x")
    assert not (tmp_path / "outside" / "x").exists()


def test_init_app_puts_local_storage_at_storage_root_or_instance_folder(tmp_path):
    app = SimpleNamespace(config={"STORAGE_ROOT": str(tmp_path / "s")}, instance_path=str(tmp_path), extensions={})
    init_app(app)
    assert app.extensions["storage"].root == (tmp_path / "s").resolve()
    app = SimpleNamespace(config={"STORAGE_ROOT": ""}, instance_path=str(tmp_path), extensions={})
    init_app(app)
    assert app.extensions["storage"].root == (tmp_path / "storage").resolve()
