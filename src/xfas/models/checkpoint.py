"""Safe checkpoints: safetensors weights plus a JSON header that names the model and its
preprocessing, and a digest of the weights so a tampered file is refused. No pickle anywhere."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from xfas import __version__
from xfas.errors import XfasError

FORMAT = "xfas-checkpoint/1"


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over the names and bytes of every tensor, in name order."""
    digest = hashlib.sha256()
    for key in sorted(tensors):
        digest.update(key.encode())
        digest.update(tensors[key].detach().cpu().contiguous().reshape(-1)
                      .view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def save_checkpoint(path: str | Path, state: dict[str, torch.Tensor],
                    header: dict[str, Any]) -> Path:
    """Write ``state`` with ``header`` (JSON-serialisable) atomically: a crash mid-write leaves
    the previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    meta = {"format": FORMAT, "xfas_version": __version__, "sha256": tensors_digest(tensors),
            "header": json.dumps(header)}
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata=meta)
    partial.replace(path)
    return path


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load and verify a checkpoint; XfasError naming the file if it is not one of ours,
    corrupt, or its weights do not match their recorded digest."""
    path = Path(path)
    if not path.is_file():
        raise XfasError(f"{path}: checkpoint not found")
    try:
        tensors = load_file(str(path))
        from safetensors import safe_open
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise XfasError(f"{path}: not a readable safetensors checkpoint ({error})") from None
    if meta.get("format") != FORMAT:
        raise XfasError(f"{path}: not an xfas checkpoint (format {meta.get('format')!r})")
    if tensors_digest(tensors) != meta.get("sha256"):
        raise XfasError(f"{path}: weights do not match their recorded digest; "
                        "the file was modified or damaged")
    try:
        header = json.loads(meta["header"])
    except (KeyError, json.JSONDecodeError):
        raise XfasError(f"{path}: checkpoint header is missing or not JSON") from None
    return tensors, header
