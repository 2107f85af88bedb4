"""ONNX models, explained like xfas's own: ``load_model("model.onnx", card="model.json")``.

The file is converted to PyTorch with onnx2torch, so the gradient methods, the CAMs and SPED
run on it, and the converted model is checked against onnxruntime, the reference runtime, on a
few seeded inputs. When the two disagree beyond ``RTOL`` / ``ATOL``, or the conversion fails,
a one-line warning says so and the model runs through onnxruntime instead, as a black box that
only the black-box methods (RISE, LIME, SHAP) explain.

The model card (``xfas.models.card``) says what the graph expects: input size, colour order,
pixel scale, mean / std (applied here, outside the graph), crop, which output is live, the
threshold. A card's ``target_layer`` names a module of the converted graph: the ONNX node's
name as onnx2torch gives it (the node name without its leading "/", dots written as "/").
Without one, the last layer whose output is still a spatial map is used.

Needs the extra ``pip install 'xfas[onnx]'`` (onnx, onnxruntime, onnx2torch).
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np
import torch
from torch import nn

from xfas.errors import XfasError
from xfas.models.base import FASModel
from xfas.models.card import ModelCard, apply_card, read_card
from xfas.models.torchvision_compat import import_torchvision

EXTRA = "pip install 'xfas[onnx]'"
# onnx2torch's Slice indexes with a list, which torch warns about on every call
warnings.filterwarnings("ignore", message="Using a non-tuple sequence", category=UserWarning)
CHECK_INPUTS = 4   # seeded random inputs the converted model is compared on
RTOL = 1e-3        # converted vs onnxruntime logits, relative to the largest logit
ATOL = 1e-4


class OnnxModel(FASModel):
    """What both ways of running an ONNX file share: the card's input size, classes and
    mean / std, and a fingerprint of the file's bytes."""

    input_mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    input_std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __init__(self, path: Path, card: ModelCard, *, fixed_batch: bool) -> None:
        super().__init__()
        self.path = path
        self.model_name = card.model or path.stem
        self.input_size = card.input_size  # type: ignore[misc]
        self.num_classes = card.num_classes
        self.fixed_batch = fixed_batch  # the graph takes one image at a time
        self._digest = _file_digest(path)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.model_name

    def normalised(self, x: torch.Tensor) -> torch.Tensor:
        """The card's (x - mean) / std, what the graph is fed."""
        mean = torch.tensor(self.input_mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.input_std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x - mean) / std

    def fingerprint(self) -> str:
        return self._digest


class GraphModel(OnnxModel):
    """The ONNX graph converted to PyTorch (``graph``): gradients and layers work as usual."""

    layer_prefix: ClassVar[str] = "graph."

    def __init__(self, graph: nn.Module, path: Path, card: ModelCard, *,
                 fixed_batch: bool) -> None:
        super().__init__(path, card, fixed_batch=fixed_batch)
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.normalised(x)
        if self.fixed_batch:
            return torch.cat([self.graph(x[i:i + 1]) for i in range(x.shape[0])])
        return self.graph(x)


class RuntimeModel(OnnxModel):
    """The ONNX file run by onnxruntime: outputs without gradients or layers."""

    black_box: ClassVar[bool] = True

    def __init__(self, session: Any, path: Path, card: ModelCard, *, reason: str) -> None:
        super().__init__(path, card, fixed_batch=_fixed_batch(session))
        self.session = session
        self.black_box_reason = f"runs through onnxruntime ({reason})"
        # a parameter of no size, so code that asks a model for its device finds one
        self.anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = self.normalised(x).detach().cpu().numpy().astype(np.float32)
        logits = _run(self.session, batch, fixed_batch=self.fixed_batch)
        return torch.from_numpy(logits).to(x.device)


def load_onnx(path: Path, *, card: Path, device: str | torch.device = "cpu") -> FASModel:
    """The ONNX model in ``path`` under the model card ``card`` (see the module docstring)."""
    if not path.is_file():
        raise XfasError(f"--model {path}: ONNX file not found")
    if not card.is_file():
        raise XfasError(f"--model {path}: an ONNX model needs its model card (--card FILE; "
                        f"looked for {card}); `xfas export` writes one, docs/models.md lists "
                        "its fields")
    contract = read_card(card)
    session = _session(path)
    _check_outputs(session, path, contract)
    graph, reason = _converted(path, session, contract)
    if graph is not None:
        model: OnnxModel = GraphModel(graph, path, contract, fixed_batch=_fixed_batch(session))
    else:
        warnings.warn(f"{path}: {reason}; it runs through onnxruntime, so only the black-box "
                      "methods (rise, lime, shap) explain it", stacklevel=2)
        model = RuntimeModel(session, path, contract, reason=reason)
    apply_card(model, contract, source=f"--card {card}")
    if graph is not None and not contract.target_layer:
        model.default_layer = last_spatial_layer(model)
    return model.to(device).eval()


