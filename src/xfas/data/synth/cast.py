"""Who is in a SynthSpoof scene: drawn people (``DrawnCast``) or real people from face photos
(``PhotoCast``). A cast makes the scene behind the attack (a room with a person, or the
attacker's real photo), the portrait that is printed or shown, and says whose hands hold the
medium.

With real photos, live and attack scenes are made the same way: a person's photo framed by the
camera, with the person cut from the studio wall and set in front of a drawn room or wall (in
the share ``Style.backdrop`` of scenes: every one by default, the same for live and attack
scenes and for the printed or shown portraits), so that the studio's look is no sign of a live
face. In an attack that person is the attacker, holding a print or a screen of someone (or of
themselves) in front of their face, so the printed face lands where their own face is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from xfas.data.synth import media
from xfas.data.synth.camera import DRAWN, PHOTO, Profile
from xfas.data.synth.faces import (SKIN_TONES, draw_person, face_box, feature_points,
                                   sample_face)
from xfas.data.synth.layout import face_slot
from xfas.data.synth.photos import FacePhoto, frame_matte, frame_photo
from xfas.data.synth.scene import backdrop, draw_room

# Width of a generated portrait's face as a fraction of min(photo width, 0.75 photo height) (a
# headshot, as in CASIA-FASD's prints): a portrait photo is then 1.2-1.6 face widths wide (a
# landscape one up to 2.7), so its edges usually show in the frame.
HEADSHOT = (0.65, 0.85)
# Face width of a real portrait on a print or screen, as a fraction of its width (a head and
# shoulders picture, whose edges show around the attacker's head).
PHOTO_HEADSHOT = (0.55, 0.8)
# Chance of a photo-sized rectangle behind a drawn live person, so that long straight edges
# are no spoof cue on their own (a test checks this with a Hough-line classifier).
LARGE_OBJECT = 0.4
SAME_PERSON = 0.2  # chance that a real attacker shows a photo of themselves
ZOOM = 1.3  # the camera's largest zoom into a real portrait's tightest square crop

Slot = tuple[float, float, float]  # centre x, centre y and width of the face in the image
Skin = tuple[float, float, float]


@dataclass(frozen=True)
class Style:
    """How a cast's attacks and camera look: the camera profile, the print and screen look,
    the holders' palm size (relative to the drawn default) and the chance of a print without
    a white margin."""

    profile: Profile
    look: media.Look
    palm: float
    borderless: float
    backdrop: float = 0.0  # chance that a real person is cut from the studio into a new scene


# Drawn people: everything varies widely, prints and screens are subtle.
DRAWN_STYLE = Style(profile=DRAWN, look=media.SUBTLE, palm=1.0, borderless=0.15)
# Real people: what a real FAS model accepts as live and rejects as an attack (measured in
# docs/experiments.md); real faces fill more of the frame, so hands are smaller relative to them.
# Every person is moved in front of a backdrop: MiniFASNet accepts them and rejects the attacks
# more often than in the studio, and a model trained on them cannot take the studio for "live".
PHOTO_STYLE = Style(profile=PHOTO, look=media.RECAPTURED, palm=0.7, borderless=0.05,
                    backdrop=1.0)


@dataclass(frozen=True)
class Portrait:
    """A photo of a person: the image and where its face is, in photo pixels."""

    image: np.ndarray
    centre: tuple[float, float]
    width: float
    eyes: np.ndarray        # (2, 2)
    mouth: np.ndarray       # (2,)
    box: tuple[float, float, float, float]
    person: str | None = None  # whose photo it is (None for a drawn person)


@dataclass(frozen=True)
class Head:
    """The visible face of the person in a scene: centre, width, height, skin and box."""

    cx: float
    cy: float
    width: float
    height: float
    skin: Skin
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Scene:
    """The background of a scene: its pixels, the face slot an attack covers, the names of the
    objects drawn in it, the person's head (None for a drawn spoof, whose attacker is drawn
    later or not at all) and, for real people, the framed photo."""

    room: np.ndarray
    slot: Slot
    objects: list[str]
    head: Head | None = None
    photo: FacePhoto | None = None

    @property
    def person(self) -> str | None:
        """The id of the person in the scene (None for drawn people)."""
        return None if self.photo is None else self.photo.person


def random_skin(rng: np.random.Generator) -> Skin:
    """The skin of a drawn holder whose face is not in view."""
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    c = SKIN_TONES[i] + (t - i) * (SKIN_TONES[i + 1] - SKIN_TONES[i])
    return (float(c[0]), float(c[1]), float(c[2]))


class DrawnCast:
    """People drawn by the generator (no photos needed)."""

    def __init__(self, style: Style = DRAWN_STYLE) -> None:
        self.style = style

    def scene(self, rng: np.random.Generator, size: int, *, live: bool) -> Scene:
        """A room; for a live scene a person in it, for an attack the slot its face covers."""
        if not live:
            room, objects = draw_room(rng, size, size)
            return Scene(room, face_slot(rng, size), objects)
        room, objects = draw_room(rng, size, size, large=LARGE_OBJECT)
        cx, cy, width = face_slot(rng, size)
        face = sample_face(rng, cx, cy, width=width)
        draw_person(room, face)
        head = Head(face.cx, face.cy, face.width, face.width * face.height_ratio, face.skin,
                    face_box(face))
        return Scene(room, (cx, cy, width), objects, head)

    def portrait(self, rng: np.random.Generator, width: int, height: int, *, scene: Scene,
                 frontal: bool) -> Portrait:
        """A generated person in a generated room."""
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

    def holder(self, rng: np.random.Generator, placement: media.Placement, *, scene: Scene,
               portrait: Portrait, offset: tuple[float, float], scale: float, present: float,
               always: bool) -> Skin:
        """The skin of the hands: with chance ``present`` (or ``always``) the attacker is drawn
        into the scene's room behind the medium, eyes aligned with the printed eyes."""
        skin = random_skin(rng)
        if rng.random() < present or always:
            skin = _draw_attacker(rng, scene.room, placement, portrait=portrait, offset=offset,
                                  scale=scale).skin
        return skin


