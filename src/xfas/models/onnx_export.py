"""Writing an xfas model as ONNX with its model card beside it (``xfas export``), ready to deploy
or to load back with ``load_model("OUT.onnx")``.

The graph takes (N, 3, S, S) as the model does (its card says how an image becomes that) and
gives the logits. It is written so that onnx2torch converts it back into the same layers (see
``_write``); a model with an operator the TorchScript exporter lacks is written by torch's newer
exporter instead, and may then load back only as a black box. The card's ``target_layer`` is
the converted module whose output equals the model's own target layer.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from xfas.errors import XfasError
from xfas.models.base import FASModel
from xfas.models.card import ModelCard, card_beside, card_of, write_card
from xfas.models.onnx_model import EXTRA, GraphModel, check_inputs
from xfas.models.torchvision_compat import import_torchvision

OPSET = 17  # onnx2torch converts every operator of xfas's models at this opset


def export_onnx(model: FASModel, path: str | Path) -> tuple[Path, Path]:
    """Write ``model`` to ``path`` (.onnx) and its card to ``path`` with .json; returns both."""
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        raise XfasError(f"--onnx {path}: expected a file name ending in .onnx")
    if isinstance(model, GraphModel) or getattr(model, "black_box", False):
        raise XfasError(f"--model {model.name}: is an ONNX file already; copy it and its card")
    try:
        import onnx  # noqa: F401  (the exporter writes through it)
    except ImportError:
        raise XfasError(f"--onnx {path}: exporting needs onnx ({EXTRA})") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.cpu().eval()
    try:
        _write(model, path, dynamo=False)
    except Exception:  # an operator the TorchScript exporter lacks: try the newer exporter
        try:
            _write(model, path, dynamo=True)
        except Exception as error:  # the exporters raise many types for unsupported operators
            raise XfasError(f"--model {model.name}: cannot be exported to ONNX ("
                            f"{type(error).__name__}: {str(error).splitlines()[0][:200]})"
                            ) from None
    card = card_of(model)
    card = replace(card, target_layer=converted_layer(model, path, card))
    return path, write_card(card, card_beside(path))


def _write(model: FASModel, path: Path, *, dynamo: bool) -> None:
    """torch's ONNX export with a free batch size. The TorchScript exporter (``dynamo=False``)
    writes graphs onnx2torch converts: opset ``OPSET``, batch norm unfolded, weights also listed
    as graph inputs (without that, onnx2torch misses the weights of some layers)."""
    example = (torch.zeros(1, 3, model.input_size, model.input_size),)
    names = {"input_names": ["input"], "output_names": ["logits"]}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporters' deprecation and progress notices
        if dynamo:
            torch.onnx.export(model, example, str(path), dynamo=True, **names,
                              dynamic_shapes=({0: torch.export.Dim("batch")},))
        else:
            torch.onnx.export(model, example, str(path), dynamo=False, opset_version=OPSET,
                              do_constant_folding=False, keep_initializers_as_inputs=True,
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                              **names)


def converted_layer(model: FASModel, path: Path, card: ModelCard) -> str | None:
    """The module of the onnx2torch conversion of ``path`` whose output equals the output of
    ``model``'s default layer (the last such in the order they run: blocks that start as the
    identity give equal outputs), or None when the file does not convert."""
    try:
        import_torchvision()
        import onnx2torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = onnx2torch.convert(str(path)).eval()
    except Exception:  # no onnx2torch, or a graph it cannot convert: the card names no layer
        return None
    x = torch.from_numpy(check_inputs(card)[:1])
    wanted = _outputs(model, x, {model.default_layer})[model.default_layer]
    found = _outputs(graph, x, {name for name, _ in graph.named_modules() if name})
    matches = [name for name, output in found.items() if output.shape == wanted.shape
               and torch.allclose(output, wanted, rtol=1e-4, atol=1e-5)]
    return matches[-1] if matches else None


def _outputs(model: nn.Module, x: torch.Tensor, names: set[str]) -> dict[str, torch.Tensor]:
    """{module name: its output} for the modules ``names``, in the order they ran."""
    found: dict[str, torch.Tensor] = {}
    handles = [module.register_forward_hook(_keeper(name, found))
               for name, module in model.named_modules() if name in names]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return found


def _keeper(name: str, found: dict[str, torch.Tensor]) -> Callable[..., None]:
    """A forward hook that keeps the module's first output in ``found[name]``."""
    def keep(_module: nn.Module, _inputs: tuple, out: object) -> None:
        if torch.is_tensor(out) and name not in found:
            found[name] = out.detach().clone()
    return keep
