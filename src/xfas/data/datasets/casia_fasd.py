"""CASIA-FASD (Zhang et al., ICB 2012) as distributed::

    ROOT/train_release/<1..20>/<video>.avi
    ROOT/test_release/<1..30>/<video>.avi

Each subject has 12 videos: 1, 2 and HR_1 are real faces; 3, 4, HR_2 warped photos ("print");
5, 6, HR_3 cut photos ("cut"); 7, 8, HR_4 video replays ("replay"). Items are every k-th frame
of every video, cropped round the face found by a detector.

Construction only counts frames (``CAP_PROP_FRAME_COUNT``, checked by reading the last frame,
else counted by grabbing); frames are decoded when an item is read, through a few open
captures kept per process (so DataLoader workers never share one).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import cv2
import numpy as np
import torch

from xfas.data.datasets.balance import check_split
from xfas.data.datasets.base import CROP_SCALE, FASDataset, ItemError, Sample, require_folder
from xfas.data.geometry import Box, context_crop_box
from xfas.errors import XfasError
from xfas.progress import tracked

VIDEO_ATTACKS = {"1": "live", "2": "live", "HR_1": "live",
                 "3": "print", "4": "print", "HR_2": "print",
                 "5": "cut", "6": "cut", "HR_3": "cut",
                 "7": "replay", "8": "replay", "HR_4": "replay"}
VIDEO_EXTENSIONS = (".avi", ".mp4")
SPLIT_FOLDERS = {"train": "train_release", "test": "test_release"}
_SEEK_AHEAD = 32  # grab forward instead of seeking when the frame is this close ahead


class Detector(Protocol):
    """Anything with ``detect(rgb) -> (x, y, w, h) | None``, like ``FaceDetector``."""

    def detect(self, image_rgb: np.ndarray) -> tuple[int, int, int, int] | None: ...


@dataclass(frozen=True)
class FrameSample(Sample):
    """One frame of a CASIA-FASD video."""

    frame: int = 0
    subject: str = ""


class CasiaFASD(FASDataset):
    """CASIA-FASD frames, face-cropped.

    Items add ``frame`` (int, the frame number in the video) and ``subject`` (str); ``path``
    is the video.

    Args:
        root: the folder holding ``train_release/`` and/or ``test_release/``.
        split: "train" or "test".
        frame_step: keep frames 0, k, 2k, ... of each video.
        detector: an object with ``detect(rgb) -> (x, y, w, h) | None``; default
            ``FaceDetector.from_assets()`` (RetinaFace, or the Haar cascade without the
            assets), made on first use in each process. A frame without a face is cropped to
            its central square and counted in ``summary()`` ("no_face").
        crop_scale: the face box is scaled by this about its centre (``context_crop_box``);
            None uses whole frames and runs no detector.
        max_open: how many videos each process keeps open.
        progress: show a progress bar while counting frames.
        image_size, transform: see ``FASDataset``.

    Example:
        >>> test = CasiaFASD("CASIA_faceAntisp", split="test", frame_step=10)
        >>> test[0]["attack"]
        'live'
    """

    def __init__(self, root: str | Path, split: str = "train", image_size: int | None = 64,
                 *, transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 frame_step: int = 10, detector: Detector | None = None,
                 crop_scale: float | None = CROP_SCALE, max_open: int = 4,
                 progress: bool = True) -> None:
        super().__init__(image_size, transform)
        if not isinstance(frame_step, int) or frame_step < 1:
            raise XfasError(f"frame_step: expected a positive int, got {frame_step!r}")
        self.root = Path(root)
        self.split = check_split(split, tuple(SPLIT_FOLDERS))
        self.frame_step = frame_step
        self.crop_scale = crop_scale
        self.max_open = max(1, max_open)
        self._given_detector = detector
        self._default_detector: Detector | None = None
        self._captures: _Captures | None = None
        folder = require_folder(self.root / SPLIT_FOLDERS[split], f"CASIA-FASD {split} split")
        videos = _videos(folder)
        if not videos:
            raise XfasError(f"{folder}: no CASIA-FASD videos (<subject>/<1..8 or HR_1..4>.avi)")
        for subject, path in tracked(videos, "counting frames", progress):
            try:
                count = count_frames(path)
            except ItemError as error:
                self._note(error.reason, error.file, error.detail)
                continue
            attack = VIDEO_ATTACKS[path.stem]
            label = 0 if attack == "live" else 1
            self._samples.extend(FrameSample(path, label, attack, frame, subject)
                                 for frame in range(0, count, frame_step))
        if not self._samples:
            raise XfasError(f"{folder}: none of its {len(videos)} videos could be read; "
                            f"see summary()")

    # --- reading -----------------------------------------------------------------------
    def _read(self, sample: FrameSample) -> np.ndarray:  # type: ignore[override]
        if self._captures is None or self._captures.pid != os.getpid():
            self._captures = _Captures(self.max_open)
        return self._captures.frame(sample.path, sample.frame)

    def _crop_box(self, sample: FrameSample,  # type: ignore[override]
                  rgb: np.ndarray) -> Box:
        height, width = rgb.shape[:2]
        if self.crop_scale is None:
            return 0, 0, width, height
        try:
            face = self.detector.detect(rgb)
        except XfasError:
            face = None
        if face is None:
            self._note("no_face", f"{sample.path}#{sample.frame}", "no face detected")
            side = min(height, width)
            x0, y0 = (width - side) // 2, (height - side) // 2
            return x0, y0, x0 + side, y0 + side
        return context_crop_box(face, (height, width), self.crop_scale)

    def _extras(self, sample: FrameSample,  # type: ignore[override]
                rgb: np.ndarray, box: Box) -> dict[str, Any]:
        return {"frame": sample.frame, "subject": sample.subject}

    @property
    def detector(self) -> Detector:
        """The face detector: the one given, else the default made on first use."""
        if self._given_detector is not None:
            return self._given_detector
        if self._default_detector is None:
            from xfas.data.face import FaceDetector
            self._default_detector = FaceDetector.from_assets()
        return self._default_detector

    def __getstate__(self) -> dict[str, Any]:
        """Pickled copies (spawned DataLoader workers) open their own videos and detector."""
        state = self.__dict__.copy()
        state["_captures"] = None
        state["_default_detector"] = None
        return state

    def describe(self) -> str:
        return f"CasiaFASD({self.root}, split={self.split!r})"


def _videos(folder: Path) -> list[tuple[str, Path]]:
    """(subject, video) pairs under ``folder``, subjects in numeric order."""
    subjects = sorted((p for p in folder.iterdir() if p.is_dir()),
                      key=lambda p: (not p.name.isdigit(), int(p.name) if p.name.isdigit() else 0,
                                     p.name))
    pairs = []
    for subject in subjects:
        names = sorted(p for p in subject.iterdir() if p.is_file()
                       and p.suffix.lower() in VIDEO_EXTENSIONS and p.stem in VIDEO_ATTACKS)
        pairs.extend((subject.name, p) for p in names)
    return pairs


def count_frames(path: Path) -> int:
    """Frames in a video: the container's count when its last frame reads, else counted by
    grabbing every frame. ItemError("unreadable_video") when nothing can be read."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ItemError("unreadable_video", path, "OpenCV cannot open the video")
        claimed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if claimed > 0 and capture.set(cv2.CAP_PROP_POS_FRAMES, claimed - 1) \
                and capture.grab() and not capture.grab():
            return claimed
    finally:
        capture.release()
    capture = cv2.VideoCapture(str(path))
    try:
        count = 0
        while capture.grab():
            count += 1
    finally:
        capture.release()
    if count == 0:
        raise ItemError("unreadable_video", path, "no frame could be decoded")
    return count


