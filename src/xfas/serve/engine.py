"""The service's models and the work done on them: decoding uploads, batched verdicts, and
explanations (SPED concepts, saliency methods) mapped back onto the image.

Threads: images are decoded in a small pool (``decode_workers``); every model call (predict
batches and explanations) runs in one worker thread, one at a time, so the models, their
hooks and the memory they use are never shared between requests.
"""

from __future__ import annotations

import asyncio
import io
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import fastapi
import numpy as np
import torch
from PIL import Image

import xfas
from xfas.data.face import FaceBox
from xfas.data.image_io import load_image
from xfas.errors import XfasError
from xfas.explain import available_explainers, create_explainer
from xfas.models.base import FASModel
from xfas.models.fused import FusedPredictor, load_predictor
from xfas.serve.batcher import Batcher
from xfas.serve.config import ServiceConfig
from xfas.serve.errors import TooLarge, Unprocessable
from xfas.serve.render import (METHOD_BOX_LEVEL, colour, display_scale, evidence_box,
                               heatmap_png, to_display)
from xfas.serve.upload import Upload
from xfas.sped import SPED, ConceptExplanation, describe_explanation, location_words

MIN_SIDE = 16     # pixels; smaller images cannot hold a face the detector finds
MAX_ASPECT = 16   # longest side / shortest side
METHOD_NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "rise": "RISE",
                "lime": "LIME", "shap": "SHAP"}


@dataclass(frozen=True)
class Verdict:
    """The fused verdict on one image."""

    label: str                 # "spoof" or "live"
    spoof_probability: float   # 1 - P(live) of the fused softmax
    face_box: FaceBox          # (x, y, w, h) in image pixels
    image_size: tuple[int, int]  # (H, W)
    per_model: dict[str, float]  # each model's own spoof probability


