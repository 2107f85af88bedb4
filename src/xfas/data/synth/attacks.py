"""Composing one scene per attack type as a stack of layers (see ``layers``).

- live: a room and a person; sometimes a hand near the face or a hand holding a card, phone
  or book away from the face (distractors, no evidence).
- print: a room, maybe the attacker behind, a printed photo of another person in another room
  (the same face and room generators, then the print look; mostly with a white margin), its
  soft shadow on what is behind, hands holding it.
- cut: print, with holes cut at the eyes and/or mouth, the attacker's real face aligned behind.
- replay: a phone or tablet showing such a photo (screen look, pixel grid, moire, glare),
  its bezel, its shadow, hands holding it.

Layer names, back to front: room, arms, palms, paper | bezel + screen, fingers (and for live
scenes: distractor_hand, held_object). Tests leave layers out by these names.
"""

from __future__ import annotations

import cv2
import numpy as np

from xfas.data.synth import draw, media
from xfas.data.synth.cast import DrawnCast, Head, PhotoCast, Portrait, Scene
from xfas.data.synth.evidence import edge_band
from xfas.data.synth.hands import Hand, draw_arm, draw_fingers, draw_palm, sample_hand
from xfas.data.synth.layers import Composition, Layer

BEZELS = np.array([[18, 18, 20], [30, 30, 34], [236, 236, 238], [180, 182, 186],
                   [120, 122, 128], [205, 180, 150]], dtype=np.float32)
BEZEL_P = np.array([0.3, 0.25, 0.15, 0.1, 0.1, 0.1])
Cast = DrawnCast | PhotoCast


def _image_box(placement: media.Placement, box: tuple[float, float, float, float],
               offset: tuple[float, float]) -> tuple[float, float, float, float]:
    """The image bounding box of the face oval whose sheet box is ``box``: the ellipse inscribed
    in the box, mapped point by point (mapping the box's corners would inflate a tilted face's
    box, so printed faces would measure larger than live ones)."""
    x, y, w, h = box
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    oval = np.stack([x + w / 2 * (1 + np.cos(t)), y + h / 2 * (1 + np.sin(t))], axis=1)
    pts = placement.to_image(oval + np.asarray(offset))
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)


# ---- hands holding a medium -----------------------------------------------------------------
def _grips(rng: np.random.Generator, size: int, placement: media.Placement, *, palm: float,
           skin: tuple[float, float, float]) -> list[Hand]:
    """0-2 hands gripping the sheet's edges (a side, the bottom, rarely the top)."""
    w, h = placement.sheet_size
    edges = {"left": ((0, 0), (0, h), (1, 0)), "right": ((w, 0), (w, h), (-1, 0)),
             "bottom": ((0, h), (w, h), (0, -1)), "top": ((0, 0), (w, 0), (0, 1))}
    names = ("left", "right", "bottom", "top")
    hands: list[Hand] = []
    used: list[str] = []
    for _ in range(int(rng.choice(3, p=[0.2, 0.45, 0.35]))):
        for _try in range(6):
            name = names[int(rng.choice(4, p=[0.3, 0.3, 0.3, 0.1]))]
            if name in used:
                continue
            a, b, n = (np.array(v, np.float64) for v in edges[name])
            point = a + rng.uniform(0.12, 0.88) * (b - a)
            start, inward = placement.to_image(np.stack([point, point + n * 0.05 * w]))
            if -0.02 * size < start[0] < 1.02 * size and -0.02 * size < start[1] < 1.02 * size:
                direction = float(np.arctan2(*(inward - start)[::-1]))
                hands.append(sample_hand(rng, start, direction, palm=palm, skin=skin))
                used.append(name)
                break
    return hands


def _hand_layers(size: int, hands: list[Hand]) -> tuple[Layer, Layer, Layer]:
    """The arms (not evidence), the palms and the fingers (skin claimed as clutching_hand)."""
    layers = []
    for name in ("arms", "palms", "fingers"):
        canvas = np.zeros((size, size, 3), np.uint8)
        cover = np.zeros((size, size), np.uint8)
        skin = np.zeros((size, size), np.uint8)
        for hand in hands:
            if name == "arms":
                draw_arm(hand, canvas, cover)
            elif name == "palms":
                draw_palm(hand, canvas, cover, skin=skin)
            else:
                draw_fingers(hand, canvas, cover, skin=skin)
        claims = {} if name == "arms" else {"clutching_hand": skin.astype(bool)}
        layers.append(Layer(name, canvas, cover.astype(bool), claims))
    return layers[0], layers[1], layers[2]


