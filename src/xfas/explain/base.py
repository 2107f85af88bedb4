"""What every explainer shares: the ``Explainer`` interface, input checks, the target layer,
the target score, running the model without side effects, and map normalisation.

Targets. ``target`` says which scalar per image is explained:

- ``"spoof"``: for an xfas ``FASModel``, ``model.spoof_logit`` (log-odds of spoof vs live) for
  gradient methods and ``model.spoof_probability`` (1 - softmax[live]) for methods that score
  perturbed or masked inputs (RISE, LIME, SHAP, AblationCAM, ScoreCAM): a probability is bounded,
  so masked inputs far from the data cannot produce huge scores, and AblationCAM's division by the
  score stays well defined. For a plain ``nn.Module``: a single-logit output (N,) or (N, 1) is the
  spoof logit (its sigmoid for perturbation methods); an output (N, C) with C >= 2 follows the
  convention "index 0 = live": logit logsumexp(z[1:]) - z[0] (= z1 - z0 for two classes), and
  probability 1 - softmax[0].
- an ``int`` class index, or a tensor of N indices (one per image): the class logit (gradient
  methods) or the class softmax probability (perturbation methods).
- a callable ``f(output) -> (B,)``: used as is by every family.

Model state. ``explain`` puts the model in eval mode for the call and restores every module's
previous ``training`` flag afterwards; it never changes ``requires_grad`` of parameters, never
accumulates ``.grad`` and leaves no hook behind.

Maps. ``explain`` returns (N, H, W) float32 maps at the input's size, each in [0, 1]: NaN and
infinities become 0, CAMs keep their positive part (ReLU), maps are upsampled bilinearly and
min-max scaled per map. A flat map (no variation) is returned as all zeros.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager
from typing import Callable, ClassVar, Iterator, Union

import torch
import torch.nn.functional as F
from torch import nn

from xfas.errors import XfasError
from xfas.progress import progress_bar

Target = Union[str, int, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]
# (model output (B, ...), rows (B,) = index of the image each output row belongs to) -> (B,)
ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOGIT = "logit"
PROBABILITY = "probability"
FLAT_TOLERANCE = 1e-6  # a map whose range is below this fraction of its magnitude is flat


def model_device(model: nn.Module, fallback: torch.device | None = None) -> torch.device:
    """The device of the model's first parameter or buffer (``fallback`` or CPU if none)."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return fallback if fallback is not None else torch.device("cpu")


def module_names(model: nn.Module) -> list[str]:
    """Every named sub-module of ``model`` (the valid ``layer`` values)."""
    if hasattr(model, "layer_names"):
        return list(model.layer_names())
    return [name for name, _ in model.named_modules() if name]


def default_layer(model: nn.Module) -> str:
    """The model's own ``default_layer`` if it has one, else the last ``nn.Conv2d`` registered."""
    name = getattr(model, "default_layer", "")
    if isinstance(name, str) and name:
        return name
    convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise XfasError(f"{type(model).__name__}: no default target layer (no Conv2d); "
                        "pass layer=<module name>")
    return convs[-1]


def resolve_layer(model: nn.Module, layer: str | None) -> tuple[str, nn.Module]:
    """(name, module) of ``layer`` (None: the default layer); an unknown name lists valid ones.
    A model that runs as a black box (an ONNX file run by onnxruntime) has no layers to read:
    the error says why and which methods work on it."""
    if getattr(model, "black_box", False):
        raise XfasError(f"model {getattr(model, 'name', type(model).__name__)!r}: "
                        f"{model.black_box_reason}; it has no layers to read, so only the "
                        "black-box methods explain it: rise, lime, shap")
    name = default_layer(model) if layer is None else layer
    modules = dict(model.named_modules())
    if not name or name not in modules:
        valid = ", ".join(module_names(model))
        raise XfasError(f"layer {name!r}: not a module of {type(model).__name__}; "
                        f"valid names: {valid}")
    return name, modules[name]


