"""The benchmark layout, read and written here and nowhere else::

    DIR/images/<name>.{png,jpg,...}
    DIR/masks/<evidence>/<name>.png   8-bit, non-zero = evidence, same size as the image
    DIR/manifest.json                 optional: {"images": {name: {"label", "attack",
                                      "evidence", "split", "face_box"}}}
    DIR/polygons/<name>.json          optional: the polygons the annotation page drew,
                                      {"size": [H, W], "polygons": {evidence: [[[x, y], ...]]}}

``xfas synth`` and ``xfas annotations import`` write it, the annotation page edits it, the
benchmark and the evidence-masked datasets read it. The manifest
format (one entry per image) is also what a folder dataset's optional manifest holds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from PIL import Image

from xfas.data.image_io import write_png
from xfas.errors import ItemError, XfasError

EVIDENCE_TYPES = ("clutching_hand", "cut_hole", "ipad_border", "photo_edge")  # the papers'
SURFACE_TYPES = ("print_surface", "screen_surface")  # the attack surface, SynthSpoof's addition
ALL_EVIDENCE_TYPES = EVIDENCE_TYPES + SURFACE_TYPES
SPLITS = ("train", "val", "test")
LABELS = {"live": 0, "spoof": 1}
IMAGES, MASKS, MANIFEST, POLYGONS = "images", "masks", "manifest.json", "polygons"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MANIFEST_CROP = "manifest"  # a dataset's crop: as the manifest's top-level crop_scale says

FaceBox = tuple[float, float, float, float]  # (x, y, w, h) in image pixels


@dataclass(frozen=True)
class ManifestEntry:
    """One image's record in a manifest."""

    label: int
    attack: str
    evidence: tuple[str, ...]
    split: str | None
    face_box: FaceBox | None = None


def read_json(path: Path) -> Any:
    """Parse a JSON file; XfasError naming it if it is missing or malformed."""
    if not path.is_file():
        raise XfasError(f"{path}: file not found")
    try:
        with path.open("r", encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise XfasError(f"{path}: malformed JSON (line {error.lineno}, column {error.colno}: "
                        f"{error.msg})") from error
    except (OSError, UnicodeDecodeError) as error:
        raise XfasError(f"{path}: cannot read the file ({error})") from error


def read_manifest(path: Path) -> dict[str, ManifestEntry]:
    """The entries of a manifest.json, keyed by name; XfasError naming the file and the
    entry at fault. ``attack`` defaults to "live" / "spoof" from the label; a ``face_box``
    that is not four numbers with a positive width and height is left out."""
    data = read_json(path)
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise XfasError(f"{path}: expected an object with an \"images\" object of entries")
    return {str(name): _entry(f"{path}: entry {name!r}", record)
            for name, record in images.items()}


def _entry(where: str, record: Any) -> ManifestEntry:
    if not isinstance(record, dict):
        raise XfasError(f"{where}: expected an object, got {type(record).__name__}")
    label = record.get("label")
    if label not in LABELS:
        raise XfasError(f"{where}: label {label!r} is not \"live\" or \"spoof\"")
    attack = record.get("attack", label)
    if not isinstance(attack, str) or not attack:
        raise XfasError(f"{where}: attack {attack!r} is not a name")
    if (attack == "live") != (label == "live"):
        raise XfasError(f"{where}: attack {attack!r} contradicts label {label!r}")
    evidence = record.get("evidence", [])
    if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
        raise XfasError(f"{where}: evidence {evidence!r} is not a list of names")
    split = record.get("split")
    if split is not None and split not in SPLITS:
        raise XfasError(f"{where}: split {split!r} is not one of {', '.join(SPLITS)}")
    return ManifestEntry(LABELS[label], attack, tuple(evidence), split,
                         _face_box(record.get("face_box")))


def _face_box(value: Any) -> FaceBox | None:
    if (isinstance(value, list) and len(value) == 4
            and all(isinstance(v, (int, float)) for v in value) and value[2] > 0 and value[3] > 0):
        return tuple(float(v) for v in value)  # type: ignore[return-value]
    return None


def read_mask(path: Path) -> np.ndarray:
    """A mask file as bool (H, W): non-zero pixels are evidence; ItemError("unreadable_mask")
    naming the file when it cannot be decoded."""
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image)
    except Exception as error:  # corrupt files reach many decoder paths
        raise ItemError("unreadable_mask", path, f"cannot decode the mask ({error})") from error
    if pixels.ndim == 3:
        pixels = pixels[..., :3].max(axis=2)
    return pixels != 0