# ---- the three attacks and live -------------------------------------------------------------
def _paper(rng: np.random.Generator, size: int, scene: Scene, *, cast: Cast, cut: bool
           ) -> tuple[list[Layer], Portrait, tuple[float, float, float, float]]:
    """Arms, palms, the printed paper (holes cut if ``cut``) and fingers, in front of the
    scene's attacker (drawn into the room by a drawn cast). Returns the layers, the printed
    portrait and the printed face's box in the image."""
    room = scene.room
    cx, cy, fw = scene.slot
    aspect = float(rng.choice([4 / 3, 3 / 2, 1.25, 0.75]))
    pw = int(round(size * rng.uniform(0.8, 1.2)))
    ph = int(round(pw * aspect))
    portrait = cast.portrait(rng, pw, ph, scene=scene, frontal=cut)
    borderless = rng.random() < cast.style.borderless
    margin = 0 if borderless else int(round(rng.uniform(0.04, 0.1) * pw))
    sw, sh = pw + 2 * margin, ph + 2 * margin
    paper = media.PAPERS[int(rng.integers(len(media.PAPERS)))] * rng.uniform(0.96, 1.02, 3)
    sheet = np.empty((sh, sw, 3), np.float32)
    sheet[:] = paper.astype(np.float32)
    sheet[margin:margin + ph, margin:margin + pw] = media.print_look(
        rng, portrait.image, paper.astype(np.float32), look=cast.style.look)
    scale = fw / portrait.width
    offset = (float(margin), float(margin))
    anchor = (portrait.centre[0] + margin, portrait.centre[1] + margin)
    placement = media.place(rng, size, (sw, sh), anchor=anchor, target=(cx, cy), scale=scale,
                            bend=rng.uniform(0, 0.03))
    region = placement.inside()
    un, vn = placement.u / sw - 0.5, placement.v / sh - 0.5
    shade = 1 + rng.uniform(-0.2, 0.2) * un + rng.uniform(-0.2, 0.2) * vn
    content = media.sample(sheet, placement) * shade[..., None]
    if rng.random() < 0.3:  # glossy photo paper
        content += media.glare(rng, size)[..., None]
    rgb = np.clip(content, 0, 255).astype(np.uint8)
    skin = cast.holder(rng, placement, scene=scene, portrait=portrait, offset=offset,
                       scale=scale, present=0.75, always=cut)
    _cast_shadow(rng, room, region)
    holes = np.zeros_like(region)
    if cut:
        which = str(rng.choice(["eyes", "mouth", "both"], p=[0.4, 0.2, 0.4]))
        sheet_holes = media.hole_shapes(rng, (sw, sh), portrait.eyes + margin,
                                        mouth=portrait.mouth + margin, face_width=portrait.width,
                                        which=which)
        holes = media.sample(sheet_holes, placement, nearest=True).astype(bool) & region
        rim = holes & cv2.dilate((region & ~holes).astype(np.uint8), np.ones((3, 3))).astype(bool)
        room[rim] = (room[rim] * 0.72).astype(np.uint8)
    palm = fw * cast.style.palm * rng.uniform(0.5, 0.8)
    hands = _grips(rng, size, placement, palm=palm, skin=skin)
    arms, palms, fingers = _hand_layers(size, hands)
    band = edge_band(region, size) & ~(arms.cover & ~region)
    claims = {"photo_edge": band, "print_surface": region & ~holes}
    if cut:
        claims["cut_hole"] = holes
    layers = [arms, palms, Layer("paper", rgb, region & ~holes, claims), fingers]
    return layers, portrait, _image_box(placement, portrait.box, offset)


