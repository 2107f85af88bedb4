"""The model card: a small JSON (or YAML) file beside a model that states its preprocessing
contract, the things a port of a model most often gets wrong.

A card says how an RGB image becomes the model's input and how to read its output:
input size, colour order, pixel scale, mean / std, the context crop around the face, the resize
filter, which output index is live, the threshold on the spoof probability and the data it was
chosen on, and the default target layer. Every model xfas saves gets one (``save_model``,
``xfas export``); ONNX models need one, and any model loaded with one follows it.

``mean`` and ``std`` are applied after the pixel scale, outside the model: they are for models
that expect normalised inputs (ONNX files made elsewhere). xfas's own models normalise inside
themselves, so their cards say 0 and 1.

Example card (MiniFASNetV2)::

    {"format": "xfas-card/1", "model": "minifasnet-v2", "input_size": 80,
     "channel_order": "BGR", "pixel_scale": 1.0, "mean": [0, 0, 0], "std": [1, 1, 1],
     "crop_scale": 2.7, "resize": "linear", "num_classes": 3, "live_index": 1,
     "threshold": 0.5, "threshold_data": null, "target_layer": "conv_6_sep"}
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from xfas.errors import XfasError

if TYPE_CHECKING:
    from xfas.models.base import FASModel

FORMAT = "xfas-card/1"
CHANNEL_ORDERS = ("RGB", "BGR")
# the resize filter by name; "auto" is xfas's own: area averaging when shrinking, else bilinear
RESIZE = {"auto": None, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA,
          "nearest": cv2.INTER_NEAREST, "cubic": cv2.INTER_CUBIC}


@dataclass(frozen=True)
class ModelCard:
    """A model's preprocessing contract (see the module docstring)."""

    input_size: int
    model: str = ""
    channel_order: str = "RGB"
    pixel_scale: float = 1 / 255
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    crop_scale: float | None = None
    resize: str = "auto"
    num_classes: int = 2
    live_index: int = 0
    threshold: float = 0.5
    threshold_data: str | None = None
    target_layer: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.input_size, int) or self.input_size < 8:
            problems.append(f"input_size {self.input_size!r}: expected an integer >= 8")
        if self.channel_order not in CHANNEL_ORDERS:
            problems.append(f"channel_order {self.channel_order!r}: expected RGB or BGR")
        if not self.pixel_scale > 0:
            problems.append(f"pixel_scale {self.pixel_scale!r}: expected a positive number")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            problems.append("mean / std: expected three numbers each, std positive")
        if self.crop_scale is not None and not self.crop_scale >= 1:
            problems.append(f"crop_scale {self.crop_scale!r}: expected null or a number >= 1")
        if self.resize not in RESIZE:
            problems.append(f"resize {self.resize!r}: expected one of {', '.join(RESIZE)}")
        if not 0 <= self.live_index < self.num_classes:
            problems.append(f"live_index {self.live_index!r}: expected 0..{self.num_classes - 1}")
        if not 0 <= self.threshold <= 1:
            problems.append(f"threshold {self.threshold!r}: expected a number in [0, 1]")
        if problems:
            raise XfasError("model card: " + "; ".join(problems))

    @property
    def interpolation(self) -> int | None:
        """The cv2 filter of ``resize`` (None: xfas's own choice)."""
        return RESIZE[self.resize]

    @property
    def normalises(self) -> bool:
        """Whether the card asks for a mean / std other than 0 / 1."""
        return tuple(self.mean) != (0.0, 0.0, 0.0) or tuple(self.std) != (1.0, 1.0, 1.0)

    def to_json(self) -> dict[str, Any]:
        """The card as the JSON object its file holds."""
        data = {"format": FORMAT, **asdict(self)}
        data["mean"], data["std"] = list(self.mean), list(self.std)
        if not self.notes:
            del data["notes"]
        return data


def card_beside(model_file: str | Path) -> Path:
    """Where the card of ``model_file`` lies: the same name with ``.json``."""
    return Path(model_file).with_suffix(".json")


