"""SPED against planted truths: a model whose layer activations are built from known concept
directions at known places (so the concepts, their maps and which one the head uses are known
in advance), hand-computed activations, hand-written sentences, and file tampering."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from scipy.optimize import linear_sum_assignment
from torch import nn

from xfas.errors import XfasError
from xfas.explain import create_explainer
from xfas.sped import SPED, ConceptBank, ConceptExplanation, describe_explanation
from xfas.sped.crops import CropGrid
from xfas.sped.describe import location_words
from xfas.sped.labeling import overlap_table

from helpers.models import PlantedConceptModel
from helpers.tolerance import assert_close

SIZE = 32  # input side; the layer is SIZE / 4 = 8 cells a side
CHANNELS = 12
K = 3


def directions(seed: int = 0) -> torch.Tensor:
    """D (C x K) with orthonormal, mixed-sign columns: the planted concept directions."""
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(CHANNELS, K, generator=generator))
    return q


class PlantedModel(PlantedConceptModel):
    """``PlantedConceptModel`` with the K planted directions of ``seed``; its head reads
    concept 0 only."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__(directions(seed), side=SIZE, driver=0)


def paint(squares: list[tuple[int, int, int, int, float]]) -> torch.Tensor:
    """One input: squares (concept, y, x, side, amount) on an empty image."""
    image = torch.zeros(K, SIZE, SIZE)
    for k, y, x, side, amount in squares:
        image[k, y:y + side, x:x + side] = amount
    return image