def check_images(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A float (N, C, H, W) batch (a single (C, H, W) image gets N = 1) as float32 on ``device``."""
    if not torch.is_tensor(images):
        raise XfasError(f"images: expected a torch.Tensor (N, 3, H, W), got "
                        f"{type(images).__name__}")
    if images.ndim == 3:
        images = images.unsqueeze(0)
    if images.ndim != 4 or images.shape[0] == 0 or min(images.shape[1:]) < 1:
        raise XfasError(f"images: expected shape (N, 3, H, W) with N >= 1, got "
                        f"{tuple(images.shape)}")
    if not images.is_floating_point():
        raise XfasError(f"images: expected a float tensor (already preprocessed), got "
                        f"{images.dtype}")
    return images.detach().to(device=device, dtype=torch.float32)


def _output_matrix(output: torch.Tensor) -> torch.Tensor:
    if not torch.is_tensor(output):
        raise XfasError(f"model output: expected a tensor (N, C) or (N,), got "
                        f"{type(output).__name__}")
    if output.ndim == 1:
        return output[:, None]
    if output.ndim != 2:
        raise XfasError(f"model output: expected shape (N, C) or (N,), got "
                        f"{tuple(output.shape)}")
    return output


def _spoof(model: nn.Module, kind: str) -> ScoreFn:
    if hasattr(model, "spoof_logit") and hasattr(model, "spoof_probability"):
        method = model.spoof_logit if kind == LOGIT else model.spoof_probability
        return lambda output, rows: method(_output_matrix(output))

    def score(output: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        logits = _output_matrix(output)
        if logits.shape[1] == 1:
            single = logits[:, 0]
            return single if kind == LOGIT else torch.sigmoid(single)
        if kind == LOGIT:
            return torch.logsumexp(logits[:, 1:], dim=1) - logits[:, 0]
        return 1.0 - torch.softmax(logits, dim=1)[:, 0]
    return score


def _class(indices: torch.Tensor | int, kind: str) -> ScoreFn:
    def score(output: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        logits = _output_matrix(output)
        classes = logits.shape[1]
        if classes == 1:
            raise XfasError("target: the model has a single output; use target='spoof' or "
                            "a callable")
        index = (torch.as_tensor(indices, device=logits.device)[rows]
                 if torch.is_tensor(indices) else torch.full_like(rows, int(indices)))
        if bool(((index < 0) | (index >= classes)).any()):
            raise XfasError(f"target: class indices must be in 0..{classes - 1}, got "
                            f"{sorted(set(index.tolist()))}")
        values = logits if kind == LOGIT else torch.softmax(logits, dim=1)
        return values.gather(1, index[:, None].long().to(values.device))[:, 0]
    return score


def _callable(function: Callable[[torch.Tensor], torch.Tensor]) -> ScoreFn:
    def score(output: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        value = function(output)
        if not torch.is_tensor(value) or value.reshape(-1).shape[0] != rows.shape[0]:
            shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
            raise XfasError(f"target: the callable must return one score per row "
                            f"({rows.shape[0]},), got {shape}")
        return value.reshape(-1)
    return score


def resolve_target(model: nn.Module, target: Target, count: int, *, kind: str) -> ScoreFn:
    """The score function for ``target`` (see the module docstring); ``count`` = N images,
    ``kind`` = ``LOGIT`` (gradient methods) or ``PROBABILITY`` (perturbation methods)."""
    if isinstance(target, str):
        if target != "spoof":
            raise XfasError(f"target {target!r}: expected 'spoof', a class index, a tensor of "
                            "indices or a callable")
        return _spoof(model, kind)
    if isinstance(target, bool):
        raise XfasError(f"target {target!r}: a bool is not a class index")
    if isinstance(target, int):
        return _class(target, kind)
    if torch.is_tensor(target):
        if target.is_floating_point() or target.is_complex():
            raise XfasError(f"target: class indices must be integers, got {target.dtype}")
        if target.ndim == 0:
            return _class(int(target), kind)
        if target.ndim != 1 or target.shape[0] != count:
            raise XfasError(f"target: expected {count} class indices (one per image), got "
                            f"shape {tuple(target.shape)}")
        return _class(target.long(), kind)
    if callable(target):
        return _callable(target)
    raise XfasError(f"target {target!r}: expected 'spoof', a class index, a tensor of indices "
                    "or a callable")


def normalize_maps(raw: torch.Tensor, size: tuple[int, int], relu: bool = True) -> torch.Tensor:
    """Raw maps (N, h, w) -> (N, H, W) float32 in [0, 1]: NaN/inf -> 0, optional ReLU,
    bilinear upsampling, per-map min-max; a flat map becomes all zeros."""
    maps = torch.nan_to_num(raw.detach().float(), nan=0.0, posinf=0.0, neginf=0.0)
    if relu:
        maps = maps.clamp_min(0.0)
    if tuple(maps.shape[-2:]) != tuple(size):
        maps = F.interpolate(maps[:, None], size=tuple(size), mode="bilinear",
                             align_corners=False)[:, 0]
    flat = maps.flatten(1)
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    span = high - low
    magnitude = torch.maximum(high.abs(), low.abs())
    varies = (span > FLAT_TOLERANCE * magnitude) & (span > 0)
    scale = torch.where(varies, span, torch.ones_like(span))
    maps = (maps - low[:, None, None]) / scale[:, None, None]
    maps = maps * varies[:, None, None]
    return torch.nan_to_num(maps, nan=0.0, posinf=0.0, neginf=0.0).clamp_(0.0, 1.0)


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode and autograd available for the call; every module's previous mode restored."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.inference_mode(False):
            yield
    finally:
        for module, mode in modes:
            module.training = mode


@contextmanager
def progress_steps(total: int, description: str, enabled: bool) -> Iterator[Callable[[], None]]:
    """The project's progress bar over ``total`` steps; yields ``advance()`` (a no-op when
    disabled or for a single step)."""
    if not enabled or total <= 1:
        yield lambda: None
        return
    with progress_bar(True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)


class PerturbedForward:
    """Runs a model without autograd on batches of perturbed inputs (N, C, H, W), in the layout
    it evaluates fastest.

    On the CPU the batch is handed over channels-last (C varies fastest in memory, as in an
    (N, H, W, C) array): oneDNN's convolutions and pooling run faster on it than on the
    default layout, and the outputs differ only by float rounding. A model that cannot take
    that layout (a ``view`` of its activations raises) is given contiguous batches from its
    first failure on; an error that is not about the layout raises again from that retry. On
    other devices batches keep the default layout.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.channels_last = model_device(model).type == "cpu"

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            if self.channels_last:
                try:
                    return self.model(batch.contiguous(memory_format=torch.channels_last))
                except RuntimeError:
                    self.channels_last = False
            return self.model(batch.contiguous())


