"""The data side of the annotation page: which images a data set has and how far they are
annotated, the polygons of one image (drawn before, or traced from its mask files), and
saving new polygons as masks, the polygons file and the manifest entry.

Saving writes each file whole or not at all (beside it, then renamed): first the masks, then
``polygons/<name>.json``, then the manifest. An image counts as annotated once its polygons
file exists, so the page resumes at the first image without one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from xfas.annotations.records import image_size
from xfas.annotations.shapes import check_polygon, mask_to_polygons, rasterize
from xfas.data.benchmark_layout import EVIDENCE_TYPES, BenchmarkLayout, read_json, read_mask, \
    write_json
from xfas.errors import ItemError, XfasError

POLYGONS_VERSION = 1


class AnnotationEditor:
    """Reads and writes the evidence annotations of one folder in the benchmark layout.

    Example:
        >>> editor = AnnotationEditor("bench")
        >>> editor.save("img_001", {"photo_edge": [[[10, 8], [30, 8], [30, 20], [10, 20]]]})
        {'name': 'img_001', 'pixels': {'photo_edge': 240}, 'evidence': ['photo_edge']}
    """

    def __init__(self, root: str | Path) -> None:
        self.layout = BenchmarkLayout(root)
        if not self.layout.is_layout():
            raise XfasError(f"--data {root}: not in the benchmark layout (no images/ folder); "
                            "put the images to annotate in DIR/images/")
        if not self.layout.image_files():
            raise XfasError(f"--data {root}: images/ holds no image to annotate")
        self.evidence_types = EVIDENCE_TYPES
        self._lock = threading.Lock()

    def image_file(self, name: str) -> Path:
        """The image file of ``name``; XfasError for a name the data set does not have."""
        files = self.layout.image_files()
        if name not in files:
            raise XfasError(f"image {name[:80]!r}: not in {self.layout.images_dir}")
        return files[name]

    def images(self) -> list[dict[str, Any]]:
        """Every image: name, file name, whether the page saved polygons for it, the types
        with a mask file, and its manifest label (None without an entry)."""
        manifest = self.layout.read_manifest()
        listed = []
        for name, path in self.layout.image_files().items():
            entry = manifest.get(name)
            listed.append({
                "name": name, "file": path.name,
                "annotated": self.layout.polygons_path(name).is_file(),
                "evidence": [e for e in self.evidence_types
                             if self.layout.mask_path(e, name).is_file()],
                "label": None if entry is None else ("spoof" if entry.label else "live")})
        return listed

    def load(self, name: str) -> dict[str, Any]:
        """The annotations of one image for editing: {"name", "width", "height", "polygons":
        {type: [[[x, y], ...], ...]}, "locked": {type: bool mask}}. Types the page drew come
        from the polygons file; other mask files are traced into polygons, or, when polygons
        cannot say them exactly (a hole), returned as ``locked`` masks."""
        height, width = image_size(self.image_file(name))
        saved = self._saved_polygons(name)
        polygons: dict[str, list] = {}
        locked: dict[str, np.ndarray] = {}
        for evidence in self.evidence_types:
            if evidence in saved:
                polygons[evidence] = saved[evidence]
                continue
            path = self.layout.mask_path(evidence, name)
            if not path.is_file():
                continue
            mask = self._mask(path, (height, width))
            traced = mask_to_polygons(mask)
            if traced is None:
                locked[evidence] = mask
            elif traced:
                polygons[evidence] = [p.tolist() for p in traced]
        return {"name": name, "width": width, "height": height, "polygons": polygons,
                "locked": locked}

    def save(self, name: str, polygons: Mapping[str, list]) -> dict[str, Any]:
        """Replace the annotations of the types in ``polygons`` ({type: list of polygons,
        each a list of [x, y]}): each type's mask becomes the union of its polygons (no
        polygon: the mask file is removed); types not given stay as they are. Returns the
        pixels per saved type and the image's evidence types now."""
        size = image_size(self.image_file(name))
        masks = {}
        for evidence, shapes in polygons.items():
            if evidence not in self.evidence_types:
                raise XfasError(f"image {name!r}: unknown evidence type {evidence!r}; valid "
                                f"types: {', '.join(self.evidence_types)}")
            checked = [check_polygon(points, size, f"image {name!r}, {evidence} polygon "
                                                   f"{index + 1}")
                       for index, points in enumerate(shapes)]
            masks[evidence] = (rasterize(checked, size),
                               [np.round(p, 2).tolist() for p in checked])
        with self._lock:
            for evidence, (mask, _) in masks.items():
                if mask.any():
                    self.layout.write_mask(evidence, name, mask)
                else:
                    self.layout.remove_mask(evidence, name)
            stored = self._saved_polygons(name)
            stored.update({evidence: shapes for evidence, (_, shapes) in masks.items()})
            write_json(self.layout.polygons_path(name),
                       {"version": POLYGONS_VERSION, "size": list(size), "polygons": stored})
            evidence_now = [e for e in self.evidence_types
                            if self.layout.mask_path(e, name).is_file()]
            self._update_manifest(name, evidence_now)
        return {"name": name, "pixels": {e: int(m.sum()) for e, (m, _) in masks.items()},
                "evidence": evidence_now}

    def _saved_polygons(self, name: str) -> dict[str, list]:
        path = self.layout.polygons_path(name)
        if not path.is_file():
            return {}
        data = read_json(path)
        polygons = data.get("polygons") if isinstance(data, dict) else None
        if not isinstance(polygons, dict):
            raise XfasError(f"{path}: expected an object with a \"polygons\" object")
        return {e: v for e, v in polygons.items() if e in self.evidence_types}

    @staticmethod
    def _mask(path: Path, size: tuple[int, int]) -> np.ndarray:
        try:
            mask = read_mask(path)
        except ItemError as error:
            raise XfasError(str(error)) from None
        if mask.shape != size:
            raise XfasError(f"{path}: the mask is {mask.shape[1]}x{mask.shape[0]} but the "
                            f"image is {size[1]}x{size[0]}")
        return mask

    def _update_manifest(self, name: str, evidence: list[str]) -> None:
        """Set the image's evidence in the manifest (an image with evidence becomes a spoof;
        label, attack, split and face box stay otherwise). Without a manifest nothing is
        written: the masks alone then say which images are spoofs."""
        path = self.layout.manifest_path
        if not path.is_file():
            return
        data = read_json(path)
        entries = data.get("images") if isinstance(data, dict) else None
        if not isinstance(entries, dict):
            raise XfasError(f"{path}: expected an object with an \"images\" object of entries")
        entry = dict(entries.get(name) or {"label": "live", "attack": "live"})
        if evidence and entry.get("label") == "live":
            entry.update(label="spoof", attack="spoof")
        entry["evidence"] = evidence
        entries[name] = entry
        self.layout.write_manifest(data)