class Engine:
    """The detector and models of a service, and the work on them.

    ``predictor`` gives the verdict (for "minifasnet" both MiniFASNets fused by averaging
    their softmax, as Silent-Face); ``explain_model`` is the one model explained (MiniFASNetV2
    for "minifasnet"); ``sped`` is the concept bank loaded on it, if any.
    """

    def __init__(self, config: ServiceConfig, predictor: FusedPredictor,
                 explain_model: FASModel, *, sped: SPED | None = None) -> None:
        self.config = config
        self.predictor = predictor
        self.explain_model = explain_model
        self.sped = sped
        self.methods = _service_methods()
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="xfas-model")
        self._decode_pool = ThreadPoolExecutor(config.decode_workers,
                                               thread_name_prefix="xfas-decode")
        self.batcher = Batcher(self.predict_batch, self._model_thread, config.max_batch,
                               window_s=config.batch_window_ms / 1000.0)

    @classmethod
    def from_config(cls, config: ServiceConfig) -> "Engine":
        """Load the detector, the models and the concept bank named by ``config``; an
        XfasError names any file that is missing, tampered with or made for another model."""
        predictor = load_predictor(config.model, assets=config.assets, card=config.card)
        explain_model = predictor.models[0]
        sped = None
        if config.concepts is not None:
            sped = _load_bank(Path(config.concepts), explain_model)
        return cls(config, predictor, explain_model, sped=sped)

    # --- asynchronous side (the event loop) -------------------------------------------------

    async def decode(self, upload: Upload) -> np.ndarray:
        """The upload as an upright RGB uint8 image, decoded in the decode pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._decode_pool, self.decode_sync, upload)

    async def predict(self, image: np.ndarray) -> Verdict:
        """The verdict, computed in a batch with concurrent requests."""
        return await self.batcher.submit(image)

    async def explain(self, image: np.ndarray, methods: list[str]) -> dict:
        """The verdict and its explanation (see ``explain_sync``), in the model thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._model_thread, self.explain_sync, image,
                                          methods)

    def close(self) -> None:
        """Stop the batcher and the worker threads."""
        self.batcher.close()
        self._model_thread.shutdown(wait=False, cancel_futures=True)
        self._decode_pool.shutdown(wait=False, cancel_futures=True)

    # --- synchronous side (worker threads) --------------------------------------------------

    def decode_sync(self, upload: Upload) -> np.ndarray:
        """Check the pixel count from the header (413), decode (400 when corrupt), check the
        image is usable (422)."""
        _check_pixels(upload, self.config.max_pixels)
        image = load_image(upload.data, self.config.max_bytes, self.config.max_pixels,
                           name=upload.label)
        height, width = image.shape[:2]
        if min(height, width) < MIN_SIDE or max(height, width) > MAX_ASPECT * min(height, width):
            raise Unprocessable(f"{upload.label}: {width}x{height} pixels cannot hold a face "
                                f"(need at least {MIN_SIDE} pixels a side and an aspect ratio "
                                f"under {MAX_ASPECT}:1)")
        return image

    @torch.no_grad()
    def predict_batch(self, images: list[np.ndarray]) -> list[Verdict | XfasError]:
        """Verdicts on several images: one face detection each, then one forward pass per
        model for the whole batch. Same numbers as ``FusedPredictor.predict`` image by image:
        the fused softmax is the mean of the models' softmax, spoof = 1 - fused[live]."""
        results: list[Verdict | XfasError] = []
        found: list[tuple[int, FaceBox]] = []
        for index, image in enumerate(images):
            box = self.predictor.detector.detect(image)
            if box is None:
                results.append(Unprocessable(
                    f"no face found in the image ({self.predictor.detector.backend} detector)"))
            else:
                results.append(None)
                found.append((index, box))
        if not found:
            return results
        faces = [images[i] for i, _ in found]
        boxes = [box for _, box in found]
        per_model: dict[str, np.ndarray] = {}
        for model in self.predictor.models:
            x, _ = model.preprocess_batch(faces, boxes)
            device = next(model.parameters()).device
            probs = torch.softmax(model(x.to(device)), dim=1).cpu().numpy()
            per_model[model.name] = probs
        live = self.predictor.models[0].live_index
        fused = np.mean(list(per_model.values()), axis=0)
        for row, (index, box) in enumerate(found):
            spoof = float(1.0 - fused[row, live])
            label = "spoof" if spoof >= self.config.threshold else "live"
            results[index] = Verdict(label, spoof, box, tuple(images[index].shape[:2]),
                                     {name: float(1.0 - p[row, live])
                                      for name, p in per_model.items()})
        return results

    def explain_sync(self, image: np.ndarray, methods: list[str]) -> dict:
        """The verdict, the activated concepts (for a spoof, with a concept bank), the maps
        of ``methods``, and a sentence. Maps are returned as heat maps on the image."""
        verdict = self.predict_batch([image])[0]
        if isinstance(verdict, XfasError):
            raise verdict
        model = self.explain_model
        x, geometry = model.preprocess(image, verdict.face_box)
        x = x[None].to(next(model.parameters()).device)
        scale = display_scale(verdict.image_size, self.config.display_side)
        concepts, against, sentence = [], [], None
        if self.sped is not None and verdict.label == "spoof":
            concepts, against, sentence = self._concepts(x, geometry, scale, verdict=verdict)
        shown = {}
        for method in methods:
            explainer = create_explainer(method, model, seed=0, progress=False,
                                         **self.config.options_for(method))
            shown[method] = to_display(explainer.explain(x, "spoof")[0], geometry, scale)
        maps = {method: {"heatmap_png": heatmap_png(values),
                         "box": evidence_box(values, scale, verdict.image_size,
                                             level=METHOD_BOX_LEVEL)}
                for method, values in shown.items()}
        if sentence is None:
            sentence = _plain_sentence(verdict, shown)
        return {"verdict": verdict, "concepts": concepts, "against": against,
                "sentence": sentence, "maps": maps,
                "heatmap_size": _display_size(verdict.image_size, scale)}

    def _concepts(self, x: torch.Tensor, geometry, scale: float, *, verdict: Verdict
                  ) -> tuple[list[dict], list[dict], str]:
        """A spoof's evidence (activated concepts pushing it towards spoof, most important
        first, with their maps), the activated concepts that do not (no maps: never shown as
        evidence), and SPED's sentence (given the fused spoof probability, so it agrees with
        the verdict)."""
        explanation = self.sped.explain(x)
        evidence = explanation.evidence(0)
        shown = to_display(explanation.maps[0, evidence], geometry, scale) if evidence else []
        concepts = []
        for k, display_map in zip(evidence, shown):
            concepts.append({
                **_concept_fields(explanation, k), "color": colour(k),
                "box": evidence_box(display_map, scale, verdict.image_size),
                "heatmap_png": heatmap_png(display_map, colour(k))})
        against = [_concept_fields(explanation, k) for k in explanation.against(0)]
        fused = replace(explanation, spoof_probability=torch.tensor([verdict.spoof_probability]))
        return concepts, against, describe_explanation(fused, 0,
                                                       threshold=self.config.threshold)

    # --- description ------------------------------------------------------------------------

    def describe(self) -> dict:
        """What /v1/model shows: the models, the concept bank, the methods, the versions."""
        bank = None
        if self.sped is not None:
            bank = {"bank": Path(self.config.concepts).name, "layer": self.sped.layer,
                    "names": list(self.sped.names),
                    "importances": [float(v) for v in np.asarray(self.sped.importances_)]}
        return {
            "model": self.config.model,
            "explained_model": self.explain_model.name,
            "models": [{"name": m.name, "fingerprint": m.fingerprint(),
                        "input_size": m.input_size, "crop_scale": m.crop_scale}
                       for m in self.predictor.models],
            "detector": self.predictor.detector.backend,
            "concepts": bank,
            "methods": self.methods,
            "threshold": self.config.threshold,
            "limits": {"max_bytes": self.config.max_bytes,
                       "max_pixels": self.config.max_pixels,
                       "rise_masks": self.config.rise_masks},
            "versions": {"xfas": xfas.__version__, "torch": torch.__version__,
                         "fastapi": fastapi.__version__, "python": platform.python_version()},
        }