def _device(rng: np.random.Generator, size: int, scene: Scene, *, cast: Cast
            ) -> tuple[list[Layer], Portrait, tuple[float, float, float, float]]:
    """Arms, palms, a phone or tablet (bezel and screen layers) and fingers, in front of the
    scene's attacker. Returns the layers, the shown portrait and the shown face's box in the
    image."""
    room = scene.room
    cx, cy, fw = scene.slot
    phone = rng.random() < 0.45
    short = size * rng.uniform(0.7, 1.1)
    long = short * (rng.uniform(1.8, 2.1) if phone else rng.uniform(1.25, 1.45))
    side = rng.uniform(0.03, 0.11) * short
    end = side * (rng.uniform(1.0, 2.2) if phone else rng.uniform(1.0, 1.3))
    landscape = rng.random() < (0.15 if phone else 0.35)
    wd, hd, bx, by = (long, short, end, side) if landscape else (short, long, side, end)
    pw, ph = int(round(wd - 2 * bx)), int(round(hd - 2 * by))
    portrait = cast.portrait(rng, pw, ph, scene=scene, frontal=False)
    scale = fw / portrait.width
    offset = (float(bx), float(by))
    anchor = (portrait.centre[0] + bx, portrait.centre[1] + by)
    placement = media.place(rng, size, (wd, hd), anchor=anchor, target=(cx, cy), scale=scale,
                            bend=0.0)
    radius = rng.uniform(0.04, 0.1) * short
    body = media.rounded_rect(placement, (0, 0, wd, hd), radius)
    u, v = placement.u, placement.v
    screen = body & (u >= bx) & (u < bx + pw) & (v >= by) & (v < by + ph)
    bezel = body & ~screen
    shown = media.sample(media.screen_look(rng, portrait.image, cast.style.look), placement,
                         offset)
    shown *= media.pixel_grid(rng, placement, cast.style.look)[..., None]
    colour = BEZELS[int(rng.choice(len(BEZELS), p=BEZEL_P))] * rng.uniform(0.92, 1.08)
    frame = colour * (1 + 0.15 * (u / wd - 0.5) + 0.1 * (v / hd - 0.5))[..., None]
    rim_width = 1.0 / scale
    inner = media.rounded_rect(placement, (rim_width, rim_width, wd - rim_width, hd - rim_width),
                               max(radius - rim_width, 0.5))
    rim = body & ~inner
    frame[rim] = np.clip(frame[rim] * rng.choice([0.55, 1.5]) + 15, 0, 255)
    lens = (u - wd / 2) ** 2 + (v - by / 2) ** 2 < (0.22 * by) ** 2  # front camera
    if not landscape:
        frame[lens & bezel] = (25, 25, 30)
    if rng.random() < 0.6:
        shine = media.glare(rng, size)[..., None]
        shown += shine
        frame += shine * 0.8
    skin = cast.holder(rng, placement, scene=scene, portrait=portrait, offset=offset,
                       scale=scale, present=0.7, always=False)
    _cast_shadow(rng, room, body)
    palm = fw * cast.style.palm * rng.uniform(0.5, 0.8)
    hands = _grips(rng, size, placement, palm=palm, skin=skin)
    arms, palms, fingers = _hand_layers(size, hands)
    layers = [arms, palms,
              Layer("bezel", np.clip(frame, 0, 255).astype(np.uint8), bezel,
                    {"ipad_border": bezel}),
              Layer("screen", np.clip(shown, 0, 255).astype(np.uint8), screen,
                    {"screen_surface": screen}, emissive=True),
              fingers]
    return layers, portrait, _image_box(placement, portrait.box, offset)


def _cast_shadow(rng: np.random.Generator, room: np.ndarray, medium: np.ndarray) -> None:
    """Darken ``room`` (in place) under the soft shadow of a held ``medium`` (bool mask): the
    medium's shape moved by 0.5-2 px along each axis (at 128 px) and blurred, so a dark rim
    shows just past the medium's outline, as behind a photo held in front of a lamp."""
    size = room.shape[0]
    shift = rng.uniform(0.5, 2.0, 2) * rng.choice([-1.0, 1.0], 2) * size / 128
    moved = cv2.warpAffine(medium.astype(np.float32),
                           np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (size, size))
    soft = cv2.GaussianBlur(moved, (0, 0), rng.uniform(0.8, 1.8) * size / 128)
    room[:] = (room * (1 - rng.uniform(0.25, 0.5) * soft[..., None])).astype(np.uint8)


def _near_face_hand(rng: np.random.Generator, face: Head) -> Hand:
    """A hand resting on a cheek or the chin, or raised beside the head."""
    fw, fh = face.width, face.height
    side = float(rng.choice([-1.0, 1.0]))
    pose = rng.choice(["cheek", "chin", "wave"])
    up = -np.pi / 2
    if pose == "cheek":
        anchor, direction = (face.cx + side * 0.42 * fw, face.cy + 0.3 * fh), up - 0.35 * side
    elif pose == "chin":
        anchor, direction = (face.cx + 0.1 * side * fw, face.cy + 0.45 * fh), up
    else:
        anchor, direction = (face.cx + side * 1.05 * fw, face.cy - 0.1 * fh), up + 0.2 * side
    return sample_hand(rng, anchor, direction, palm=fw * rng.uniform(0.5, 0.8), skin=face.skin)


