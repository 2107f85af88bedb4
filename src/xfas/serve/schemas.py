"""The JSON the service answers with, as pydantic models, so /docs shows every field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Box = list[int]


class ErrorReply(BaseModel):
    """Every 4xx answer."""

    error: str = Field(description="What was wrong, naming the input at fault.")


class Prediction(BaseModel):
    """The verdict on one image (POST /v1/predict)."""

    verdict: Literal["live", "spoof"] = Field(
        description="'spoof' when spoof_score >= threshold.")
    spoof_score: float = Field(description="Spoof probability 1 - P(live), in [0, 1].")
    threshold: float = Field(description="The cut on spoof_score.")
    face_box: Box = Field(description="[x, y, w, h] of the face used, in pixels of the "
                                      "upright image (EXIF rotation applied).")
    image_size: Box = Field(description="[width, height] of the upright image.")
    model: str = Field(description="The model that gave the verdict.")
    per_model: dict[str, float] = Field(
        description="Each fused model's own spoof probability.")
    elapsed_ms: float = Field(description="Time spent on the request in the service.")


class HeatMap(BaseModel):
    """A map on the image."""

    heatmap_png: str = Field(
        description="Base64 RGBA PNG of the map over the whole image (opacity = 220 x "
                    "value², colour = the concept's, or the jet colour map for a method), at "
                    "heatmap_size; draw it stretched over the image.")
    box: Box | None = Field(
        description="[x, y, w, h] in image pixels of the evidence: the map's non-zero "
                    "region for a concept, the region at least half the maximum for a "
                    "method; null for an empty map.")


class ConceptAgainst(BaseModel):
    """An activated SPED concept that does not push this image towards spoof."""

    index: int = Field(description="The concept's index in the bank.")
    name: str
    importance: float = Field(description="Sobol total index of the concept (bank-wide, "
                                          "the concepts' importances sum to about 1): its "
                                          "size, blind to direction.")
    activation: float = Field(description="Mean concept coefficient on this image, "
                                          "relative to the concept's typical value.")
    effect: float = Field(description="Spoof log-odds of the image minus those with the "
                                      "concept removed from the layer's activations: > 0 "
                                      "pushes towards spoof, <= 0 does not.")


class Concept(HeatMap, ConceptAgainst):
    """An activated SPED concept that pushes this image towards spoof (effect > 0)."""

    color: str = Field(description="#rrggbb colour of the concept's heat map.")


class Explanation(Prediction):
    """The verdict and why (POST /v1/explain)."""

    concepts: list[Concept] = Field(
        description="The spoofing evidence: activated concepts that push the image towards "
                    "spoof (effect > 0), most important first (spoof verdicts with a "
                    "concept bank; empty otherwise).")
    against: list[ConceptAgainst] = Field(
        default_factory=list,
        description="Activated concepts that do not push the image towards spoof (effect "
                    "<= 0), most important first: never evidence, listed for inspection.")
    sentence: str = Field(description="The explanation in words.")
    maps: dict[str, HeatMap] = Field(description="The maps of the requested methods.")
    heatmap_size: Box = Field(description="[width, height] of every heat map PNG (the "
                                          "image's, scaled to at most the display size).")


class Health(BaseModel):
    """GET /v1/health."""

    status: Literal["ok"]
    model: str
    concepts: bool = Field(description="Whether a concept bank is loaded.")
    auth_required: bool = Field(description="Whether /v1 requests need an API key.")
    batches: int = Field(description="Predict batches run since the start.")
    waiting: int = Field(description="Predict requests waiting for the model.")


class ModelEntry(BaseModel):
    name: str
    fingerprint: str
    input_size: int
    crop_scale: float | None


class ConceptBank(BaseModel):
    bank: str = Field(description="File name of the concept bank.")
    layer: str
    names: list[str]
    importances: list[float]


class ModelInfo(BaseModel):
    """GET /v1/model."""

    model: str
    explained_model: str
    models: list[ModelEntry]
    detector: str
    concepts: ConceptBank | None
    methods: list[str] = Field(description="Valid values of the 'methods' option.")
    threshold: float
    limits: dict[str, int]
    versions: dict[str, str]
