"""Draw the web app icons (static/img/icon-192.png, icon-512.png) with the standard library only: a white
disc with a blue cross on the site's navy (not red on white: that emblem is protected), the disc inside the
central 80 % so the icon also works masked. Run after changing the design: .venv/bin/python scripts/make_icons.py"""

import pathlib
import struct
import zlib

NAVY, WHITE, BLUE = (11, 46, 79), (255, 255, 255), (11, 92, 173)
OUT = pathlib.Path(__file__).resolve().parents[1] / "static" / "img"
SAMPLES = 4  # per axis, for smooth edges


def colour_at(x: float, y: float) -> tuple[int, int, int]:
    """x, y in [0, 1)."""
    dx, dy = x - 0.5, y - 0.5
    if dx * dx + dy * dy > 0.33 ** 2:
        return NAVY
    arm, half = 0.19, 0.065
    if (abs(dx) <= half and abs(dy) <= arm) or (abs(dy) <= half and abs(dx) <= arm):
        return BLUE
    return WHITE


def png(size: int) -> bytes:
    rows = []
    for py in range(size):
        row = bytearray([0])
        for px in range(size):
            total = [0, 0, 0]
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    c = colour_at((px + (sx + 0.5) / SAMPLES) / size, (py + (sy + 0.5) / SAMPLES) / size)
                    total = [t + v for t, v in zip(total, c, strict=True)]
            row += bytes(round(t / SAMPLES ** 2) for t in total)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(png(size))
        print(f"static/img/icon-{size}.png")
