#!/usr/bin/env python3
"""Makes the image codec fixtures in tests/golden/images/ (run from the repo root).

Every fixture image FILE gets FILE.rgb beside it: the raw bytes of
numpy.asarray(Image.open(FILE).convert("RGB")) -- the pixels lib/io/image.c
must reproduce exactly -- and a line "FILE W H" in manifest.txt.

PNGs are written by the small PNG writer below rather than by PIL, so that
every colour type / bit depth / tRNS / interlace combination can be made
(PIL cannot write 16-bit RGB or interlaced PNGs). JPEGs are written by PIL.

One reference is not PIL's: a 16-bit gray PNG opens in PIL as mode "I;16",
and convert("RGB") clips every value above 255 to 255 (a real 16-bit gray
photo comes out white). The reference for gray16*.png is the high byte of
each sample -- what PIL does for RGB/RGBA/gray+alpha 16-bit PNGs -- and this
script asserts that PIL really does clip, so the note stays true.

Also written: corrupt files (no .rgb, not in the manifest) whose error
messages tests/unit/test_image.c checks, and a copy of the small fixtures as
the seed corpus of tests/fuzz/fuzz_png.c.
"""
import io
import os
import shutil
import struct
import zlib

import numpy as np
from PIL import Image

OUT = "tests/golden/images"
CORPUS = "tests/fuzz/corpus/png"


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def pack_row(samples, depth):
    """One scanline of samples (ints) as PNG bytes, without the filter byte."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype("u1").tobytes()
    bits = np.unpackbits(samples.astype("u1")[:, None], axis=1)[:, 8 - depth:]
    return np.packbits(bits.reshape(-1)).tobytes()


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def scanlines(a, depth, interlace):
    """Filtered (filter type: cycles through 0..4 by row) scanlines of array a (h, w, c)."""
    if not interlace:
        images = [a]
    else:
        images = [a[y0::dy, x0::dx] for x0, y0, dx, dy in ADAM7]
    out = b""
    row_index = 0
    for img in images:
        if img.size == 0:
            continue
        bpp = max(1, img.shape[2] * depth // 8)
        prev = None
        for r in img:
            raw = np.frombuffer(pack_row(r.reshape(-1), depth), dtype=np.uint8).astype(np.int32)
            ftype = row_index % 5
            row_index += 1
            out += bytes([ftype]) + bytes(filter_row(raw, prev, bpp, ftype))
            prev = raw
    return out


def filter_row(raw, prev, bpp, ftype):
    """PNG filters, so the fixtures exercise all five (libpng's reading of them)."""
    up = prev if prev is not None else np.zeros_like(raw)
    res = np.zeros_like(raw)
    for i in range(len(raw)):
        a = raw[i - bpp] if i >= bpp else 0
        b = up[i]
        c = up[i - bpp] if i >= bpp else 0
        if ftype == 0:
            pred = 0
        elif ftype == 1:
            pred = a
        elif ftype == 2:
            pred = b
        elif ftype == 3:
            pred = (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        res[i] = (raw[i] - pred) & 0xFF
    return res.astype(np.uint8)


def png_bytes(a, ctype, depth, plte=None, trns=None, interlace=0, extra=b""):
    if a.ndim == 2:
        a = a[:, :, None]
    h, w = a.shape[:2]
    d = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    d += extra
    if plte is not None:
        d += chunk(b"PLTE", bytes(plte))
    if trns is not None:
        d += chunk(b"tRNS", trns)
    idat = zlib.compress(scanlines(a, depth, interlace), 9)
    # two IDAT chunks, to exercise libpng's joining of them
    half = len(idat) // 2
    d += chunk(b"IDAT", idat[:half]) + chunk(b"IDAT", idat[half:]) + chunk(b"IEND", b"")
    return d


manifest = []


def save(name, data, reference=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    rgb = np.asarray(Image.open(path).convert("RGB"))
    if reference is not None:
        rgb = reference
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    with open(path + ".rgb", "wb") as f:
        f.write(rgb.tobytes())
    manifest.append(f"{name} {rgb.shape[1]} {rgb.shape[0]}")


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    rng = np.random.default_rng(20250607)
    W, H = 7, 5

    def rand(shape, hi):
        return rng.integers(0, hi, shape, dtype=np.int64)

    # 16-bit values chosen around the byte boundaries (x*256 + 127/128, 255/256...)
    edge16 = np.array([0, 1, 127, 128, 255, 256, 257, 383, 384, 32767, 32768, 65280, 65407, 65408, 65535])

    def rand16(shape):
        v = rand(shape, 65536)
        mask = rand(shape, 2) == 1
        return np.where(mask, edge16[rand(shape, len(edge16))], v)

    plte = list(rand(20 * 3, 256))
    # -- PNG, 8-bit
    save("rgb8.png", png_bytes(rand((H, W, 3), 256), 2, 8))
    save("rgba8.png", png_bytes(np.dstack([rand((H, W, 3), 256), rand((H, W), 3) * 127]), 6, 8))
    save("gray8.png", png_bytes(rand((H, W), 256), 0, 8))
    save("gray_alpha8.png", png_bytes(np.dstack([rand((H, W), 256), rand((H, W), 256)]), 4, 8))
    save("palette8.png", png_bytes(rand((H, W), 20), 3, 8, plte=plte))
    # indices 20..23 are past the 20 PLTE entries: black in PIL
    save("palette8_trns.png", png_bytes(rand((H, W), 24), 3, 8, plte=plte, trns=bytes(rand(12, 256))))
    save("palette4.png", png_bytes(rand((H, W), 16), 3, 4, plte=plte[: 16 * 3]))
    save("palette2.png", png_bytes(rand((H, W), 4), 3, 2, plte=plte[: 3 * 3]))
    save("palette1.png", png_bytes(rand((H, W), 2), 3, 1, plte=plte[: 2 * 3]))
    save("gray1.png", png_bytes(rand((H, W), 2), 0, 1))
    save("gray2.png", png_bytes(rand((H, W), 4), 0, 2))
    save("gray4.png", png_bytes(rand((H, W), 16), 0, 4))
    save("gray8_trns.png", png_bytes(rand((H, W), 256), 0, 8, trns=b"\x00\x07"))
    save("rgb8_trns.png", png_bytes(rand((H, W, 3), 256), 2, 8, trns=b"\x00\x01\x00\x02\x00\x03"))
    # gAMA and sRGB must not change the pixels (PIL applies no colour management)
    gama = chunk(b"gAMA", struct.pack(">I", 100000))
    save("rgb8_gamma.png", png_bytes(rand((H, W, 3), 256), 2, 8, extra=gama))
    save("one_pixel.png", png_bytes(rand((1, 1, 3), 256), 2, 8))
    # -- PNG, 16-bit
    save("rgb16.png", png_bytes(rand16((H, W, 3)), 2, 16))
    save("rgba16.png", png_bytes(rand16((H, W, 4)), 6, 16))
    save("gray_alpha16.png", png_bytes(rand16((H, W, 2)), 4, 16))
    save("rgb16_trns.png", png_bytes(rand16((H, W, 3)), 2, 16, trns=b"\x00\x01\x00\x02\x00\x03"))
    for name, extra_trns in (("gray16.png", None), ("gray16_trns.png", b"\x01\x00")):
        g = rand16((H, W))
        data = png_bytes(g, 0, 16, trns=extra_trns)
        pil = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert Image.open(io.BytesIO(data)).mode == "I;16"
        assert (pil[..., 0] == np.minimum(g, 255)).all(), "PIL no longer clips I;16: revisit image.h"
        high = np.repeat((g >> 8).astype(np.uint8)[:, :, None], 3, axis=2)
        save(name, data, reference=high)
    # -- PNG, interlaced (13x11: every Adam7 pass is non-empty)
    save("interlace_rgb8.png", png_bytes(rand((11, 13, 3), 256), 2, 8, interlace=1))
    save("interlace_rgba16.png", png_bytes(rand16((11, 13, 4)), 6, 16, interlace=1))
    save("interlace_palette2.png", png_bytes(rand((11, 13), 4), 3, 2, plte=plte[:12], interlace=1))
    save("interlace_gray1.png", png_bytes(rand((11, 13), 2), 0, 1, interlace=1))

    # -- JPEG: a smooth picture plus noise (33x19: partial MCUs on both edges)
    yy, xx = np.mgrid[0:19, 0:33]
    smooth = np.dstack([xx * 7, yy * 13, (xx + yy) * 5]) % 256
    photo = np.clip(smooth + rand((19, 33, 3), 40) - 20, 0, 255).astype(np.uint8)

    def jpeg(im, **kw):
        b = io.BytesIO()
        im.save(b, "JPEG", **kw)
        return b.getvalue()

    rgb_im = Image.fromarray(photo)
    save("rgb420.jpg", jpeg(rgb_im, quality=85, subsampling=2))
    save("rgb422.jpg", jpeg(rgb_im, quality=85, subsampling=1))
    save("rgb444.jpg", jpeg(rgb_im, quality=85, subsampling=0))
    save("progressive.jpg", jpeg(rgb_im, quality=85, progressive=True))
    save("gray.jpg", jpeg(rgb_im.convert("L"), quality=85))
    save("cmyk.jpg", jpeg(rgb_im.convert("CMYK"), quality=85))
    save("restart.jpeg", jpeg(rgb_im, quality=60, restart_marker_blocks=1))

    # -- corrupt files (messages checked by tests/unit/test_image.c)
    def raw(name, data):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)

    big = png_bytes(rand((32, 32, 3), 256), 2, 8)
    raw("trunc.png", big[: len(big) // 2])
    crc = bytearray(big)
    iend = crc.rfind(b"IEND")
    crc[iend - 5] ^= 0xFF  # last byte of the last IDAT's CRC
    raw("badcrc.png", bytes(crc))
    raw("badihdr.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 7, 5, 3, 2, 0, 0, 0))
        + chunk(b"IEND", b""))
    # headers that pass libpng's own checks but exceed our limits
    tiny_idat = chunk(b"IDAT", zlib.compress(b"\0" * 4)) + chunk(b"IEND", b"")
    raw("huge_dim.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 10, 8, 2, 0, 0, 0))
        + tiny_idat)
    raw("huge_pixels.png", b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16000, 16000, 8, 2, 0, 0, 0)) + tiny_idat)
    j = jpeg(rgb_im, quality=85)
    raw("trunc.jpg", j[: len(j) // 2])
    raw("garbage.jpg", b"\xff\xd8\xff" + bytes(rand(64, 256)))
    raw("not_image.png", b"GIF89a" + bytes(10))

    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("# file width height: file.rgb holds Image.open(file).convert('RGB') (see make_images.py)\n")
        f.write("\n".join(manifest) + "\n")

    # seed corpus for the fuzzer: the small valid files and a few corrupt ones
    os.makedirs(CORPUS, exist_ok=True)
    for f in os.listdir(CORPUS):
        os.remove(os.path.join(CORPUS, f))
    for name in [m.split()[0] for m in manifest] + ["trunc.png", "badcrc.png", "trunc.jpg"]:
        shutil.copy(os.path.join(OUT, name), os.path.join(CORPUS, name))
    print(f"{len(manifest)} fixtures in {OUT}")


if __name__ == "__main__":
    main()
