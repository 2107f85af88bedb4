"""A small seeded k-means (k-means++ seeding, Lloyd iterations) in torch, on the data's device.

It exists to initialise Semi-NMF (Ding, Li & Jordan 2010, Sec. 3.1). It is written in torch
rather than taken from scikit-learn so that a large activation matrix never leaves its device
(no host copy of a GPU tensor) and so that its randomness is one ``torch.Generator`` seeded by
the caller, on that device.
"""

from __future__ import annotations

import torch


def squared_distances(x: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """||x_i - c_j||^2 for rows x (N, C) and centres (K, C) -> (N, K), clamped at 0."""
    cross = x @ centers.mT
    sq = (x * x).sum(1, keepdim=True) - 2.0 * cross + (centers * centers).sum(1)
    return sq.clamp_min_(0.0)


def kmeans_plus_plus(x: torch.Tensor, n_clusters: int, generator: torch.Generator) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): the first centre uniformly at random,
    each next one with probability proportional to its squared distance to the nearest centre
    chosen so far. Returns the centres (K, C)."""
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=generator, device=x.device)
    centers = x[first]
    closest = squared_distances(x, centers).squeeze(1)
    for _ in range(1, n_clusters):
        total = closest.sum()
        # All points already coincide with a centre (fewer distinct rows than K): pick uniformly.
        weights = closest if bool(total > 0) else torch.ones_like(closest)
        pick = torch.multinomial(weights, 1, generator=generator)
        centers = torch.cat([centers, x[pick]], dim=0)
        closest = torch.minimum(closest, squared_distances(x, x[pick]).squeeze(1))
    return centers


def kmeans(x: torch.Tensor, n_clusters: int, generator: torch.Generator,
           *, max_iter: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Cluster the rows of ``x`` (N, C). Returns (centres (K, C), labels (N,) int64).

    Lloyd iterations from k-means++ seeds until the labels stop changing or ``max_iter``.
    An empty cluster is re-seeded with the point farthest from its centre.
    """
    centers = kmeans_plus_plus(x, n_clusters, generator)
    labels = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
    for _ in range(max_iter):
        dist = squared_distances(x, centers)
        new_labels = dist.argmin(1)
        if torch.equal(new_labels, labels):
            break
        labels = new_labels
        counts = torch.bincount(labels, minlength=n_clusters)
        sums = torch.zeros_like(centers).index_add_(0, labels, x)
        empty = counts == 0
        centers = sums / counts.clamp_min(1).unsqueeze(1).to(x.dtype)
        if bool(empty.any()):
            far = dist.gather(1, labels.unsqueeze(1)).squeeze(1)
            for k in torch.nonzero(empty).flatten().tolist():
                i = far.argmax()
                centers[k] = x[i]
                far[i] = -1.0
    return centers, labels
