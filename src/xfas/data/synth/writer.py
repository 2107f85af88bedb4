"""Writing a SynthSpoof data set to disk::

    DIR/images/<name>.png
    DIR/masks/<evidence>/<name>.png   8-bit, 255 = evidence; only for types present in <name>
    DIR/manifest.json                 {"version": 1, "generator": "synthspoof", "seed", "size",
                                       "images": {name: {"label", "attack", "evidence",
                                       "split", "face_box", "distractors"}}, ...}

Names are the zero-padded index (``000042``). ``face_box`` is [x, y, w, h] of the visible
face oval in image pixels (of the printed or shown face for spoofs). The same seed gives
byte-identical files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from xfas.data.benchmark_layout import ALL_EVIDENCE_TYPES, BenchmarkLayout
from xfas.data.synth.generator import Faces, check_size, render_sample, resolve_faces
from xfas.data.synth.layout import SPLITS, check_mix, person_split
from xfas.data.synth.photos import FACE_CROP, photo_credit
from xfas.errors import XfasError
from xfas.progress import progress_bar

MANIFEST_VERSION = 1


def generate_synthspoof(out: str | Path, n: int, size: int = 128, *, seed: int = 0,
                        faces: Faces = None, progress: bool = True, overwrite: bool = False,
                        mix: Mapping[str, float] | None = None) -> Path:
    """Write ``n`` SynthSpoof images with evidence masks and a manifest to ``out``.

    Args:
        out: the data set folder; it must not exist or be empty unless ``overwrite`` (which
            replaces its images/, masks/ and manifest.json).
        n: number of images (>= 1); image i is the same whatever n is.
        size: image side in pixels (>= 32).
        seed: data set seed (>= 0).
        faces: a folder of real face photos (or ``load_face_photos``'s result): every person
            is then real, each in one split; None draws the people.
        progress: show a progress bar.
        mix: attack -> weight (default 40 % live, 20 % each of print, cut, replay).

    Returns:
        The folder ``out``.

    Example:
        >>> generate_synthspoof("synth", n=1000, seed=0, progress=False)  # doctest: +SKIP
        PosixPath('synth')
    """
    if int(n) != n or n < 1:
        raise XfasError(f"--n {n}: must be a positive number of images")
    size = check_size(size)
    if int(seed) != seed or seed < 0:
        raise XfasError(f"--seed {seed}: must be a non-negative integer")
    weights = check_mix(mix)
    photos = resolve_faces(faces)
    out = Path(out)
    layout = BenchmarkLayout(out)
    layout.prepare(overwrite)
    width = max(6, len(str(int(n) - 1)))
    records: dict[str, dict] = {}
    with progress_bar(progress) as bar:
        task = bar.add_task("synthspoof", total=int(n))
        for index in range(int(n)):
            sample = render_sample(index, seed, size, faces=photos, mix=weights)
            name = f"{index:0{width}d}"
            layout.write_sample(name, sample.image, sample.masks)
            records[name] = {
                "label": sample.label, "attack": sample.attack,
                "evidence": list(sample.masks), "split": sample.split,
                "face_box": [round(float(v), 1) for v in sample.face_box],
                "distractors": sample.distractors, "capture": sample.capture,
            }
            if sample.people:
                records[name]["people"] = sample.people
            bar.advance(task)
    manifest = {"version": MANIFEST_VERSION, "generator": "synthspoof", "seed": int(seed),
                "size": size, "mix": weights, "evidence_types": list(ALL_EVIDENCE_TYPES),
                "splits": {name: bound for name, bound in SPLITS},
                "faces": None if faces is None else (str(faces) if isinstance(faces, (str, Path))
                                                     else f"{len(photos)} photos"),
                "images": records}
    if photos is not None:
        manifest["people"] = {p.person: person_split(seed, p.person)
                              for p in sorted(photos, key=lambda p: p.person)}
        manifest["credit"] = photo_credit(faces)
        manifest["crop_scale"] = FACE_CROP
    layout.write_manifest(manifest)
    return out