@dataclass(frozen=True)
class BenchmarkLayout:
    """The files of one folder in the benchmark layout.

    Example:
        >>> layout = BenchmarkLayout("synth")
        >>> layout.mask_path("photo_edge", "000042")
        PosixPath('synth/masks/photo_edge/000042.png')
    """

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def images_dir(self) -> Path:
        return self.root / IMAGES

    @property
    def masks_dir(self) -> Path:
        return self.root / MASKS

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def is_layout(self) -> bool:
        """Whether ``root`` looks like the benchmark layout (it has ``images/``)."""
        return self.images_dir.is_dir()

    def mask_path(self, evidence: str, name: str) -> Path:
        """Where the ``evidence`` mask of image ``name`` is (whether or not it exists)."""
        return self.masks_dir / evidence / f"{name}.png"

    def polygons_path(self, name: str) -> Path:
        """Where the annotation page keeps the polygons of image ``name``."""
        return self.root / POLYGONS / f"{name}.json"

    def evidence_types(self) -> tuple[str, ...]:
        """The paper's four evidence types, then the surfaces and any other ``masks/`` folder
        that exists, sorted."""
        extra = sorted(p.name for p in self.masks_dir.iterdir() if p.is_dir()) \
            if self.masks_dir.is_dir() else []
        return EVIDENCE_TYPES + tuple(e for e in extra if e not in EVIDENCE_TYPES)

    def image_files(self) -> dict[str, Path]:
        """{name: image file} of ``images/`` by name; two files of one name are an error."""
        files: dict[str, Path] = {}
        for path in sorted(self.images_dir.iterdir()):
            if not path.is_file() or path.suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            if path.stem in files:
                raise XfasError(f"{path}: another image has the same name, {files[path.stem]}")
            files[path.stem] = path
        return files

    def _manifest_value(self, key: str) -> Any:
        """The manifest's top-level ``key``, or None (no manifest, or no such key)."""
        if not self.manifest_path.is_file():
            return None
        data = read_json(self.manifest_path)
        return data.get(key) if isinstance(data, dict) else None

    def credit(self) -> str | None:
        """The credit line the images carry (the manifest's ``credit``: SynthSpoof writes one
        when its people are real photos), or None."""
        value = self._manifest_value("credit")
        return value if isinstance(value, str) else None

    def crop_scale(self) -> float | None:
        """The context crop the manifest says its items are cut with around their face boxes
        (its top-level ``crop_scale``), or None (whole images)."""
        value = self._manifest_value("crop_scale")
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise XfasError(f"{self.manifest_path}: crop_scale {value!r} is not a positive "
                            "number")
        return float(value)

    def read_manifest(self) -> dict[str, ManifestEntry]:
        """The manifest's entries, or {} when there is no manifest."""
        return read_manifest(self.manifest_path) if self.manifest_path.is_file() else {}

    def has_mask_file(self, name: str, evidence_types: tuple[str, ...] | None = None) -> bool:
        """Whether image ``name`` has a mask file of any evidence type."""
        return any(self.mask_path(e, name).is_file()
                   for e in (evidence_types or self.evidence_types()))

    def has_evidence_masks(self) -> bool:
        """Whether the folder is in the layout with at least one mask file."""
        return self.is_layout() and self.masks_dir.is_dir() and any(
            p.is_file() for folder in self.masks_dir.iterdir() if folder.is_dir()
            for p in folder.iterdir())

    # --- writing ---------------------------------------------------------------------------
    def prepare(self, overwrite: bool) -> None:
        """Make ``root`` ready for a new data set: it must be new or empty, or ``overwrite``
        replaces the data set in it (its images/, masks/, polygons/ and manifest.json)."""
        if self.root.exists() and not self.root.is_dir():
            raise XfasError(f"--out {self.root}: exists and is not a folder")
        if self.root.is_dir() and any(self.root.iterdir()):
            if not overwrite:
                raise XfasError(f"--out {self.root}: folder exists and is not empty; pass "
                                "--overwrite to replace the data set in it")
            for old in (self.images_dir, self.masks_dir, self.root / POLYGONS):
                if old.is_dir():
                    shutil.rmtree(old)
            self.manifest_path.unlink(missing_ok=True)
        self.images_dir.mkdir(parents=True, exist_ok=True)

    def write_sample(self, name: str, image: np.ndarray, masks: Mapping[str, np.ndarray]) -> None:
        """Write image ``name`` (RGB uint8) as PNG and each of its masks (bool) as 0 / 255."""
        write_png(self.images_dir / f"{name}.png", image)
        for evidence, mask in masks.items():
            write_png(self.mask_path(evidence, name), mask.astype(np.uint8) * 255)

    def write_manifest(self, manifest: Mapping[str, Any]) -> None:
        """Write ``manifest.json`` whole or not at all (written beside it, then renamed)."""
        write_json(self.manifest_path, manifest)

    def copy_image(self, source: Path) -> Path:
        """Copy an image file into ``images/`` byte for byte (its name is kept); the copy
        appears whole or not at all."""
        target = self.images_dir / source.name
        partial = target.with_name(target.name + ".partial")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, partial)
            partial.replace(target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise XfasError(f"{source}: cannot copy the image to {target} "
                            f"({error.strerror or error})") from error
        return target

    def write_mask(self, evidence: str, name: str, mask: np.ndarray) -> Path:
        """Write one mask (bool) as 0 / 255, whole or not at all."""
        return write_png(self.mask_path(evidence, name), mask.astype(np.uint8) * 255)

    def remove_mask(self, evidence: str, name: str) -> None:
        """Delete the ``evidence`` mask of ``name`` if there is one."""
        self.mask_path(evidence, name).unlink(missing_ok=True)

    def replace_with(self, staged: "BenchmarkLayout") -> None:
        """Make ``staged`` (a data set written in a folder beside ``root``) the data set of
        ``root``: a missing or empty ``root`` becomes it by one rename; otherwise its
        images/, masks/, polygons/ and manifest.json are moved aside, the staged ones moved
        in, and the old ones deleted. Other files in ``root`` stay."""
        if not self.root.exists() or (self.root.is_dir() and not any(self.root.iterdir())):
            if self.root.exists():
                self.root.rmdir()
            staged.root.rename(self.root)
            return
        parts = (IMAGES, MASKS, POLYGONS, MANIFEST)
        old = Path(tempfile.mkdtemp(prefix=f".{self.root.name}.", suffix=".old",
                                    dir=self.root.parent))
        for part in parts:
            if (self.root / part).exists():
                (self.root / part).rename(old / part)
        for part in parts:
            if (staged.root / part).exists():
                (staged.root / part).rename(self.root / part)
        shutil.rmtree(old)
        shutil.rmtree(staged.root)


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as JSON, whole or not at all."""
    return write_text(path, json.dumps(data, indent=1) + "\n")


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file whole or not at all (written beside it, then renamed);
    XfasError naming it when it cannot be written."""
    partial = path.with_name(path.name + ".partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise XfasError(f"{path}: cannot write the file ({error.strerror or error})") from error
    return path
