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

from dataclasses import dataclass, replace
from typing import Sequence

import cv2
import numpy as np

from xfas.data.synth import draw, media
from xfas.data.synth.evidence import edge_band
from xfas.data.synth.faces import (SKIN_TONES, Face, draw_person, face_box, feature_points,
                                   sample_face)
from xfas.data.synth.hands import Hand, draw_arm, draw_fingers, draw_palm, sample_hand
from xfas.data.synth.layers import Composition, Layer
from xfas.data.synth.layout import face_slot
from xfas.data.synth.photos import FACE_CENTRE, FACE_FRACTION, fit_photo
from xfas.data.synth.scene import draw_room

BEZELS = np.array([[18, 18, 20], [30, 30, 34], [236, 236, 238], [180, 182, 186],
                   [120, 122, 128], [205, 180, 150]], dtype=np.float32)
BEZEL_P = np.array([0.3, 0.25, 0.15, 0.1, 0.1, 0.1])
# Chance of a photo-sized rectangle behind a live person, so that long straight edges are no
# spoof cue on their own (a test checks this with a Hough-line classifier).
LARGE_OBJECT = 0.4
# Width of a generated portrait's face as a fraction of min(photo width, 0.75 photo height) (a
# headshot, as in CASIA-FASD's prints): a portrait photo is then 1.2-1.6 face widths wide (a
# landscape one up to 2.7), so its edges usually show in the frame.
HEADSHOT = (0.65, 0.85)
# Chance that a print has no white margin (most printed photos have one).
BORDERLESS = 0.15


@dataclass(frozen=True)
class Portrait:
    """A photo of a person: the image and where its face is, in photo pixels."""

    image: np.ndarray
    centre: tuple[float, float]
    width: float
    eyes: np.ndarray        # (2, 2)
    mouth: np.ndarray       # (2,)
    box: tuple[float, float, float, float]


def _portrait(rng: np.random.Generator, width: int, height: int,
              *, photos: Sequence[np.ndarray] | None, frontal: bool) -> Portrait:
    """The content of a paper or screen: a generated person in a room, or a user photo."""
    if photos:
        image = fit_photo(photos[int(rng.integers(len(photos)))], width, height)
        fw = FACE_FRACTION * width
        cx, cy = FACE_CENTRE[0] * width, FACE_CENTRE[1] * height
        eyes = np.array([[cx - 0.2 * fw, cy - 0.04 * fw], [cx + 0.2 * fw, cy - 0.04 * fw]])
        return Portrait(image, (cx, cy), fw, eyes, np.array([cx, cy + 0.36 * fw]),
                        (cx - fw / 2, cy - 0.65 * fw, fw, 1.3 * fw))
    image, _ = draw_room(rng, height, width)
    fw = rng.uniform(*HEADSHOT) * min(width, 0.75 * height)
    cx, cy = rng.uniform(0.4, 0.6) * width, rng.uniform(0.38, 0.55) * height
    face = sample_face(rng, cx, cy, width=fw)
    if frontal:
        face = replace(face, yaw=face.yaw * 0.3, roll=face.roll * 0.5)
    draw_person(image, face)
    points = feature_points(face)
    return Portrait(image, (cx, cy), fw, np.stack([points["eye_left"], points["eye_right"]]),
                    points["mouth"], face_box(face))


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


def _attacker(rng: np.random.Generator, room: np.ndarray, placement: media.Placement,
              *, portrait: Portrait, offset: tuple[float, float], scale: float) -> Face:
    """The attacker's real face behind the medium, eyes aligned with the printed eyes."""
    eyes = placement.to_image(portrait.eyes + np.asarray(offset))
    roll = float(np.arctan2(*(eyes[1] - eyes[0])[::-1]))
    centre = placement.to_image(np.array([portrait.centre]) + np.asarray(offset))[0]
    face = sample_face(rng, centre[0], centre[1], width=portrait.width * scale * rng.uniform(0.94,
                                                                                             1.06))
    face = replace(face, roll=roll, yaw=rng.uniform(-0.08, 0.08), pitch=rng.uniform(-0.04, 0.04))
    points = feature_points(face)
    shift = eyes.mean(axis=0) - (points["eye_left"] + points["eye_right"]) / 2
    face = replace(face, cx=face.cx + shift[0] + rng.normal(0, 0.02 * face.width),
                   cy=face.cy + shift[1] + rng.normal(0, 0.02 * face.width))
    draw_person(room, face)
    return face


