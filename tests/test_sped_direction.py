"""SPED's signed concept effects: the change in the spoof log-odds when a concept is removed
from an image's activations, checked against the model split by hand, and a planted concept
that pushes images towards live, which the sentence and the service must never show as
spoofing evidence however important it is."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xfas.data.geometry import CropGeometry
from xfas.sped import SPED, ConceptBank, describe_explanation
from xfas.sped.attribution import spatial_coefficients
from xfas.sped.bank import model_fingerprint

from helpers.tolerance import assert_close

SIZE = 32  # input side; the layer is SIZE / 4 = 8 cells a side
CELLS = (SIZE // 4) ** 2
CHANNELS = 10
K = 3
NAMES = ["alpha", "beta", "gamma"]


def directions() -> torch.Tensor:
    """D (C x K) with orthonormal, mixed-sign columns: the planted concept directions."""
    q, _ = torch.linalg.qr(torch.randn(CHANNELS, K, generator=torch.Generator().manual_seed(3)))
    return q


class Planted(nn.Module):
    """Input channel k is the amount of concept k at each pixel; the layer ``features`` (a 1x1
    convolution with weights D, then 4x4 average pooling) holds sum_k amount_k d_k per cell.
    The head is given: see ``signed_head`` and ``mixing_head``."""

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        conv = nn.Conv2d(K, CHANNELS, 1, bias=False)
        conv.weight.data = directions()[:, :, None, None].clone()
        self.features = nn.Sequential(conv, nn.AvgPool2d(4))
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def signed_head(signs: tuple[float, ...], bias: float) -> nn.Module:
    """A linear head whose spoof logit (class 1 minus class 0) is bias + sum over cells of
    sum_k signs[k] <d_k, a>: concept k moves the logit by signs[k] per unit of amount and
    cell, so a negative sign pushes towards live."""
    linear = nn.Linear(CHANNELS * CELLS, 2)
    linear.weight.data.zero_()
    linear.bias.data.zero_()
    weight = directions() @ torch.tensor(signs)  # (C,)
    linear.weight.data[1] = weight.repeat_interleave(CELLS)  # (C, h, w) flattened
    linear.bias.data[1] = bias
    return nn.Sequential(nn.Flatten(), linear)


def mixing_head() -> nn.Module:
    """A seeded non-linear head (1x1 convolution, tanh, linear), so a concept's effect
    depends on the other concepts present."""
    torch.manual_seed(5)
    return nn.Sequential(nn.Conv2d(CHANNELS, 6, 1), nn.Tanh(), nn.Flatten(),
                         nn.Linear(6 * CELLS, 2))


def bank_for(model: nn.Module, importances=(0.2, 0.7, 0.1)) -> ConceptBank:
    """A bank whose concepts are exactly the planted directions; by default the concept the
    signed head makes push towards live (beta) is by far the most important."""
    values = np.asarray(importances)
    return ConceptBank(components=directions(), importances=values,
                       importance_std=np.zeros(K), raw_importances=values,
                       raw_importance_std=np.zeros(K), typical_activation=np.full(K, 0.25),
                       names=list(NAMES), layer="features", model_name="Planted",
                       model_fingerprint=model_fingerprint(model), input_size=(SIZE, SIZE),
                       grid=(SIZE // 4, SIZE // 4),
                       nmf={"eps": 1e-9, "max_iter": 500, "tol": 1e-5})


def paint(squares: list[tuple[int, int, int, int, float]]) -> torch.Tensor:
    """One input: squares (concept, y, x, side, amount) on an empty image."""
    image = torch.zeros(K, SIZE, SIZE)
    for k, y, x, side, amount in squares:
        image[k, y:y + side, x:x + side] = amount
    return image


def mixed_images(n: int) -> torch.Tensor:
    """Images whose four quarters each hold a random concept at a random amount."""
    rng = np.random.default_rng(7)
    half = SIZE // 2
    return torch.stack([paint([(int(rng.integers(0, K)), half * (q // 2), half * (q % 2), half,
                                float(rng.uniform(0.5, 1.5))) for q in range(4)])
                        for _ in range(n)])


def hand_logit(head: nn.Module, activations: torch.Tensor) -> torch.Tensor:
    output = head(activations)
    return output[:, 1] - output[:, 0]


def test_effect_is_the_logit_change_of_removing_the_concept_by_hand() -> None:
    model = Planted(mixing_head()).eval()
    images = mixed_images(5)
    # batch_size 5: one image (K + 1 rebuilt activations) per pass of h, several passes
    sped = SPED.from_bank(bank_for(model), model, progress=False, batch_size=5)
    explanation = sped.explain(images)
    with torch.no_grad():
        u = spatial_coefficients(sped.nmf_, model.features(images), sped.transform_iter)
        w = directions()
        full = hand_logit(model.head, torch.einsum("ck,nkhw->nchw", w, u))
        expected = torch.empty(5, K)
        for k in range(K):
            kept = u.clone()
            kept[:, k] = 0.0
            expected[:, k] = full - hand_logit(model.head, torch.einsum("ck,nkhw->nchw", w,
                                                                        kept))
    assert explanation.effects.shape == (5, K)
    assert float(expected.abs().max()) > 0.1  # the comparison is not between zeros
    assert_close(explanation.effects, expected)
    # the same numbers when every image fits in one pass of h
    wide = SPED.from_bank(bank_for(model), model, progress=False, batch_size=512)
    assert_close(wide.explain(images).effects, expected)


def planted_case() -> tuple[SPED, torch.Tensor]:
    """alpha (concept 0) in the top-left quarter pushes towards spoof, beta (concept 1) in
    the bottom-right quarter towards live, gamma is absent; the bias keeps the image spoof."""
    model = Planted(signed_head((1.0, -1.0, 0.0), bias=3.0)).eval()
    sped = SPED.from_bank(bank_for(model), model, progress=False, transform_iter=300)
    return sped, paint([(0, 0, 0, 16, 1.0), (1, 16, 16, 16, 1.0)])[None]


def test_a_concept_pushing_towards_live_is_never_evidence() -> None:
    sped, image = planted_case()
    explanation = sped.explain(image)
    # each concept fills 16 of the 8 x 8 cells at amount 1: the logit moves by +-16; the
    # coefficients come from an iterative solver, so a bound rather than exact values
    assert_close(explanation.effects[0, :2], [16.0, -16.0], rtol=0, atol=0.2)
    assert explanation.activated[0].tolist() == [True, True, False]
    assert explanation.evidence(0) == [0] and explanation.against(0) == [1]
    # logit 3 + 16 - 16: spoof probability sigmoid(3) = 0.95
    assert describe_explanation(explanation, 0) == "spoof (0.95): alpha (importance 0.20, top left)"


def test_describe_says_when_no_activated_concept_pushes_towards_spoof() -> None:
    sped, _ = planted_case()
    only_beta = paint([(1, 16, 16, 16, 1.0)])[None]  # logit 3 - 16: needs a low threshold
    explanation = sped.explain(only_beta)
    assert describe_explanation(explanation, 0, threshold=0.0) == (
        "spoof (0.00): no activated concept pushes towards spoof")


def test_the_service_lists_only_spoof_pushing_concepts_as_evidence() -> None:
    from xfas.serve.config import ServiceConfig
    from xfas.serve.engine import Engine, Verdict
    from xfas.serve.schemas import Concept, ConceptAgainst

    sped, image = planted_case()
    engine = Engine(ServiceConfig(), predictor=None, explain_model=sped.model, sped=sped)
    try:
        verdict = Verdict("spoof", 0.95, (0, 0, SIZE, SIZE), (SIZE, SIZE), {})
        concepts, against, sentence = engine._concepts(
            image, CropGeometry.whole(SIZE, SIZE), 1.0, verdict=verdict)
    finally:
        engine.close()
    assert [c["index"] for c in concepts] == [0] and [c["name"] for c in concepts] == ["alpha"]
    assert [c["index"] for c in against] == [1]
    assert_close([concepts[0]["effect"], against[0]["effect"]], [16.0, -16.0], rtol=0, atol=0.2)
    assert "beta" not in sentence and sentence.startswith("spoof (0.95): alpha")
    Concept.model_validate(concepts[0])  # the JSON the schema documents
    ConceptAgainst.model_validate(against[0])