def _held_object(rng: np.random.Generator, size: int, face: Head) -> Layer | None:
    """A hand holding a card, phone or book somewhere that does not cover the face."""
    x, y, w, h = face.box
    for _ in range(6):
        long, short = rng.uniform(0.25, 0.5) * size, rng.uniform(0.15, 0.3) * size
        ox, oy = rng.uniform(0.0, 1.0) * size, rng.uniform(0.55, 1.05) * size
        quad = draw.similarity(np.array([[-short, -long], [short, -long], [short, long],
                                         [-short, long]]) / 2, (ox, oy), 1.0, angle=rng.normal(0,
                                                                                               0.5))
        (qx0, qy0), (qx1, qy1) = quad.min(axis=0), quad.max(axis=0)
        if qx1 < x - 0.1 * w or qx0 > x + 1.1 * w or qy1 < y - 0.1 * h or qy0 > y + 1.1 * h:
            break
    else:
        return None
    canvas = np.zeros((size, size, 3), np.uint8)
    cover = np.zeros((size, size), np.uint8)
    skin = np.zeros((size, size), np.uint8)
    edge = int(rng.integers(4))
    point = quad[edge] + rng.uniform(0.2, 0.8) * (quad[(edge + 1) % 4] - quad[edge])
    inward = quad.mean(axis=0) - point
    hand = sample_hand(rng, point, float(np.arctan2(inward[1], inward[0])),
                       palm=face.width * rng.uniform(0.5, 0.8), skin=face.skin)
    draw_arm(hand, canvas, cover)
    draw_palm(hand, canvas, cover, skin=skin)
    kind = rng.choice(["card", "phone", "book"])
    body = {"card": media.PAPERS[int(rng.integers(len(media.PAPERS)))],
            "phone": BEZELS[int(rng.integers(len(BEZELS)))],
            "book": rng.uniform(20, 230, 3)}[kind]
    for image, colour in ((canvas, tuple(float(c) for c in body)), (cover, 1)):
        draw.fill(image, quad, colour, aa=False)
    centre = quad.mean(axis=0)
    inset = centre + (quad - centre) * rng.uniform(0.7, 0.9)
    if kind != "book" or rng.random() < 0.5:
        draw.fill(canvas, inset, tuple(rng.uniform(30, 230, 3)))
    draw_fingers(hand, canvas, cover, skin=skin)
    return Layer("held_object", canvas, cover.astype(bool))


def build_live(rng: np.random.Generator, size: int, *, cast: Cast) -> Composition:
    """A live scene: a person (drawn in a room, or a real photo framed by the camera),
    sometimes a hand near the face or a held object."""
    scene = cast.scene(rng, size, live=True)
    face = scene.head
    layers = [Layer("room", scene.room, np.ones((size, size), bool))]
    distractors = list(scene.objects)
    if rng.random() < 0.35:
        hand = _near_face_hand(rng, face)
        canvas = np.zeros((size, size, 3), np.uint8)
        cover = np.zeros((size, size), np.uint8)
        skin = np.zeros((size, size), np.uint8)
        draw_arm(hand, canvas, cover)
        draw_palm(hand, canvas, cover, skin=skin)
        draw_fingers(hand, canvas, cover, skin=skin)
        layers.append(Layer("distractor_hand", canvas, cover.astype(bool)))
        distractors.append("hand")
    if rng.random() < 0.25:
        held = _held_object(rng, size, face)
        if held is not None:
            layers.append(held)
            distractors.append("held_object")
    people = {} if scene.person is None else {"person": scene.person}
    return Composition("live", layers, int(rng.integers(2 ** 62)), face.box, distractors,
                       people, cast.style.profile)


def build_spoof(rng: np.random.Generator, size: int, attack: str, *, cast: Cast) -> Composition:
    """A print, cut or replay scene (see the module docstring)."""
    scene = cast.scene(rng, size, live=False)
    if attack == "replay":
        media_layers, portrait, box = _device(rng, size, scene, cast=cast)
    else:
        media_layers, portrait, box = _paper(rng, size, scene, cast=cast, cut=attack == "cut")
    layers = [Layer("room", scene.room, np.ones((size, size), bool))] + media_layers
    people = {name: person for name, person in (("attacker", scene.person),
                                                 ("victim", portrait.person)) if person}
    return Composition(attack, layers, int(rng.integers(2 ** 62)), box, list(scene.objects),
                       people, cast.style.profile)
