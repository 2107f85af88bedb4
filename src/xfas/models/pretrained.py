"""Local ImageNet weights for a backbone (``--pretrained FILE``): a timm state dict, whose names
are the network's own, or a torchvision one, whose tensors come in the same order under other
names. The classifier (1000 ImageNet classes) is left out; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from xfas.errors import XfasError

WRAPPERS = ("state_dict_ema", "model_ema", "state_dict", "model")  # training checkpoints


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The named tensors of a .safetensors or torch file (weights only, no pickle of code),
    unwrapped from a training checkpoint's ``state_dict`` / ``model`` entry, ``module.``
    prefixes removed."""
    path = Path(path)
    if not path.is_file():
        raise XfasError(f"--pretrained {path}: file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt bytes can surface as almost any exception type
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise XfasError(f"--pretrained {path}: not a readable weights file ({reason[:200]})"
                        ) from None
    for key in WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise XfasError(f"--pretrained {path}: expected a dict of named tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_pretrained(net: nn.Module, path: str | Path, *, classifier: str) -> str:
    """Copy the weights in ``path`` into ``net`` except its ``classifier``; returns "timm" or
    "torchvision", the naming found. XfasError naming the first tensor that does not fit."""
    state = read_state_dict(path)
    own = {k: v for k, v in net.state_dict().items() if not k.startswith(f"{classifier}.")}
    head = len(net.state_dict()) - len(own)
    if own.keys() <= state.keys():
        chosen, naming = {k: state[k] for k in own}, "timm"
    elif len(state) == len(own) + head:
        # torchvision's layers are registered in the same order, its classifier last
        chosen = dict(zip(own, list(state.values())[:len(own)]))
        naming = "torchvision"
    else:
        missing = sorted(own.keys() - state.keys())
        raise XfasError(f"--pretrained {path}: neither timm's names (missing {missing[0]!r} and "
                        f"{len(missing) - 1} more) nor torchvision's layout ({len(state)} "
                        f"tensors, expected {len(own) + head}) of this backbone")
    for key, tensor in own.items():
        found = chosen[key]
        if found.numel() != tensor.numel() or (naming == "timm" and found.shape != tensor.shape):
            raise XfasError(f"--pretrained {path}: {key} has shape {tuple(found.shape)}, the "
                            f"backbone expects {tuple(tensor.shape)} (weights of another "
                            "architecture?)")
        chosen[key] = found.reshape(tensor.shape).to(tensor.dtype)
    net.load_state_dict(chosen, strict=False)
    return naming