def planted_images(n: int, seed: int = 0) -> torch.Tensor:
    """Images whose four 16 x 16 quarters each hold one random concept at a random amount, so
    every crop is a non-negative mixture of the directions and the corner crops are pure (the
    situation in which a factorisation can find the planted directions)."""
    rng = np.random.default_rng(seed)
    half = SIZE // 2
    return torch.stack([paint([(int(rng.integers(0, K)), half * (q // 2), half * (q % 2), half,
                                float(rng.uniform(0.5, 1.5))) for q in range(4)])
                        for _ in range(n)])


def hand_bank(model: nn.Module, typical=(1.0, 1.0, 1.0), importances=(0.5, 0.3, 0.2)
              ) -> ConceptBank:
    """A bank whose concepts are exactly the planted directions."""
    from xfas.sped.bank import model_fingerprint

    values = np.asarray(importances)
    return ConceptBank(components=directions(), importances=values,
                       importance_std=np.zeros(K), raw_importances=values,
                       raw_importance_std=np.zeros(K), typical_activation=np.asarray(typical),
                       names=["alpha", "beta", "gamma"], layer="features",
                       model_name="PlantedModel", model_fingerprint=model_fingerprint(model),
                       input_size=(SIZE, SIZE), grid=(SIZE // 4, SIZE // 4),
                       nmf={"eps": 1e-9, "max_iter": 500, "tol": 1e-5})


@pytest.fixture(scope="module")
def fitted() -> SPED:
    """SPED fitted on 24 planted images (tests using it are marked slow)."""
    torch.manual_seed(0)
    model = PlantedModel()
    return SPED(model, layer="features", n_concepts=K, seed=0, n_designs=16, batch_size=512,
                progress=False, nmf_options={"n_init": 1}).fit(planted_images(24))


# ---------------------------------------------------------------------------- crops
def test_crop_grid_covers_the_image_to_its_border() -> None:
    boxes = CropGrid(0.5, 0.25).boxes(64, 64)
    assert len(boxes) == 9
    assert boxes[0] == (0, 0, 32, 32) and boxes[-1] == (32, 32, 64, 64)
    # a stride that does not divide the free space still ends on the border: 0, 24, 34
    starts = sorted({b[0] for b in CropGrid(0.47, 0.375).boxes(64, 64)})
    assert starts == [0, 24, 34]
    with pytest.raises(XfasError, match="crop_fraction"):
        CropGrid(1.5, 0.25)


@pytest.mark.parametrize("batch_size", [64, 5])
def test_crops_come_image_major_and_show_their_region(batch_size) -> None:
    from xfas.sped.crops import crop_batches
    images = torch.zeros(2, 3, 64, 64)
    images[0, :, :32, :32] = 1.0  # image 0: a white top-left quadrant
    images[1, :, 32:, 32:] = 1.0  # image 1: a white bottom-right quadrant
    boxes = CropGrid(0.5, 0.25).boxes(64, 64)
    crops = torch.cat(list(crop_batches(images, boxes, batch_size)))
    assert crops.shape == (18, 3, 64, 64)
    assert_close(crops[0], torch.ones(3, 64, 64))  # image 0, top-left box
    assert_close(crops[8], torch.zeros(3, 64, 64))  # image 0, bottom-right box
    assert_close(crops[9 + 8], torch.ones(3, 64, 64))  # image 1, bottom-right box
    half = crops[1, 0]  # image 0, box (0, 16, 32, 48): white on its left half only
    assert_close(half[:, :28], 1.0)
    assert_close(half[:, 36:], 0.0)


# ---------------------------------------------------------------------------- attribution
def test_concept_maps_light_up_where_the_concepts_were_planted() -> None:
    model = PlantedModel()
    sped = SPED.from_bank(hand_bank(model), model, progress=False, activation_threshold=0.0)
    places = {0: (0, 0), 1: (20, 20), 2: (0, 20)}  # concept -> (y, x) of a 12 px square
    image = paint([(k, y, x, 12, 1.0) for k, (y, x) in places.items()])
    exp = sped.explain(image[None])
    assert exp.maps.shape == (1, K, SIZE, SIZE)
    for k, (y, x) in places.items():
        cell = exp.maps[0, k]
        assert_close(cell.max(), 1.0)
        peak_y, peak_x = divmod(int(cell.argmax()), SIZE)
        assert y <= peak_y < y + 12 and x <= peak_x < x + 12, k
        near = torch.zeros(SIZE, SIZE, dtype=torch.bool)  # the square grown by one cell
        near[max(0, y - 4):y + 16, max(0, x - 4):x + 16] = True
        assert float(cell[near].sum() / cell.sum()) > 0.97, k


def test_activation_is_the_mean_coefficient_over_the_typical_value() -> None:
    model = PlantedModel()
    # concept 0 fills a 16 x 16 quarter at amount 1: its mean coefficient over the 8 x 8 cells
    # is 0.25; with a typical value of 0.4 the activation is 0.625. Concept 1 is absent.
    sped = SPED.from_bank(hand_bank(model, typical=(0.4, 0.4, 0.1)), model, progress=False,
                          transform_iter=300)
    image = paint([(0, 0, 0, 16, 1.0), (2, 24, 24, 8, 0.5)])[None]
    exp = sped.explain(image)
    # the coefficients come from an iterative solver: a bound, not exact values
    assert_close(exp.activation[0], [0.625, 0.0, 0.5 / 16 / 0.1], rtol=0, atol=0.02)
    assert exp.activated[0].tolist() == [True, False, False]
    # maps of concepts that are not activated are set to exact zeros
    assert float(exp.maps[0, 1].abs().sum()) == 0.0 and float(exp.maps[0, 2].sum()) == 0.0
    # without the gate, concept 2 (present, under half its typical value) keeps its map
    peak_y, peak_x = divmod(int(exp.ungated_maps[0, 2].argmax()), SIZE)
    assert 24 <= peak_y < 32 and 24 <= peak_x < 32
    assert torch.equal(exp.maps, exp.ungated_maps * exp.activated[:, :, None, None])
    sped.activation_threshold = 0.7
    assert sped.explain(image).activated[0].tolist() == [False, False, False]
    sped.activation_threshold = 0.3
    assert sped.explain(image).activated[0].tolist() == [True, False, True]


def test_maps_follow_the_documented_thresholds() -> None:
    model = PlantedModel()
    sped = SPED.from_bank(hand_bank(model, typical=(0.3, 0.3, 0.3)), model, progress=False)
    exp = sped.explain(planted_images(3, seed=5))
    assert bool(exp.activated.any()) and not bool(exp.activated.all())
    for maps in (exp.maps, exp.combined):
        assert float(maps.min()) >= 0.0 and float(maps.max()) <= 1.0
    nonzero = exp.maps[exp.maps > 0]
    assert float(nonzero.min()) >= 0.1  # values under 10 % of the map's maximum are zero
    peaks = exp.maps.flatten(2).amax(dim=2)
    assert torch.equal(peaks > 0, exp.activated)


# ---------------------------------------------------------------------------- discovery
def matched(found: torch.Tensor, truth: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    a = (truth / truth.norm(dim=0)).numpy()
    b = (found / found.norm(dim=0)).double().numpy()
    cos = a.T @ b
    rows, cols = linear_sum_assignment(-cos)
    return cos[rows, cols], cols


@pytest.mark.slow
def test_fit_recovers_the_planted_directions_and_the_concept_the_head_uses(fitted) -> None:
    cosines, partner = matched(fitted.components_.cpu(), directions())
    assert cosines.min() >= 0.9, cosines
    used = partner[0]  # the discovered concept that is planted concept 0
    assert_close(fitted.importances_.sum(), 1.0)
    assert fitted.importances_[used] > 5 * np.delete(fitted.importances_, used).max()
    # on the images that hold concept 0, the head's output varies with it alone
    holds = (planted_images(24)[:, 0].flatten(1).sum(dim=1) > 0).numpy()
    per_image = fitted.image_importances_[holds].mean(axis=0)
    assert per_image[used] > 0.85 and np.delete(per_image, used).max() < 0.05
    assert fitted.importance_std_.shape == (K,) and fitted.typical_activation_.min() > 0


@pytest.mark.slow
def test_importances_on_a_subset_are_the_full_fits_rows_of_those_images(fitted) -> None:
    """Each image's Sobol indices depend on that image alone: averaging over 10 of the 24
    images keeps 10 of the full fit's rows (the same concepts, found on all 24 images), and
    the bank's importances are their normalised mean."""
    subset = SPED(fitted.model, layer="features", n_concepts=K, seed=0, n_designs=16,
                  batch_size=512, progress=False, nmf_options={"n_init": 1},
                  importance_images=10).fit(planted_images(24))
    assert_close(subset.components_, fitted.components_)
    rows = subset.image_importances_
    assert rows.shape == (10, K)
    full = fitted.image_importances_
    found = [int(np.argmin(np.abs(full - row).sum(axis=1))) for row in rows]
    assert len(set(found)) == 10
    assert_close(rows, full[found])
    assert_close(subset.importances_, rows.mean(axis=0) / rows.mean(axis=0).sum())


@pytest.mark.slow
def test_top_crops_show_their_concept(fitted) -> None:
    _, partner = matched(fitted.components_.cpu(), directions())
    crops = fitted.bank_.top_crops.float()  # (K, T, 3, H, W): channel j holds concept j
    assert crops.shape[:3] == (K, 8, 3)
    for planted, found in enumerate(partner):
        amounts = crops[found].mean(dim=(0, 2, 3))
        assert int(amounts.argmax()) == planted


@pytest.mark.slow
def test_explaining_n_images_equals_n_single_calls(fitted) -> None:
    images = planted_images(4, seed=9)
    batch = fitted.explain(images)
    for i in range(4):
        single = fitted.explain(images[i:i + 1])
        for field in ("maps", "activation", "combined", "spoof_probability"):
            assert_close(getattr(batch, field)[i], getattr(single, field)[0], msg=field)
        assert torch.equal(batch.activated[i], single.activated[0])  # the same verdicts


# ---------------------------------------------------------------------------- files
@pytest.mark.slow
def test_save_load_round_trip_gives_identical_explanations(fitted, tmp_path) -> None:
    fitted.set_names({0: "edge", "2": "hand"})
    path = fitted.save(tmp_path / "bank.safetensors")
    loaded = SPED.load(path, fitted.model, progress=False)
    assert loaded.names == ["edge", "concept 2", "hand"]
    assert loaded.layer == "features"
    # values read back from the file: the same bits
    np.testing.assert_array_equal(loaded.importances_, fitted.importances_)
    assert torch.equal(loaded.bank_.top_crops, fitted.bank_.top_crops)
    images = planted_images(3, seed=11)
    a, b = fitted.explain(images), loaded.explain(images)
    assert torch.equal(a.activated, b.activated)  # the same verdicts
    for field in ("maps", "activation", "importance", "combined", "spoof_probability"):
        assert_close(getattr(a, field), getattr(b, field), msg=field)


@pytest.mark.slow
def test_tampered_banks_are_refused(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "bank.safetensors")
    from safetensors import safe_open
    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata()
    tensors = load_file(str(path))
    # a changed tensor, with the metadata (and its digest) left as they were
    changed = dict(tensors, importances=tensors["importances"].flip(0))
    save_file(changed, str(tmp_path / "tensor.safetensors"), metadata=meta)
    with pytest.raises(XfasError, match="digest"):
        SPED.load(tmp_path / "tensor.safetensors", fitted.model)
    # a changed header (another fingerprint), tensors and their digest untouched
    header = json.loads(meta["header"])
    header["names"][0] = "forged"
    save_file(tensors, str(tmp_path / "header.safetensors"),
              metadata=dict(meta, header=json.dumps(header)))
    with pytest.raises(XfasError, match="header"):
        SPED.load(tmp_path / "header.safetensors", fitted.model)
    # bytes damaged on disk
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    (tmp_path / "bytes.safetensors").write_bytes(bytes(raw))
    with pytest.raises(XfasError):
        SPED.load(tmp_path / "bytes.safetensors", fitted.model)


@pytest.mark.slow
def test_loading_onto_another_model_is_refused(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "bank.safetensors")
    other = PlantedModel(seed=1)
    from xfas.sped.bank import model_fingerprint
    with pytest.raises(XfasError) as error:
        SPED.load(path, other)
    message = str(error.value)
    assert model_fingerprint(fitted.model) in message and model_fingerprint(other) in message


# ---------------------------------------------------------------------------- explainer API
@pytest.mark.slow
def test_sped_explainer_gives_the_combined_map(fitted, tmp_path) -> None:
    path = fitted.save(tmp_path / "bank.safetensors")
    explainer = create_explainer("sped", fitted.model, concepts=path, progress=False)
    images = planted_images(5, seed=3)
    maps = explainer.explain(images, target="spoof")
    assert maps.shape == (5, SIZE, SIZE) and maps.dtype == torch.float32
    assert float(maps.min()) >= 0.0 and float(maps.max()) <= 1.0
    assert_close(maps, fitted.explain(images).combined)
    per_concept = explainer.explain_concepts(images)
    assert isinstance(per_concept, ConceptExplanation) and per_concept.maps.shape[1] == K
    with pytest.raises(XfasError, match="concepts"):
        create_explainer("sped", fitted.model)
    with pytest.raises(XfasError, match="spoof"):
        explainer.explain(images, target=0)


# ---------------------------------------------------------------------------- words
def hand_made_explanation(probability: float) -> ConceptExplanation:
    size = 64
    edge = torch.zeros(size, size)
    edge[:4, :] = 1.0
    edge[:, :4] = 1.0  # along the top and the left border
    hand = torch.zeros(size, size)
    hand[44:60, 44:60] = 1.0  # a blob at the bottom right
    face = torch.zeros(size, size)
    face[24:40, 24:40] = 1.0
    maps = torch.stack([hand, face, edge])[None]
    return ConceptExplanation(
        maps=maps * torch.tensor([1.0, 0.0, 1.0])[None, :, None, None], ungated_maps=maps,
        activation=torch.tensor([[0.9, 0.2, 1.4]]),
        activated=torch.tensor([[True, False, True]]),
        importance=torch.tensor([0.30, 0.29, 0.41]),
        names=["clutching hand", "face", "photo edge"],
        spoof_probability=torch.tensor([probability]), combined=maps[:, 0],
        effects=torch.tensor([[1.2, 0.4, 2.0]]))


def test_describe_explanation_gives_the_expected_sentence() -> None:
    assert describe_explanation(hand_made_explanation(0.97), 0) == (
        "spoof (0.97): photo edge (importance 0.41, top and left), "
        "clutching hand (0.30, bottom right)")
    assert describe_explanation(hand_made_explanation(0.03), 0) == "live (0.03)"
    assert describe_explanation(hand_made_explanation(0.6), 0, threshold=0.7) == "live (0.60)"


@pytest.mark.parametrize("box, words", [
    ((24, 40, 24, 40), "centre"),
    ((2, 12, 26, 38), "top"),
    ((4, 14, 2, 12), "top left"),
    ((50, 62, 26, 38), "bottom"),
    ((26, 38, 50, 62), "right"),
])
def test_location_words_of_compact_maps(box, words) -> None:
    saliency = torch.zeros(64, 64)
    y0, y1, x0, x1 = box
    saliency[y0:y1, x0:x1] = 1.0
    assert location_words(saliency) == words


# ---------------------------------------------------------------------------- labels
def test_concepts_proposed_for_one_type_get_distinct_names_in_order_of_lift() -> None:
    """One 8 x 8 image, one grid cell per pixel. Photo edge: the top row and left column
    (15 cells), hand: the bottom-right 4 x 4. Concepts 0 (the top row) and 3 (the rest of
    the left column) lie wholly on the edge (the same lift, 64 / 15), concept 1 (the top two
    rows) has 9 of its 16 cells on it, concept 2 lies on the hand."""
    edge = torch.zeros(1, 8, 8, dtype=torch.bool)
    edge[0, 0, :] = True
    edge[0, :, 0] = True
    hand = torch.zeros(1, 8, 8, dtype=torch.bool)
    hand[0, 4:, 4:] = True
    maps = torch.zeros(1, 4, 8, 8)
    maps[0, 0, 0, :] = 1.0
    maps[0, 1, :2, :] = 1.0
    maps[0, 2, 4:, 4:] = 1.0
    maps[0, 3, 1:, 0] = 1.0
    explanation = ConceptExplanation(
        maps=maps, ungated_maps=maps, activation=torch.ones(1, 4),
        activated=torch.ones(1, 4, dtype=torch.bool), importance=torch.full((4,), 0.25),
        names=[f"concept {k + 1}" for k in range(4)], spoof_probability=torch.ones(1),
        combined=maps[:, 0], effects=torch.ones(1, 4))
    proposal = overlap_table(explanation, {"photo_edge": edge, "clutching_hand": hand}, (8, 8))
    assert proposal.proposed == ["photo_edge", "photo_edge", "clutching_hand", "photo_edge"]
    assert_close(proposal.lift[[0, 1, 3], 0], [64 / 15, 9 / 16 * 64 / 15, 64 / 15])
    assert proposal.names(explanation.names) == {
        0: "photo edge", 1: "photo edge 3", 2: "clutching hand", 3: "photo edge 2"}


def test_location_words_of_spread_maps() -> None:
    frame = torch.ones(64, 64)
    frame[4:60, 4:60] = 0.0
    assert location_words(frame) == "all around"
    bottom = torch.zeros(64, 64)
    bottom[56:, :] = 1.0
    assert location_words(bottom) == "bottom"
    assert location_words(torch.zeros(64, 64)) == ""
