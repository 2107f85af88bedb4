"""The Silent-Face pipeline: detect the face, crop it for each model, average the softmax
outputs of the models and read the verdict off the fused distribution."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from xfas.data.face import FaceBox, FaceDetector
from xfas.errors import XfasError
from xfas.models.base import FASModel
from xfas.models.minifasnet import load_minifasnet
from xfas.models.registry import FUSED, load_model

SINGLE = {"minifasnet-v2": "v2", "minifasnet-v1se": "v1se"}


@dataclass(frozen=True)
class Prediction:
    """The verdict on one image.

    ``label`` is Silent-Face's rule: the arg-max of the fused softmax, "live" when that is the
    live class. ``threshold`` is the cut on ``spoof_probability`` that binary metrics use; with
    three classes the two can differ when no class holds a majority.
    """

    spoof_probability: float
    label: str                       # "spoof" or "live"
    face_box: FaceBox                # (x, y, w, h) on the image
    fused: np.ndarray                # averaged softmax, (classes,)
    per_model: dict[str, np.ndarray] = field(default_factory=dict)  # model name -> softmax
    threshold: float = 0.5

    def to_dict(self) -> dict:
        """A JSON-ready view."""
        return {"label": self.label, "spoof_probability": self.spoof_probability,
                "face_box": list(self.face_box), "fused_softmax": self.fused.tolist(),
                "per_model": {k: v.tolist() for k, v in self.per_model.items()},
                "threshold": self.threshold}


class FusedPredictor:
    """Face detection + one or more FASModels fused by averaging their softmax outputs.

    All models must share the number of classes and the live class. Each model crops the
    face with its own ``crop_scale``.

    Example:
        >>> predictor = FusedPredictor.from_assets("../shared/assets/silent-face")
        >>> predictor.predict(load_image("face.jpg")).label
    """

    def __init__(self, models: Sequence[FASModel], detector: FaceDetector) -> None:
        if not models:
            raise XfasError("fused predictor: give at least one model")
        if len({m.live_index for m in models}) != 1:
            raise XfasError("fused predictor: the models disagree on the live class index")
        self.models = list(models)
        self.detector = detector

    @classmethod
    def from_assets(cls, assets: str | Path | None = None, device: str | torch.device = "cpu"
                    ) -> "FusedPredictor":
        """MiniFASNetV2 + MiniFASNetV1SE and the face detector, from ``assets``/XFAS_ASSETS."""
        models = [load_minifasnet(v, assets=assets, device=device) for v in ("v2", "v1se")]
        return cls(models, FaceDetector.from_assets(assets))

    @torch.no_grad()
    def predict(self, image_rgb: np.ndarray, name: str = "image") -> Prediction:
        """The fused verdict on an RGB uint8 image; ``name`` is used in error messages."""
        face_box = self.detector.detect(image_rgb)
        if face_box is None:
            raise XfasError(f"{name}: no face found ({self.detector.backend} detector)")
        return self.predict_face(image_rgb, face_box)

    @torch.no_grad()
    def predict_face(self, image_rgb: np.ndarray, face_box: FaceBox) -> Prediction:
        """The fused verdict on the face at ``face_box`` (x, y, w, h) of an RGB uint8 image."""
        per_model: dict[str, np.ndarray] = {}
        for model in self.models:
            x, _ = model.preprocess(image_rgb, face_box)
            device = next(model.parameters()).device
            probs = torch.softmax(model(x[None].to(device)), dim=1)[0]
            per_model[_unique(model.name, per_model)] = probs.cpu().numpy()
        shapes = {p.shape for p in per_model.values()}
        if len(shapes) != 1:
            raise XfasError(f"fused predictor: the models output different numbers of "
                            f"classes {sorted(s[0] for s in shapes)}")
        fused = np.mean(list(per_model.values()), axis=0)  # (sum of softmax) / n, as Silent-Face
        live = self.models[0].live_index
        label = "live" if int(np.argmax(fused)) == live else "spoof"
        return Prediction(float(1.0 - fused[live]), label, face_box, fused, per_model,
                          threshold=self.threshold)

    @property
    def threshold(self) -> float:
        """The cut on the spoof probability that binary metrics use: the models' own (their
        cards'), which must agree."""
        found = {model.threshold for model in self.models}
        if len(found) != 1:
            raise XfasError(f"fused predictor: the models' cards give different thresholds "
                            f"{sorted(found)}")
        return found.pop()


def load_predictor(spec: str, *, weights: str | Path | None = None,
                   detector: str | Path | None = None, assets: str | Path | None = None,
                   card: str | Path | None = None) -> FusedPredictor:
    """The predictor of ``xfas predict --model SPEC``: ``minifasnet`` (V2 and V1SE fused),
    one MiniFASNet (``weights``: its .pth file instead of the assets'), a checkpoint / run
    folder of ``xfas train`` or an ONNX file (``card``: its model card); the RetinaFace
    ``detector`` (.caffemodel) or the assets', else OpenCV's Haar cascade."""
    if spec == FUSED:
        if weights is not None or card is not None:
            flag = "--weights" if weights is not None else "--card"
            raise XfasError(f"{flag}: names one model; use it with --model minifasnet-v2 or "
                            "minifasnet-v1se, not the fused 'minifasnet'")
        models = [load_minifasnet(v, assets=assets) for v in SINGLE.values()]
    elif spec in SINGLE and weights is not None:
        models = [load_model_with_weights(spec, weights, card=card)]
    elif weights is not None:
        raise XfasError(f"--weights: only for minifasnet-v2 / minifasnet-v1se; {spec!r} is "
                        f"loaded as a checkpoint itself")
    else:
        models = [load_model(spec, assets=assets, card=card)]
    return FusedPredictor(models, FaceDetector.from_assets(assets, caffemodel=detector))


def load_model_with_weights(spec: str, weights: str | Path, *, card: str | Path | None = None
                            ) -> FASModel:
    """One MiniFASNet (``minifasnet-v2`` / ``minifasnet-v1se``) from its .pth file, under
    ``card`` when one is given."""
    from xfas.models.card import apply_card, read_card

    model = load_minifasnet(SINGLE[spec], weights=weights)
    return apply_card(model, read_card(card), source=f"--card {card}") if card else model


def _unique(key: str, taken: dict) -> str:
    """``key``, or ``key#2``, ``key#3``... when a model of that name is already there."""
    n, out = 1, key
    while out in taken:
        n += 1
        out = f"{key}#{n}"
    return out