def _draw_attacker(rng: np.random.Generator, room: np.ndarray, placement: media.Placement, *,
                   portrait: Portrait, offset: tuple[float, float], scale: float):
    """The attacker's drawn face behind the medium, eyes aligned with the printed eyes."""
    eyes = placement.to_image(portrait.eyes + np.asarray(offset))
    roll = float(np.arctan2(*(eyes[1] - eyes[0])[::-1]))
    centre = placement.to_image(np.array([portrait.centre]) + np.asarray(offset))[0]
    width = portrait.width * scale * rng.uniform(0.94, 1.06)
    face = sample_face(rng, centre[0], centre[1], width=width)
    face = replace(face, roll=roll, yaw=rng.uniform(-0.08, 0.08), pitch=rng.uniform(-0.04, 0.04))
    points = feature_points(face)
    shift = eyes.mean(axis=0) - (points["eye_left"] + points["eye_right"]) / 2
    face = replace(face, cx=face.cx + shift[0] + rng.normal(0, 0.02 * face.width),
                   cy=face.cy + shift[1] + rng.normal(0, 0.02 * face.width))
    draw_person(room, face)
    return face


def photo_slot(rng: np.random.Generator, size: int, photo: FacePhoto) -> Slot:
    """Centre and width of a real face in the image, such that the photo covers the whole
    frame: the camera zooms into the portrait by 1 to ``ZOOM`` times its tightest square crop
    and moves within it. (Pixels made up beyond a photo's border, however filled, make a real
    FAS model call the person a spoof.)"""
    h0, w0 = photo.image.shape[:2]
    cx0, cy0 = photo.centre
    tightest = size / min(w0, h0)  # the scale at which the photo just covers the frame
    scale = tightest * rng.uniform(1.0, ZOOM)
    # the photo spans [c - scale * c0, c + scale * (side - c0)]; it must cover [0, size]
    x_range = (size - scale * (w0 - cx0), scale * cx0)
    y_range = (size - scale * (h0 - cy0), scale * cy0)
    cx = rng.uniform(*_inside(x_range, 0.5 * size))
    cy = rng.uniform(*_inside(y_range, 0.45 * size))
    return cx, cy, scale * photo.width