def chunks(total: int, size: int) -> list[tuple[int, int]]:
    """[(start, stop)] covering range(total) in pieces of at most ``size``."""
    return [(start, min(start + size, total)) for start in range(0, total, size)]


class Explainer(ABC):
    """A saliency method: ``explain(images, target) -> (N, H, W)`` maps in [0, 1].

    Args:
        model: an xfas ``FASModel`` or any ``nn.Module`` classifier.
        layer: module name for layer methods (None: the model's default layer); ignored by
            methods that do not use a layer.
        seed: seed of every random choice (maps are deterministic for a seed).
        batch_size: most images (gradient methods) or perturbed inputs (perturbation methods)
            in one forward pass, hence in memory at once.
        progress: show a progress bar on long loops.

    Example:
        >>> explainer = create_explainer("gradcam", model)
        >>> maps = explainer.explain(images, target="spoof")
    """

    name: ClassVar[str] = ""
    uses_layer: ClassVar[bool] = False
    target_kind: ClassVar[str] = LOGIT
    relu: ClassVar[bool] = True  # keep the positive part of the raw map before scaling

    def __init__(self, model: nn.Module, layer: str | None = None, seed: int = 0,
                 *, batch_size: int = 64, progress: bool = True) -> None:
        if not isinstance(model, nn.Module):
            raise XfasError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise XfasError(f"batch_size: expected a positive integer, got {batch_size!r}")
        self.model = model
        self.seed = int(seed)
        self.batch_size = batch_size
        self.progress = progress
        self.layer = resolve_layer(model, layer)[0] if self.uses_layer else None

    @property
    def device(self) -> torch.device:
        return model_device(self.model)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh generator on the model's device, seeded with ``seed + offset``."""
        return torch.Generator(device=self.device).manual_seed(self.seed + offset)

    def score_fn(self, target: Target, count: int) -> ScoreFn:
        return resolve_target(self.model, target, count, kind=self.target_kind)

    def checked(self, images: torch.Tensor) -> torch.Tensor:
        """``images`` checked and moved to the model's device (see ``check_images``)."""
        fallback = images.device if torch.is_tensor(images) else None
        return check_images(images, model_device(self.model, fallback))

    def explain(self, images: torch.Tensor, target: Target = "spoof") -> torch.Tensor:
        """Maps (N, H, W), float32 in [0, 1], at the input's size, on the model's device."""
        images = self.checked(images)
        with evaluating(self.model):
            raw = self.attribute(images, target)
        return normalize_maps(raw, tuple(images.shape[-2:]), relu=self.relu)

    @abstractmethod
    def attribute(self, images: torch.Tensor, target: Target) -> torch.Tensor:
        """Raw maps (N, h, w) of checked images; called in eval mode by ``explain``."""


def safe_divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is 0."""
    zero = denominator == 0
    return torch.where(zero, torch.zeros_like(numerator),
                       numerator / torch.where(zero, torch.ones_like(denominator), denominator))

