"""The reliance check against planted models: a model that reads a texture only where the test
put it must lose its spoof verdict exactly when that region is blurred."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from xfas.benchmark.reliance import evidence_reliance, region_masks
from xfas.cli import main
from xfas.errors import XfasError
from xfas.models.base import FASModel

from helpers.tolerance import assert_close

SIZE = 64
EVIDENCE = (slice(48, 62), slice(4, 60))   # a band near the bottom: the "photo edge"
FACE_BOX = (20, 8, 24, 28)                 # x, y, w, h: clear of the band


def texture_energy(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute high-pass (pixel minus its 3x3 mean) of each image, (N,)."""
    smooth = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return (x - smooth).abs().mean(dim=(1, 2, 3))


class TextureModel(FASModel):
    """Spoof log-odds = 10 (texture energy / midpoint - 1): it reads fine texture wherever it
    is, so what it needs is exactly where the texture was drawn."""

    input_size = SIZE

    def __init__(self, midpoint: float) -> None:
        super().__init__()
        self.midpoint = torch.nn.Parameter(torch.tensor(midpoint), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spoof = 10.0 * (texture_energy(x) / self.midpoint - 1)
        return torch.stack([-spoof / 2, spoof / 2], dim=1)


def _scene(rng: np.random.Generator, textured: tuple[slice, slice]) -> np.ndarray:
    """A smooth colour ramp with a +-40 checkerboard in ``textured``."""
    ramp = np.linspace(60, 190, SIZE)
    image = np.stack([ramp[None, :].repeat(SIZE, 0), ramp[:, None].repeat(SIZE, 1),
                      np.full((SIZE, SIZE), rng.uniform(80, 160))], axis=-1)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    checker = np.where((yy + xx) % 2 == 0, 40.0, -40.0)
    image[textured] += checker[textured][..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def _write(root: Path, textured: tuple[slice, slice], n: int = 5,
           face_box: bool = True, *, surface: bool = False) -> TextureModel:
    """A benchmark folder of ``n`` spoofs (photo_edge mask = EVIDENCE; with ``surface`` also a
    print_surface mask over the whole image, face included) and one live image; returns a
    TextureModel whose midpoint lies halfway between a spoof and its smooth twin."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks" / "photo_edge").mkdir(parents=True)
    (root / "masks" / "print_surface").mkdir(parents=True)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[EVIDENCE] = 255
    entries = {}
    for i in range(n + 1):
        name = f"{i:03d}"
        spoof = i < n
        Image.fromarray(_scene(rng, textured if spoof else (slice(0, 0), slice(0, 0)))).save(
            root / "images" / f"{name}.png")
        evidence = ["photo_edge", "print_surface"] if surface else ["photo_edge"]
        entry = {"label": "spoof" if spoof else "live", "attack": "print" if spoof else "live",
                 "evidence": evidence if spoof else [], "split": "test"}
        if face_box:
            entry["face_box"] = list(FACE_BOX)
        if spoof:
            Image.fromarray(mask).save(root / "masks" / "photo_edge" / f"{name}.png")
        if spoof and surface:
            Image.fromarray(np.full((SIZE, SIZE), 255, np.uint8)).save(
                root / "masks" / "print_surface" / f"{name}.png")
        entries[name] = entry
    (root / "manifest.json").write_text(json.dumps({"images": entries}))
    pair = np.stack([_scene(rng, textured), _scene(rng, (slice(0, 0), slice(0, 0)))])
    energies = texture_energy(torch.from_numpy(pair).permute(0, 3, 1, 2) / 255.0)
    return TextureModel(float(energies.mean()))


def _effects(result) -> dict:
    return {e.region: e for e in result.effects}


def test_a_model_reading_the_evidence_loses_its_verdict_only_when_the_evidence_is_blurred(
        tmp_path: Path) -> None:
    model = _write(tmp_path, EVIDENCE)
    result = evidence_reliance(model, tmp_path, progress=False)
    effects = _effects(result)
    assert result.images == 5 and result.spoof_probability > 0.99
    assert effects["evidence"].flipped == 1.0 and effects["evidence"].spoof_probability < 0.01
    assert effects["face"].flipped == 0.0 and effects["face"].spoof_probability > 0.99
    assert_close(effects["face"].area, 24 * 28 / SIZE ** 2)


def test_a_model_reading_the_face_loses_its_verdict_only_when_the_face_is_blurred(
        tmp_path: Path) -> None:
    x, y, w, h = FACE_BOX
    model = _write(tmp_path, (slice(y + 2, y + h - 2), slice(x + 2, x + w - 2)))
    effects = _effects(evidence_reliance(model, tmp_path, progress=False))
    assert effects["face"].flipped == 1.0
    assert effects["evidence"].flipped == 0.0 and effects["evidence"].spoof_probability > 0.95


def test_the_attack_surface_is_not_blurred_as_evidence(tmp_path: Path) -> None:
    # the print surface covers the face: counted as evidence, blurring it would flip a model
    # that reads only the face
    x, y, w, h = FACE_BOX
    model = _write(tmp_path, (slice(y + 2, y + h - 2), slice(x + 2, x + w - 2)), surface=True)
    effects = _effects(evidence_reliance(model, tmp_path, progress=False))
    assert effects["evidence"].flipped == 0.0 and effects["face"].flipped == 1.0
    assert effects["evidence"].area < 0.5  # the dilated band, not the whole sheet


def test_regions_dilate_the_evidence_and_keep_it_out_of_the_face() -> None:
    evidence = np.zeros((80, 80), bool)
    evidence[40, 40] = True
    regions = region_masks(evidence, (30.0, 30.0, 20.0, 20.0), np.random.default_rng(0))
    assert regions["evidence"].sum() == 5 * 5   # 80 / 40 = 2 px around the pixel
    assert not (regions["face"] & regions["evidence"]).any()
    assert regions["face"].sum() == 20 * 20 - 25
    assert regions["control"].sum() == 20 * 20
    assert set(region_masks(evidence, None, np.random.default_rng(0))) == {"evidence"}


def test_without_face_boxes_only_the_evidence_is_blurred(tmp_path: Path) -> None:
    model = _write(tmp_path, EVIDENCE, face_box=False)
    assert [e.region for e in evidence_reliance(model, tmp_path, progress=False).effects] == \
        ["evidence"]


def test_a_spoof_without_an_evidence_mask_is_named(tmp_path: Path) -> None:
    model = _write(tmp_path, EVIDENCE)
    (tmp_path / "masks" / "photo_edge" / "002.png").unlink()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["images"]["002"]["evidence"] = []
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(XfasError, match="'002' has no evidence mask"):
        evidence_reliance(model, tmp_path, progress=False)


def test_data_without_spoofs_is_named(tmp_path: Path) -> None:
    model = _write(tmp_path, EVIDENCE, n=0)
    with pytest.raises(XfasError, match="no spoof images in the test split"):
        evidence_reliance(model, tmp_path, progress=False)


def test_cli_writes_the_json_and_names_an_unwritable_out(tmp_path: Path, capsys,
                                                         monkeypatch) -> None:
    data = tmp_path / "data"
    model = _write(data, EVIDENCE)
    monkeypatch.setattr("xfas.models.registry.load_model", lambda spec, **_: model)
    out = tmp_path / "reliance.json"
    assert main(["reliance", "--model", "planted", "--data", str(data), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["images"] == 5
    assert [e["region"] for e in written["effects"]] == ["evidence", "face", "control"]
    assert written["effects"][0]["flipped"] == 1.0
    bad = tmp_path / "missing" / "reliance.json"
    assert main(["reliance", "--model", "planted", "--data", str(data), "--out", str(bad)]) == 2
    assert f"--out {bad}: cannot write" in capsys.readouterr().err


def test_cli_reports_bad_input_in_one_line(tmp_path: Path, capsys) -> None:
    assert main(["reliance", "--model", "cnn", "--data", str(tmp_path), "--split", "x"]) == 2
    assert "--split 'x'" in capsys.readouterr().err
    assert main(["reliance", "--model", "cnn", "--data", str(tmp_path)]) == 2
    assert "architecture without trained weights" in capsys.readouterr().err