class _Captures:
    """A few open ``cv2.VideoCapture`` objects of this process, least recently used closed
    first, each remembering the next frame it will return."""

    def __init__(self, size: int) -> None:
        self.pid = os.getpid()
        self.size = size
        self._open: OrderedDict[Path, list[Any]] = OrderedDict()  # path -> [capture, next]

    def frame(self, path: Path, number: int) -> np.ndarray:
        """Frame ``number`` of ``path`` as RGB uint8; ItemError("unreadable_frame")."""
        entry = self._open.pop(path, None)
        if entry is None:
            capture = cv2.VideoCapture(str(path))
            if not capture.isOpened():
                raise ItemError("unreadable_frame", f"{path}#{number}", "cannot open the video")
            entry = [capture, 0]
        self._open[path] = entry
        while len(self._open) > self.size:
            self._open.popitem(last=False)[1][0].release()
        capture, position = entry
        if position <= number < position + _SEEK_AHEAD:
            for _ in range(number - position):
                capture.grab()
        else:
            capture.set(cv2.CAP_PROP_POS_FRAMES, number)
        ok, bgr = capture.read()
        entry[1] = number + 1
        if not ok or bgr is None or bgr.ndim != 3:
            entry[1] = -_SEEK_AHEAD - 1  # unknown position: seek next time
            raise ItemError("unreadable_frame", f"{path}#{number}", "cannot decode this frame")
        return np.ascontiguousarray(bgr[:, :, ::-1])
