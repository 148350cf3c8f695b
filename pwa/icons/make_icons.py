"""Draws the Commonplace mark (an open book) as SVG and PNG app icons.

Run from anywhere with Pillow available (a build tool only, never a runtime
dependency):  python pwa/icons/make_icons.py
Both formats come from the one list of shapes below so they cannot drift apart.
"""

from pathlib import Path

from PIL import Image, ImageColor, ImageDraw

BACKGROUND = "#1d5c4d"
MARK = "#ffffff"
OUT = Path(__file__).resolve().parent.parent / "static" / "icons"

# Pillow draws polygons without anti-aliasing: draw large, then shrink.
SUPERSAMPLE = 4
# Anti-aliased edges only need a few blends of the two colours; a 16-entry
# palette (4-bit PNG) keeps each icon at a few KB for phones on slow networks.
LEVELS = 8
CORNER_RADIUS = 0.22  # rounded square for "any" icons, as launchers draw them
# Maskable icons may be cropped to a circle of radius 0.4; stay inside it.
MASKABLE_SAFE_RADIUS = 0.4

Point = tuple[float, float]


def _page(sign: float) -> tuple[Point, Point, Point, Point, Point, Point]:
    """One page in mark units (origin at the spine, y down); sign picks the side.

    Returns outer-top, top-control, spine-top, spine-bottom, bottom-control,
    outer-bottom: two quadratic curves joined by straight edges.
    """
    return (
        (sign * 0.46, -0.28),
        (sign * 0.25, -0.36),
        (sign * 0.04, -0.22),
        (sign * 0.04, 0.34),
        (sign * 0.25, 0.20),
        (sign * 0.46, 0.28),
    )


PAGES = (_page(-1.0), _page(1.0))
MARK_CENTRE_Y = 0.03  # centre of the pages' vertical extent, so the book sits mid-icon


def _quad(p0: Point, c: Point, p1: Point, steps: int = 24) -> list[Point]:
    return [
        (
            (1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * c[0] + t * t * p1[0],
            (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * c[1] + t * t * p1[1],
        )
        for t in (i / steps for i in range(steps + 1))
    ]


def _outline(page: tuple[Point, ...]) -> list[Point]:
    outer_top, top_c, spine_top, spine_bottom, bottom_c, outer_bottom = page
    return _quad(outer_top, top_c, spine_top) + _quad(spine_bottom, bottom_c, outer_bottom)


def _to_canvas(p: Point, size: float, scale: float) -> Point:
    return (size / 2 + p[0] * scale * size, size / 2 + (p[1] - MARK_CENTRE_Y) * scale * size)


def _palette() -> tuple[list[int], bytes]:
    """Entries 0..LEVELS-1 blend background into mark (opaque); the rest are the
    background at rising opacity, for the rounded corners' edge."""
    bg, mark = ImageColor.getrgb(BACKGROUND), ImageColor.getrgb(MARK)
    top = LEVELS - 1
    colours = [
        tuple(round(b + (m - b) * i / top) for b, m in zip(bg, mark, strict=True))
        for i in range(LEVELS)
    ]
    colours += [bg] * LEVELS
    alphas = bytes([255] * LEVELS + [round(255 * i / top) for i in range(LEVELS)])
    return [c for colour in colours for c in colour], alphas


def render_png(size: int, scale: float, rounded: bool) -> Image.Image:
    big = size * SUPERSAMPLE
    shape = Image.new("L", (big, big), 0 if rounded else 255)
    if rounded:
        ImageDraw.Draw(shape).rounded_rectangle(
            (0, 0, big - 1, big - 1), radius=CORNER_RADIUS * big, fill=255
        )
    mark = Image.new("L", (big, big), 0)
    pen = ImageDraw.Draw(mark)
    for page in PAGES:
        pen.polygon([_to_canvas(p, big, scale) for p in _outline(page)], fill=255)
    shape, mark = (m.resize((size, size), Image.Resampling.LANCZOS) for m in (shape, mark))
    # The mark sits well inside the shape, so each pixel is either a mark/background
    # blend (opaque) or background at partial opacity: index the palette directly,
    # which keeps the brand colour exact where a generic quantizer would shift it.
    top = LEVELS - 1
    mark_index = mark.point(lambda v: round(v * top / 255))
    edge_index = shape.point(lambda v: LEVELS + round(v * top / 255))
    opaque = shape.point(lambda v: 255 if v == 255 else 0)
    index = Image.composite(mark_index, edge_index, opaque)
    image = Image.frombytes("P", index.size, index.tobytes())
    palette, alphas = _palette()
    image.putpalette(palette)
    if rounded:
        image.info["transparency"] = alphas
    return image


def render_svg(scale: float) -> str:
    def xy(p: Point) -> str:
        x, y = _to_canvas(p, 100, scale)
        return f"{x:.1f} {y:.1f}"

    paths = "".join(
        f"M{xy(a)}Q{xy(b)} {xy(c)}L{xy(d)}Q{xy(e)} {xy(f)}Z" for a, b, c, d, e, f in PAGES
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" rx="{CORNER_RADIUS * 100:g}" fill="{BACKGROUND}"/>'
        f'<path fill="{MARK}" d="{paths}"/></svg>\n'
    )


def _fits_safe_zone(scale: float) -> bool:
    points = [p for page in PAGES for p in _outline(page)]
    return all(
        (x * scale) ** 2 + ((y - MARK_CENTRE_Y) * scale) ** 2 <= MASKABLE_SAFE_RADIUS**2
        for x, y in points
    )


def main() -> None:
    any_scale, maskable_scale, apple_scale = 0.72, 0.62, 0.68
    if not _fits_safe_zone(maskable_scale):
        raise SystemExit("The maskable mark leaves the safe zone: lower maskable_scale.")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon.svg").write_text(render_svg(any_scale))
    icons = {
        "icon-192.png": render_png(192, any_scale, rounded=True),
        "icon-512.png": render_png(512, any_scale, rounded=True),
        "maskable-512.png": render_png(512, maskable_scale, rounded=False),
        "apple-touch-icon.png": render_png(180, apple_scale, rounded=False),
    }
    for name, image in icons.items():
        image.save(OUT / name, optimize=True)
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>6}  {path.name}")


if __name__ == "__main__":
    main()