# ---- the three attacks and live -------------------------------------------------------------
def _paper(rng: np.random.Generator, size: int, room: np.ndarray, *, slot, photos,
           cut: bool) -> tuple[list[Layer], tuple[float, float, float, float]]:
    """Arms, palms, the printed paper (holes cut if ``cut``) and fingers; the attacker is
    drawn into ``room``. Returns the layers and the printed face's box in the image."""
    cx, cy, fw = slot
    aspect = float(rng.choice([4 / 3, 3 / 2, 1.25, 0.75]))
    pw = int(round(size * rng.uniform(0.8, 1.2)))
    ph = int(round(pw * aspect))
    portrait = _portrait(rng, pw, ph, photos=photos, frontal=cut)
    margin = 0 if rng.random() < BORDERLESS else int(round(rng.uniform(0.04, 0.1) * pw))
    sw, sh = pw + 2 * margin, ph + 2 * margin
    paper = media.PAPERS[int(rng.integers(len(media.PAPERS)))] * rng.uniform(0.96, 1.02, 3)
    sheet = np.empty((sh, sw, 3), np.float32)
    sheet[:] = paper.astype(np.float32)
    sheet[margin:margin + ph, margin:margin + pw] = media.print_look(rng, portrait.image,
                                                                     paper.astype(np.float32))
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
    skin = _skin(rng)
    if rng.random() < 0.75 or cut:
        skin = _attacker(rng, room, placement, portrait=portrait, offset=offset, scale=scale).skin
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
    hands = _grips(rng, size, placement, palm=fw * rng.uniform(0.5, 0.8), skin=skin)
    arms, palms, fingers = _hand_layers(size, hands)
    band = edge_band(region, size) & ~(arms.cover & ~region)
    claims = {"photo_edge": band}
    if cut:
        claims["cut_hole"] = holes
    layers = [arms, palms, Layer("paper", rgb, region & ~holes, claims), fingers]
    return layers, _image_box(placement, portrait.box, offset)


def _device(rng: np.random.Generator, size: int, room: np.ndarray, *, slot, photos
            ) -> tuple[list[Layer], tuple[float, float, float, float]]:
    """Arms, palms, a phone or tablet (bezel and screen layers) and fingers; the attacker is
    drawn into ``room``. Returns the layers and the shown face's box in the image."""
    cx, cy, fw = slot
    phone = rng.random() < 0.45
    short = size * rng.uniform(0.7, 1.1)
    long = short * (rng.uniform(1.8, 2.1) if phone else rng.uniform(1.25, 1.45))
    side = rng.uniform(0.03, 0.11) * short
    end = side * (rng.uniform(1.0, 2.2) if phone else rng.uniform(1.0, 1.3))
    landscape = rng.random() < (0.15 if phone else 0.35)
    wd, hd, bx, by = (long, short, end, side) if landscape else (short, long, side, end)
    pw, ph = int(round(wd - 2 * bx)), int(round(hd - 2 * by))
    portrait = _portrait(rng, pw, ph, photos=photos, frontal=False)
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
    shown = media.sample(media.screen_look(rng, portrait.image), placement, offset)
    shown *= media.pixel_grid(rng, placement)[..., None]
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
    skin = _skin(rng)
    if rng.random() < 0.7:
        skin = _attacker(rng, room, placement, portrait=portrait, offset=offset, scale=scale).skin
    _cast_shadow(rng, room, body)
    hands = _grips(rng, size, placement, palm=fw * rng.uniform(0.5, 0.8), skin=skin)
    arms, palms, fingers = _hand_layers(size, hands)
    layers = [arms, palms,
              Layer("bezel", np.clip(frame, 0, 255).astype(np.uint8), bezel,
                    {"ipad_border": bezel}),
              Layer("screen", np.clip(shown, 0, 255).astype(np.uint8), screen, emissive=True),
              fingers]
    return layers, _image_box(placement, portrait.box, offset)


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


def _skin(rng: np.random.Generator) -> tuple[float, float, float]:
    """The skin of a holder whose face is not in view."""
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    c = SKIN_TONES[i] + (t - i) * (SKIN_TONES[i + 1] - SKIN_TONES[i])
    return (float(c[0]), float(c[1]), float(c[2]))


def _near_face_hand(rng: np.random.Generator, face: Face) -> Hand:
    """A hand resting on a cheek or the chin, or raised beside the head."""
    fw, fh = face.width, face.width * face.height_ratio
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


def _held_object(rng: np.random.Generator, size: int, face: Face) -> Layer | None:
    """A hand holding a card, phone or book somewhere that does not cover the face."""
    x, y, w, h = face_box(face)
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


def build_live(rng: np.random.Generator, size: int) -> Composition:
    """A live scene: room, person, sometimes a hand near the face or a held object."""
    room, objects = draw_room(rng, size, size, large=LARGE_OBJECT)
    cx, cy, width = face_slot(rng, size)
    face = sample_face(rng, cx, cy, width=width)
    draw_person(room, face)
    layers = [Layer("room", room, np.ones((size, size), bool))]
    distractors = list(objects)
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
    return Composition("live", layers, int(rng.integers(2 ** 62)), face_box(face), distractors)


def build_spoof(rng: np.random.Generator, size: int, attack: str,
                *, photos: Sequence[np.ndarray] | None) -> Composition:
    """A print, cut or replay scene (see the module docstring)."""
    room, objects = draw_room(rng, size, size)
    slot = face_slot(rng, size)
    if attack == "replay":
        media_layers, box = _device(rng, size, room, slot=slot, photos=photos)
    else:
        media_layers, box = _paper(rng, size, room, slot=slot, photos=photos, cut=attack == "cut")
    layers = [Layer("room", room, np.ones((size, size), bool))] + media_layers
    return Composition(attack, layers, int(rng.integers(2 ** 62)), box, list(objects))
