"""Render the tracker's icons from their SVG sources with Debian's Chromium (Playwright), so the PNG and ICO
files in static/img/ can be made again after the drawing changes:

    .venv/bin/python scripts/render_icons.py

- favicon.svg (the mark on its rounded tile): favicon-32.png, favicon.ico (16, 32 and 48 px PNGs in one
  ICO), icon-192.png (the installed app's icon, "any").
- icon-maskable.svg (the mark smaller, inside the safe circle, on a full square): icon-512.png (the app's
  icon, "any" and "maskable") and apple-touch-icon.png (180 px; iOS rounds the corners itself).
"""

import base64
import pathlib
import struct

from playwright.sync_api import sync_playwright

IMG = pathlib.Path(__file__).resolve().parents[1] / "static" / "img"
CHROMIUM = "/usr/bin/chromium"
RENDERS = [
    ("favicon.svg", 16, None),
    ("favicon.svg", 32, "favicon-32.png"),
    ("favicon.svg", 48, None),
    ("favicon.svg", 192, "icon-192.png"),
    ("icon-maskable.svg", 512, "icon-512.png"),
    ("icon-maskable.svg", 180, "apple-touch-icon.png"),
]


def ico(images: list[tuple[int, bytes]]) -> bytes:
    """An ICO file holding PNG images (every browser reads PNG inside ICO)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for size, png in images:
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def main() -> None:
    rendered: dict[tuple[str, int], bytes] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for source, size, target in RENDERS:
            page = browser.new_page(viewport={"width": size, "height": size})
            svg = base64.b64encode((IMG / source).read_bytes()).decode()
            page.set_content(f'<body style="margin:0"><img src="data:image/svg+xml;base64,{svg}" '
                             f'width="{size}" height="{size}" style="display:block"></body>')
            page.wait_for_function("() => document.images[0].complete")
            png = page.screenshot(omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})
            rendered[(source, size)] = png
            if target:
                (IMG / target).write_bytes(png)
            page.close()
        browser.close()
    (IMG / "favicon.ico").write_bytes(ico([(size, rendered[("favicon.svg", size)]) for size in (16, 32, 48)]))


if __name__ == "__main__":
    main()