def write_card(card: ModelCard, path: str | Path) -> Path:
    """Write ``card`` as JSON to ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(card.to_json(), indent=1) + "\n", encoding="utf-8")
    except OSError as error:
        raise XfasError(f"{path}: cannot write the model card ({error.strerror})") from None
    return path


def read_card(path: str | Path) -> ModelCard:
    """The card in ``path`` (JSON, or YAML when it ends in .yaml / .yml); XfasError naming
    the file and the field at fault."""
    path = Path(path)
    if not path.is_file():
        raise XfasError(f"--card {path}: file not found")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            data = _yaml(text, path)
        else:
            data = json.loads(text)
    except (json.JSONDecodeError, ValueError) as error:
        raise XfasError(f"--card {path}: not readable ({error})") from None
    if not isinstance(data, dict):
        raise XfasError(f"--card {path}: expected an object of fields")
    try:
        return card_from_json(data)
    except XfasError as error:
        raise XfasError(f"--card {path}: {str(error).removeprefix('model card: ')}") from None


def card_from_json(data: dict[str, Any]) -> ModelCard:
    """A card from its JSON object; unknown fields and wrong types are errors."""
    data = dict(data)
    found = data.pop("format", FORMAT)
    if found != FORMAT:
        raise XfasError(f"model card: format {found!r}, expected {FORMAT!r}")
    known = {f.name for f in fields(ModelCard)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise XfasError(f"model card: unknown fields {unknown}; known: {', '.join(sorted(known))}")
    if "input_size" not in data:
        raise XfasError("model card: input_size is required")
    try:
        if "pixel_scale" in data:
            data["pixel_scale"] = float(Fraction(str(data["pixel_scale"])))  # 1/255 or 0.0039...
        for key in ("mean", "std"):
            if key in data:
                data[key] = tuple(float(v) for v in data[key])
        if data.get("crop_scale") is not None:
            data["crop_scale"] = float(data["crop_scale"])
        if "threshold" in data:
            data["threshold"] = float(data["threshold"])
    except (TypeError, ValueError, ZeroDivisionError) as error:
        raise XfasError(f"model card: a field is not a number ({error})") from None
    for key in ("input_size", "num_classes", "live_index"):
        if key in data and not (isinstance(data[key], int) and not isinstance(data[key], bool)):
            raise XfasError(f"model card: {key} {data[key]!r}: expected an integer")
    return ModelCard(**data)


def _yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError:
        raise XfasError(f"--card {path}: reading YAML needs PyYAML (pip install pyyaml), or "
                        "write the card as JSON") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(str(error).replace("\n", " ")) from None


def card_of(model: "FASModel") -> ModelCard:
    """The card that describes ``model`` as it is now (its preprocessing attributes)."""
    by_filter = {flag: name for name, flag in RESIZE.items()}
    return ModelCard(
        input_size=int(model.input_size), model=model.name,
        channel_order=model.channel_order, pixel_scale=float(model.pixel_scale),
        mean=tuple(getattr(model, "input_mean", (0.0, 0.0, 0.0))),
        std=tuple(getattr(model, "input_std", (1.0, 1.0, 1.0))),
        crop_scale=model.crop_scale, resize=by_filter.get(model.resize_interpolation, "auto"),
        num_classes=int(getattr(model, "num_classes", model.live_index + 2)),
        live_index=int(model.live_index), threshold=float(model.threshold),
        threshold_data=model.threshold_data,
        target_layer=model.default_layer.removeprefix(_layer_prefix(model)) or None)


def apply_card(model: "FASModel", card: ModelCard, source: str) -> "FASModel":
    """``model`` set to follow ``card`` (read from ``source``, named in errors): what the card
    may change (colour order, pixel scale, crop, resize, live index, threshold, layer) is
    set on the model; what is fixed by its weights (input size, number of classes) must
    match."""
    expected = card_of(model)
    for key in ("input_size", "num_classes"):
        if getattr(card, key) != getattr(expected, key):
            raise XfasError(f"{source}: {key} {getattr(card, key)} does not fit the model "
                            f"{model.name} ({key} {getattr(expected, key)})")
    if card.normalises and not hasattr(model, "input_mean"):
        raise XfasError(f"{source}: mean / std are for models that expect normalised inputs "
                        f"(ONNX files); {model.name} normalises inside itself: give 0 and 1")
    layer = _layer_prefix(model) + (card.target_layer or "")
    if card.target_layer and layer not in dict(model.named_modules()):
        raise XfasError(f"{source}: target_layer {card.target_layer!r} is not a layer of "
                        f"{model.name}")
    model.channel_order = card.channel_order
    model.pixel_scale = card.pixel_scale
    model.crop_scale = card.crop_scale
    model.resize_interpolation = card.interpolation
    model.live_index = card.live_index
    model.threshold = card.threshold
    model.threshold_data = card.threshold_data
    if card.target_layer:
        model.default_layer = layer
    if hasattr(model, "input_mean"):
        model.input_mean, model.input_std = tuple(card.mean), tuple(card.std)
    return model


def _layer_prefix(model: "FASModel") -> str:
    """What the model puts before a card's layer name (a wrapped graph's ``graph.``)."""
    return getattr(model, "layer_prefix", "")
