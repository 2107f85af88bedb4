"""SPED discovery per attack type, merged into one bank: a model whose layer activations are
built from four known concept directions, two seen only in "print" images and two only in
"replay" images, and whose spoof logit reads one replay concept alone. The merged bank must
hold each group's own factorisation, record where each concept came from, and rank the
concepts on all the images together; the CLI flag end to end on a generated SynthSpoof."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from xfas.cli import main
from xfas.errors import XfasError
from xfas.models.checkpoint import save_checkpoint
from xfas.sped import SPED, ConceptBank
from xfas.sped.merge import Discovery, attack_groups, merge_discoveries

from helpers.models import PlantedConceptModel, synth_and_untrained_model
from helpers.tolerance import assert_close

SIZE = 32  # input side; the layer is SIZE / 4 = 8 cells a side
CHANNELS = 12
PLANTED = 4  # concepts 0, 1 in print images; 2, 3 in replay images
GROUPS = {"print": (0, 1), "replay": (2, 3)}
DRIVER = 3  # the replay concept the head reads


def directions() -> torch.Tensor:
    """D (C x 4) with orthonormal, mixed-sign columns: the planted concept directions, the
    print concepts on the first half of the channels, the replay concepts on the other half."""
    generator = torch.Generator().manual_seed(0)
    d = torch.zeros(CHANNELS, PLANTED)
    half = CHANNELS // 2
    for rows, (first, second) in zip((slice(0, half), slice(half, None)), GROUPS.values()):
        d[rows, [first, second]] = torch.linalg.qr(torch.randn(half, 2, generator=generator))[0]
    return d


class TwoAttackModel(PlantedConceptModel):
    """``PlantedConceptModel`` on the two groups' directions with a spoof logit of 1 plus the
    sum over cells of <d_3, a>: only concept 3 moves it, and on print images (whose
    activations lie in channels d_3 does not touch) it is constant."""

    def __init__(self) -> None:
        super().__init__(directions(), side=SIZE, driver=DRIVER, bias=1.0)


def planted(n_per_group: int, seed: int = 0) -> tuple[torch.Tensor, list[str], np.ndarray]:
    """(images, attacks, holds): print and replay images interleaved; each image's four
    16 x 16 quarters hold one of its group's concepts at a random amount; ``holds[i, j]``
    says whether image i shows concept j."""
    rng = np.random.default_rng(seed)
    half = SIZE // 2
    images, attacks = [], []
    holds = np.zeros((2 * n_per_group, PLANTED), dtype=bool)
    for i in range(2 * n_per_group):
        attack = "replay" if i % 2 == 0 else "print"  # replay first: the order is not sorted
        image = torch.zeros(PLANTED, SIZE, SIZE)
        for quarter in range(4):
            k = int(rng.choice(GROUPS[attack]))
            y, x = half * (quarter // 2), half * (quarter % 2)
            image[k, y:y + half, x:x + half] = float(rng.uniform(0.5, 1.5))
            holds[i, k] = True
        images.append(image)
        attacks.append(attack)
    return torch.stack(images), attacks, holds


# 128 Sobol base points: the Jansen estimates of this tiny model are then within a few
# hundredths of their limits, so the importance test can compare values
SETTINGS = dict(layer="features", n_concepts=2, seed=0, n_designs=128, batch_size=1024,
                progress=False, nmf_options={"n_init": 1})


@pytest.fixture(scope="module")
def merged() -> tuple[SPED, torch.Tensor, list[str], np.ndarray]:
    """SPED fitted per attack type on 12 print and 12 replay images."""
    images, attacks, holds = planted(12)
    return SPED(TwoAttackModel(), **SETTINGS).fit(images, attacks), images, attacks, holds


def test_merged_w_is_the_concatenation_of_the_per_attack_fits(merged) -> None:
    sped, images, attacks, _ = merged
    labels = np.array(attacks)
    alone = [SPED(TwoAttackModel(), **SETTINGS).fit(images[torch.from_numpy(
        np.flatnonzero(labels == attack))]) for attack in ("print", "replay")]
    assert_close(sped.components_, torch.cat([s.components_ for s in alone], dim=1))
    assert sped.sources_ == ["print", "print", "replay", "replay"]
    assert sped.bank_.n_concepts == 4 and sped.bank_.n_images == 24
    # each concept keeps the most activating crops of its own group's images
    for k, source in enumerate(sped.sources_):
        assert torch.equal(sped.bank_.top_crops[k], alone[k // 2].bank_.top_crops[k % 2])
        shown = sped.bank_.top_crops[k].float().mean(dim=(0, 2, 3))  # channel j = concept j
        assert int(shown.argmax()) in GROUPS[source]


def test_importance_is_ranked_on_all_images_and_finds_the_concept_the_head_reads(merged
                                                                               ) -> None:
    sped, images, attacks, _ = merged
    found = sped.components_.double()
    truth = directions().double()
    cosines = (truth / truth.norm(dim=0)).T @ (found / found.norm(dim=0))  # (planted, found)
    driver = int(cosines[DRIVER].argmax())
    assert float(cosines[DRIVER, driver]) > 0.9
    assert sped.sources_[driver] == "replay"
    assert_close(sped.importances_.sum(), 1.0)
    assert sped.importances_[driver] > 5 * np.delete(sped.importances_, driver).max()
    # every discovery image has its per-image indices; on print images the output is
    # constant, and the estimator then sets every index to exactly 0
    print_rows = np.array(attacks) == "print"
    assert sped.image_importances_.shape == (24, 4)
    assert not sped.image_importances_[print_rows].any()
    # so the driver's mean over all 24 images is half its mean over the 12 replay images,
    # which a fit on the replay images alone gives
    replay = torch.from_numpy(np.flatnonzero(~print_rows))
    alone = SPED(TwoAttackModel(), **SETTINGS).fit(images[replay])
    assert_close(sped.raw_importances_[driver], alone.raw_importances_[driver - 2] / 2,
                 rtol=0, atol=0.03)


def test_typical_activation_is_the_mean_over_all_discovery_images(merged) -> None:
    sped, images, _, _ = merged
    exp = sped.explain(images)
    # explain's activation is the mean coefficient over the typical value; typical values
    # come from every discovery image, so their mean activation is 1 for every concept
    assert_close(exp.activation.double().mean(dim=0), np.ones(4), rtol=0, atol=1e-3)
    # a print concept is absent from replay images
    labels = np.array(merged[2])
    replay = torch.from_numpy(labels == "replay")
    for k, source in enumerate(sped.sources_):
        if source == "print":
            assert float(exp.activation[replay, k].max()) < 0.05


def test_sources_round_trip_through_save_and_load(merged, tmp_path) -> None:
    sped, images, _, _ = merged
    path = sped.save(tmp_path / "bank.safetensors")
    loaded = SPED.load(path, sped.model, progress=False)
    assert loaded.sources_ == ["print", "print", "replay", "replay"]
    assert loaded.bank_.with_names({0: "paper"}).sources == loaded.sources_
    with pytest.raises(XfasError, match="3 sources for 4 concepts"):
        replace(loaded.bank_, sources=["print"] * 3)
    a, b = sped.explain(images[:4]), loaded.explain(images[:4])
    assert_close(a.ungated_maps, b.ungated_maps)
    assert torch.equal(a.activated, b.activated)  # the same verdicts


def test_a_version_1_bank_loads_with_no_sources_and_a_newer_one_is_refused(merged, tmp_path
                                                                            ) -> None:
    sped = merged[0]
    head = sped.bank_.header()
    tensors = {"components": sped.bank_.components,
               **{name: torch.from_numpy(getattr(sped.bank_, name)) for name in
                  ("importances", "importance_std", "raw_importances", "raw_importance_std",
                   "typical_activation")}}

    def write(name: str, header: dict) -> str:
        text = json.dumps(header, sort_keys=True, separators=(",", ":"))  # the canonical JSON
        digest = torch.frombuffer(bytearray(hashlib.sha256(text.encode()).digest()),
                                  dtype=torch.uint8)
        return str(save_checkpoint(tmp_path / name, dict(tensors, header_sha256=digest),
                                   header))

    old = {key: value for key, value in head.items() if key != "sources"} | {"version": 1}
    loaded = ConceptBank.load(write("old.safetensors", old))
    assert loaded.sources == [] and loaded.version == 2
    with pytest.raises(XfasError, match="new.safetensors.*version 3"):
        ConceptBank.load(write("new.safetensors", head | {"version": 3}))


def test_attack_groups_and_merging_refuse_bad_input() -> None:
    groups = attack_groups(["replay", "print", "replay"], 3)
    assert list(groups) == ["print", "replay"]
    assert groups["replay"].tolist() == [0, 2]
    with pytest.raises(XfasError, match="2 attack names for 3 images"):
        attack_groups(["print", "cut"], 3)
    with pytest.raises(XfasError, match="empty attack name"):
        attack_groups(["print", " "], 2)
    with pytest.raises(XfasError, match="nothing to merge"):
        merge_discoveries([])
    images = planted(2)[0]
    sped = SPED(TwoAttackModel(), **SETTINGS)
    part = sped.discover(images[:2], source="print")
    with pytest.raises(XfasError, match="'print'"):
        merge_discoveries([part, part])
    pooled = sped.discover(images)
    assert isinstance(pooled, Discovery) and pooled.sources == []
    with pytest.raises(XfasError, match="without a source"):
        merge_discoveries([part, pooled])


def test_an_attack_with_too_few_images_for_k_is_named() -> None:
    images, attacks, _ = planted(3)
    attacks[1] = "cut"  # one cut image: 9 crops, fewer than 12 concepts
    sped = SPED(TwoAttackModel(), **{**SETTINGS, "n_concepts": 12})
    with pytest.raises(XfasError, match="images of 'cut': 1 images give 9 crops"):
        sped.fit(images, attacks)


# ---------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    root = tmp_path_factory.mktemp("sped_merge_cli")
    return (root, *synth_and_untrained_model(root, 40))


@pytest.mark.slow
def test_per_attack_discovery_end_to_end(synth, capsys) -> None:
    root, data, model_path = synth
    manifest = json.loads((data / "manifest.json").read_text())
    expected = sorted({entry["attack"] for entry in manifest["images"].values()
                       if entry["split"] == "train" and entry["label"] == "spoof"})
    bank = root / "per_attack.safetensors"
    assert main(["concepts", "discover", "--model", str(model_path), "--data", str(data),
                 "--out", str(bank), "--by-attack", "--concepts", "2", "--designs", "4",
                 "--no-progress"]) == 0
    loaded = ConceptBank.load(bank)
    assert loaded.sources == [attack for attack in expected for _ in range(2)]
    assert loaded.n_concepts == 2 * len(expected)
    assert_close(loaded.importances.sum(), 1.0)
    assert loaded.top_crops is not None and loaded.top_crops.shape[0] == loaded.n_concepts
    capsys.readouterr()
    assert main(["concepts", "show", str(bank), "--figure", str(root / "grid.png")]) == 0
    shown = capsys.readouterr().out
    assert "source" in shown and all(attack in shown for attack in expected)


@pytest.mark.slow
def test_per_attack_user_errors_name_the_input(synth, capsys) -> None:
    root, data, model_path = synth
    base = ["concepts", "discover", "--model", str(model_path), "--data", str(data),
            "--by-attack", "--designs", "4", "--no-progress"]
    assert main(base + ["--out", str(root / "a.safetensors"), "--attack", "print"]) == 2
    assert "--attack 'print'" in capsys.readouterr().err
    # 4 images (36 crops) are enough for 20 concepts pooled, not for one attack type's few
    assert main(base + ["--out", str(root / "b.safetensors"), "--limit", "4", "--concepts",
                        "20"]) == 2
    error = capsys.readouterr().err
    assert str(data) in error and "images of '" in error and "n_concepts=20" in error
