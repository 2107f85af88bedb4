"""Batching dataset items for training and scoring: only the fields every loader shares."""

from __future__ import annotations

from typing import Any, Sequence

import torch


def collate_items(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack ``image`` and ``label``, keep ``attack`` and ``path`` as lists; other fields
    (masks, boxes) differ between items and are left out."""
    return {
        "image": torch.stack([item["image"] for item in items]),
        "label": torch.tensor([int(item["label"]) for item in items]),
        "attack": [str(item["attack"]) for item in items],
        "path": [str(item["path"]) for item in items],
    }