def _inside(interval: tuple[float, float], preferred: float) -> tuple[float, float]:
    """``interval`` (low, high), or the single point nearest ``preferred`` when it is empty."""
    low, high = interval
    return (low, high) if low <= high else (preferred, preferred)


def framed(rng: np.random.Generator, photo: FacePhoto, size: tuple[int, int], *,
           centre: tuple[float, float], face_width: float, share: float
           ) -> tuple[np.ndarray, FacePhoto, bool]:
    """``frame_photo``'s picture, with chance ``share`` with the person cut from the studio
    wall (``FacePhoto.matte``) and set in front of a ``backdrop``; and whether they were."""
    image, face = frame_photo(photo, size, centre=centre, face_width=face_width)
    if not (share and rng.random() < share):
        return image, face, False
    alpha = frame_matte(photo, size, centre=centre, face_width=face_width)[..., None]
    behind = backdrop(rng, size[1], size[0]).astype(np.float32)
    image = (alpha * image + (1 - alpha) * behind + 0.5).astype(np.uint8)
    return image, replace(face, image=image), True


def skin_of(photo: FacePhoto) -> Skin:
    """The mean colour of the middle of a photo's face (cheeks and nose): the hands' skin."""
    x, y, w, h = photo.box
    patch = photo.image[int(y + 0.45 * h):int(y + 0.7 * h), int(x + 0.3 * w):int(x + 0.7 * w)]
    mean = patch.reshape(-1, 3).mean(axis=0) if patch.size else np.full(3, 150.0)
    return (float(mean[0]), float(mean[1]), float(mean[2]))


class PhotoCast:
    """Real people: ``people`` are the photos of one split (nobody's photos in two splits)."""

    def __init__(self, people: Sequence[FacePhoto], style: Style = PHOTO_STYLE) -> None:
        self.people = list(people)
        self.style = style

    def scene(self, rng: np.random.Generator, size: int, *, live: bool) -> Scene:
        """A person's photo as the camera frames it, with chance ``style.backdrop`` cut from
        the studio and set in front of another background ("backdrop" among the scene's
        objects), live or not; in an attack that person holds the medium in front of their
        face."""
        photo = self.people[int(rng.integers(len(self.people)))]
        cx, cy, width = photo_slot(rng, size, photo)
        room, face, moved = framed(rng, photo, (size, size), centre=(cx, cy),
                                   face_width=width, share=self.style.backdrop)
        x, y, w, h = face.box
        head = Head(cx, cy, w, h, skin_of(face), face.box)
        return Scene(np.ascontiguousarray(room), (cx, cy, width), ["backdrop"] if moved else [],
                     head, face)

    def portrait(self, rng: np.random.Generator, width: int, height: int, *, scene: Scene,
                 frontal: bool) -> Portrait:
        """A head and shoulders picture of another person of the split, or with chance
        ``SAME_PERSON`` of the attacker."""
        mine = [p for p in self.people if p.person == scene.person]
        others = [p for p in self.people if p.person != scene.person]
        pool = mine if (rng.random() < SAME_PERSON and mine) or not others else others
        victim = pool[int(rng.integers(len(pool)))]
        fraction = rng.uniform(*PHOTO_HEADSHOT)
        image, face, _ = framed(rng, victim, (width, height),
                                centre=(0.5 * width, 0.45 * height),
                                face_width=fraction * width, share=self.style.backdrop)
        return Portrait(image, face.centre, face.width, face.eyes, face.mouth, face.box,
                        victim.person)

    def holder(self, rng: np.random.Generator, placement: media.Placement, *, scene: Scene,
               portrait: Portrait, offset: tuple[float, float], scale: float, present: float,
               always: bool) -> Skin:
        """The attacker is in the photo already: the hands have their skin."""
        return scene.head.skin if scene.head is not None else random_skin(rng)