def last_spatial_layer(model: FASModel) -> str:
    """The last module, in the order a forward pass runs them, whose output is a map with
    more than one cell: the usual target layer of the CAM methods."""
    order: list[str] = []
    handles = [module.register_forward_hook(_spatial_recorder(name, order))
               for name, module in model.named_modules()
               if name and not list(module.children())]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, model.input_size, model.input_size))
    finally:
        for handle in handles:
            handle.remove()
    return order[-1] if order else ""


def _spatial_recorder(name: str, order: list[str]) -> Callable[..., None]:
    """A forward hook that appends ``name`` to ``order`` when the output is a spatial map."""
    def record(_module: nn.Module, _inputs: tuple, out: Any) -> None:
        if torch.is_tensor(out) and out.ndim == 4 and out.shape[-1] * out.shape[-2] > 1:
            order.append(name)
    return record


def check_inputs(card: ModelCard) -> np.ndarray:
    """Seeded inputs in the card's pixel range, normalised as the graph expects them."""
    rng = np.random.default_rng(0)
    side = card.input_size
    pixels = rng.uniform(0, 255, size=(CHECK_INPUTS, 3, side, side)) * card.pixel_scale
    mean = np.asarray(card.mean).reshape(1, 3, 1, 1)
    std = np.asarray(card.std).reshape(1, 3, 1, 1)
    return ((pixels - mean) / std).astype(np.float32)


def _converted(path: Path, session: Any, card: ModelCard) -> tuple[nn.Module | None, str]:
    """The converted graph, or None and why it cannot be used."""
    try:
        import_torchvision()
        import onnx2torch
    except ImportError as error:
        return None, f"{error.name} is not installed ({EXTRA})"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = onnx2torch.convert(str(path)).eval()
    except Exception as error:  # onnx2torch raises whatever its converters raise
        return None, f"onnx2torch cannot convert it ({type(error).__name__}: {error})"
    inputs = check_inputs(card)
    expected = _run(session, inputs, fixed_batch=_fixed_batch(session))
    try:
        with torch.no_grad():
            found = torch.cat([graph(torch.from_numpy(inputs[i:i + 1]))
                               for i in range(len(inputs))]).numpy()
    except Exception as error:  # a converted graph can fail in any operator
        return None, f"the converted model fails ({type(error).__name__}: {error})"
    gap = float(np.abs(found - expected).max())
    scale = float(np.abs(expected).max())
    if found.shape != expected.shape or gap > ATOL + RTOL * scale:
        return None, (f"the converted model differs from onnxruntime by {gap:.3g} "
                      f"(largest logit {scale:.3g})")
    return graph, ""


def _session(path: Path) -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise XfasError(f"--model {path}: ONNX models need onnxruntime ({EXTRA})") from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types
        raise XfasError(f"--model {path}: not a readable ONNX model ({error})") from None


def _check_outputs(session: Any, path: Path, card: ModelCard) -> None:
    """The graph takes (N, 3, S, S) at the card's size and gives one logit per class."""
    inputs = session.get_inputs()
    shape = inputs[0].shape if inputs else []
    fixed = [d for d in shape[1:] if isinstance(d, int)]
    if len(inputs) != 1 or len(shape) != 4 or (fixed and fixed != [3, card.input_size,
                                                                   card.input_size][:len(fixed)]):
        raise XfasError(f"--model {path}: expected one input of shape (N, 3, "
                        f"{card.input_size}, {card.input_size}) as the card says, found "
                        f"{[i.shape for i in inputs]}")
    logits = _run(session, check_inputs(card)[:1], fixed_batch=True)
    if logits.ndim != 2 or logits.shape[1] != card.num_classes:
        raise XfasError(f"--model {path}: outputs shape {logits.shape}, the card says "
                        f"{card.num_classes} classes")


def _run(session: Any, batch: np.ndarray, *, fixed_batch: bool) -> np.ndarray:
    name = session.get_inputs()[0].name
    if fixed_batch:
        return np.concatenate([session.run(None, {name: batch[i:i + 1]})[0]
                               for i in range(len(batch))])
    return session.run(None, {name: batch})[0]


def _fixed_batch(session: Any) -> bool:
    return isinstance(session.get_inputs()[0].shape[0], int)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]