def _service_methods() -> list[str]:
    """Saliency methods a request may ask for: every registered explainer except SPED's
    (the concepts are the SPED explanation)."""
    return [name for name in available_explainers() if name != "sped"]


def parse_methods(text: str | None, valid: list[str]) -> list[str]:
    """``"gradcam,rise"`` -> ["gradcam", "rise"] (duplicates dropped); an unknown name is an
    error listing the valid ones."""
    names: list[str] = []
    for raw in (text or "").split(","):
        name = raw.strip().lower()
        if name and name not in names:
            names.append(name)
    unknown = [name for name in names if name not in valid]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise XfasError(f"methods: unknown {shown}; valid methods: {', '.join(valid)}")
    return names


def _check_pixels(upload: Upload, max_pixels: int) -> None:
    """413 when the header announces more than ``max_pixels`` pixels, before decoding.
    Headers Pillow cannot read are left to ``load_image``, which names the fault."""
    try:
        with Image.open(io.BytesIO(upload.data), formats=[upload.image_format]) as image:
            width, height = image.size
    except Image.DecompressionBombError as error:
        raise TooLarge(f"{upload.label}: refused as a decompression bomb ({error})") from None
    except Exception:  # unreadable header: load_image gives the precise message
        return
    if width * height > max_pixels:
        raise TooLarge(f"{upload.label}: {width}x{height} pixels is over the limit of "
                       f"{max_pixels} pixels")


def _load_bank(path: Path, model: FASModel) -> SPED:
    """A SPED concept bank for ``model`` (safetensors, no pickle); XfasError when it is
    missing, tampered with or made for another model."""
    if not path.is_file():
        raise XfasError(f"{path}: concept bank not found")
    return SPED.load(path, model, progress=False)


def _concept_fields(explanation: ConceptExplanation, k: int) -> dict:
    """The JSON fields of concept ``k`` on the (single) explained image."""
    return {"index": k, "name": explanation.names[k],
            "importance": float(explanation.importance[k]),
            "activation": float(explanation.activation[0, k]),
            "effect": float(explanation.effects[0, k])}


def _plain_sentence(verdict: Verdict, maps: dict[str, np.ndarray]) -> str:
    """"spoof (0.93)" or "live (0.02)"; for a spoof, where the first requested method's map
    lies on the image, in SPED's location words."""
    text = f"{verdict.label} ({verdict.spoof_probability:.2f})"
    if verdict.label != "spoof":
        return text
    for method, shown in maps.items():
        where = location_words(torch.from_numpy(shown))
        if where:
            return f"{text}; {METHOD_NAMES.get(method, method)} evidence: {where} of the image"
    return text


def _display_size(image_size: tuple[int, int], scale: float) -> list[int]:
    """[width, height] of the returned heat maps."""
    return [max(1, round(image_size[1] * scale)), max(1, round(image_size[0] * scale))]


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.perf_counter()`` value)."""
    return round((time.perf_counter() - start) * 1000.0, 1)
