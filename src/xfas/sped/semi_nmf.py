"""Semi-NMF (Ding, Li & Jordan 2010, "Convex and Semi-Nonnegative Matrix Factorizations",
IEEE TPAMI 32(1), Sec. 3): A ~ U W^T with non-negative coefficients U (N x K) and concept
vectors W (C x K) of any sign, torch-native on the data's device.

Notation: the paper factorises X ~ F G^T with X (p x n) holding samples as columns, F mixed-sign
and G >= 0. Here A = X^T holds samples (activations) as rows, so W = F and U = G.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from xfas.errors import XfasError
from xfas.progress import progress_bar
from xfas.sped.kmeans import kmeans

INITS = ("kmeans", "random")
KMEANS_OFFSET = 0.2  # Ding et al. 2010, Sec. 3.1: G = cluster indicators + 0.2
_TRANSFORM_CHECK_EVERY = 10  # transform tests convergence every this many steps (fewer syncs)
_TRANSFORM_FLOOR = 0.2  # start of transform: clipped least squares + this x its mean (no exact 0)


def positive_part(m: torch.Tensor) -> torch.Tensor:
    """M^+ = (|M| + M) / 2, element-wise."""
    return (m.abs() + m) * 0.5


def negative_part(m: torch.Tensor) -> torch.Tensor:
    """M^- = (|M| - M) / 2, element-wise (so M = M^+ - M^-, both >= 0)."""
    return (m.abs() - m) * 0.5


def as_float_tensor(data: Any, name: str, ndims: tuple[int, ...] = (2,)) -> torch.Tensor:
    """A torch tensor or numpy array -> a finite floating tensor with one of ``ndims`` dims.

    float32 and float64 are kept; other dtypes (integers, half precision) become float32.
    """
    if isinstance(data, np.ndarray):
        data = torch.from_numpy(np.ascontiguousarray(data))
    if not isinstance(data, torch.Tensor):
        raise XfasError(f"{name}: expected a torch tensor or numpy array, "
                        f"got {type(data).__name__}")
    if data.ndim not in ndims:
        wanted = " or ".join(f"{d}-D" for d in ndims)
        raise XfasError(f"{name}: expected a {wanted} matrix, got shape {tuple(data.shape)}")
    if data.is_complex() or data.dtype == torch.bool:
        raise XfasError(f"{name}: expected real numbers, got dtype {data.dtype}")
    if data.dtype not in (torch.float32, torch.float64):
        data = data.to(torch.float32)
    if data.numel() == 0:
        raise XfasError(f"{name}: is empty (shape {tuple(data.shape)})")
    if not bool(torch.isfinite(data).all()):
        raise XfasError(f"{name}: contains NaN or infinite values")
    return data


def solve_components(a: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The W step, Ding et al. 2010 Eq. (7) (F = X G (G^T G)^-1): W = A^T U (U^T U)^-1, the exact
    least-squares W for fixed U. Solved by Cholesky on U^T U, never by an explicit inverse; a
    tiny ridge is added only when U^T U is singular (a dead component)."""
    gram = u.mT @ u
    rhs = u.mT @ a  # (K, C)
    chol, info = torch.linalg.cholesky_ex(gram)
    if int(info) != 0:
        scale = gram.diagonal().mean().clamp_min(torch.finfo(gram.dtype).tiny)
        ridge = scale * 1e3 * torch.finfo(gram.dtype).eps
        eye = torch.eye(gram.shape[0], dtype=gram.dtype, device=gram.device)
        chol, info = torch.linalg.cholesky_ex(gram + ridge * eye)
    return torch.cholesky_solve(rhs, chol).mT


def _add_product(base: torch.Tensor, u: torch.Tensor, gram: torch.Tensor) -> torch.Tensor:
    """base + u @ gram as one fused call, for (M, K) or batched (B, M, K) u."""
    if u.ndim == 2:
        return torch.addmm(base, u, gram)
    return torch.baddbmm(base, u, gram.expand(u.shape[0], *gram.shape))


def update_coefficients(u: torch.Tensor, numerator_base: torch.Tensor,
                        denominator_base: torch.Tensor, *, gram_pos: torch.Tensor,
                        gram_neg: torch.Tensor) -> torch.Tensor:
    """The U step, Ding et al. 2010 Eq. (8):
    U <- U * sqrt( ((A W)^+ + U (W^T W)^-) / ((A W)^- + U (W^T W)^+) ), element-wise.

    ``numerator_base`` = (A W)^+ + eps and ``denominator_base`` = (A W)^- + eps are computed once
    per W (the eps turns 0/0 into "unchanged" instead of NaN). Works on (M, K) or batched
    (B, M, K) coefficients.
    """
    numerator = _add_product(numerator_base, u, gram_neg)
    denominator = _add_product(denominator_base, u, gram_pos)
    return numerator.div_(denominator).sqrt_().mul_(u)


class SemiNMF:
    """Semi-non-negative matrix factorisation A ~ U W^T, U >= 0, W of any sign (scikit-learn style).

    Args:
        n_components: K, the number of concepts.
        init: "kmeans" (k-means++ clustering of the rows; U = indicators + 0.2, as Ding et al.
            advise) or "random" (U uniform in [0, 1)).
        n_init: restarts (each with its own seed drawn from ``seed``); the lowest error is kept.
        max_iter: iterations per restart (one W step, then ``inner_iter`` U steps).
        tol: stop when the relative decrease of the error between iterations is below this.
        seed: seeds every random choice (k-means++ seeding, random init).
        eps: guards the multiplicative update against 0/0.
        inner_iter: U steps per W step. A W and W^T W stay fixed between W steps, so repeating
            the cheap U step is nearly free and much speeds up convergence (the acceleration of
            Gillis & Glineur 2012, Neural Computation 24(4)); every step still never increases
            the error. How the error depends on it: docs/experiments.md.
        progress: show a progress bar during ``fit``.

    Each W step is the exact least-squares solution and each U step never increases the error
    (Ding et al. 2010, Theorem 1), so ``error_history_`` is non-increasing.

    Attributes after ``fit``: ``components_`` (W, C x K), ``coefficients_`` (U of the training
    data, N x K), ``reconstruction_error_`` (||A - U W^T||_F), ``n_iter_`` and
    ``error_history_`` (||A - U W^T||_F after each iteration of the kept restart; the objective
    of the paper is its square, so one is monotone exactly when the other is).

    Example:
        >>> nmf = SemiNMF(n_components=10).fit(activations)        # (N, C)
        >>> u = nmf.transform(image_activations)                    # (h*w, C) -> (h*w, K)
    """

    def __init__(self, n_components: int, init: str = "kmeans", n_init: int = 3,
                 *, max_iter: int = 500, tol: float = 1e-5, seed: int = 0, eps: float = 1e-9,
                 inner_iter: int = 10, progress: bool = True) -> None:
        self.n_components = n_components
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed
        self.eps = eps
        self.inner_iter = inner_iter
        self.progress = progress

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        checks = [
            ("n_components", isinstance(self.n_components, int) and self.n_components >= 1,
             "a positive integer"),
            ("init", self.init in INITS, f"one of {INITS}"),
            ("n_init", isinstance(self.n_init, int) and self.n_init >= 1, "a positive integer"),
            ("max_iter", isinstance(self.max_iter, int) and self.max_iter >= 1,
             "a positive integer"),
            ("tol", isinstance(self.tol, (int, float)) and self.tol >= 0, "a number >= 0"),
            ("eps", isinstance(self.eps, (int, float)) and self.eps > 0, "a number > 0"),
            ("inner_iter", isinstance(self.inner_iter, int) and self.inner_iter >= 1,
             "a positive integer"),
        ]
        for name, ok, wanted in checks:
            if not ok:
                raise XfasError(f"{name}: must be {wanted}, got {getattr(self, name)!r}")

    def _initial_coefficients(self, a: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        n, k = a.shape[0], self.n_components
        if self.init == "random":
            return torch.rand(n, k, generator=generator, device=a.device, dtype=a.dtype)
        _, labels = kmeans(a, k, generator)
        u = torch.full((n, k), KMEANS_OFFSET, dtype=a.dtype, device=a.device)
        u[torch.arange(n, device=a.device), labels] += 1.0
        return u

    def _fit_once(self, a: torch.Tensor, generator: torch.Generator, progress: Progress,
                  *, task: Any) -> tuple[torch.Tensor, torch.Tensor, list[float]]:
        """One restart: (W, U, error after each iteration)."""
        u = self._initial_coefficients(a, generator)
        history: list[float] = []
        for _ in range(self.max_iter):
            w = solve_components(a, u)
            aw = a @ w
            gram = w.mT @ w
            numerator_base, denominator_base = (positive_part(aw) + self.eps,
                                                negative_part(aw) + self.eps)
            gram_pos, gram_neg = positive_part(gram), negative_part(gram)
            for _ in range(self.inner_iter):
                u = update_coefficients(u, numerator_base, denominator_base, gram_pos=gram_pos,
                                        gram_neg=gram_neg)
            history.append(float(torch.linalg.matrix_norm(torch.addmm(a, u, w.mT, alpha=-1.0))))
            progress.advance(task)
            if len(history) > 1:
                previous = history[-2]
                if previous - history[-1] <= self.tol * max(previous, 1e-300):
                    break
        return w, u, history

    def fit(self, a: Any) -> "SemiNMF":
        """Learn W and U from ``a`` (N, C), a torch tensor or numpy array. Returns self."""
        self._check_params()
        a = as_float_tensor(a, "A")
        if self.n_components > a.shape[0]:
            raise XfasError(f"n_components: {self.n_components} exceeds the number of rows of A "
                            f"({a.shape[0]})")
        seeds = np.random.SeedSequence(self.seed).generate_state(self.n_init)
        with progress_bar(self.progress, transient=True) as progress:
            task = progress.add_task("Semi-NMF", total=self.n_init * self.max_iter)

            def restarts():
                for done, restart_seed in enumerate(seeds, start=1):
                    generator = torch.Generator(device=a.device).manual_seed(int(restart_seed))
                    yield self._fit_once(a, generator, progress, task=task)
                    progress.update(task, completed=done * self.max_iter)

            w, u, history = min(restarts(), key=lambda result: result[2][-1])
        self._set_state(w, u, history)
        return self

    def _set_state(self, w: torch.Tensor, u: torch.Tensor | None, history: list[float]) -> None:
        self.components_ = w
        self.coefficients_ = u
        self.error_history_ = list(history)
        self.reconstruction_error_ = history[-1] if history else math.nan
        self.n_iter_ = len(history)
        gram = w.mT @ w
        self._gram_pos = positive_part(gram)
        self._gram_neg = negative_part(gram)
        # [W | W (W^T W)^-1]: one product of A gives A W and the least-squares start of transform.
        eye = torch.eye(gram.shape[0], dtype=w.dtype, device=w.device)
        chol, info = torch.linalg.cholesky_ex(gram)
        if int(info) != 0:
            ridge = gram.diagonal().mean().clamp_min(torch.finfo(w.dtype).tiny) * 1e-6
            chol, _ = torch.linalg.cholesky_ex(gram + ridge * eye)
        self._encoder = torch.cat([w, w @ torch.cholesky_solve(eye, chol)], dim=1)

    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise XfasError("SemiNMF: not fitted yet; call fit(A) or SemiNMF.from_state(state)")

    # ------------------------------------------------------------------ applying
    def transform(self, a: Any, max_iter: int | None = None, tol: float | None = None
                  ) -> torch.Tensor:
        """U >= 0 for fixed W: the U step (Eq. 8) iterated with W frozen.

        ``a`` is (M, C) -> (M, K), or a batch (B, M, C) -> (B, M, K); it is moved to the device
        and dtype of ``components_``. W^T W and its +/- parts are precomputed at fit/load time,
        so one step costs two (M, K) x (K, K) products. Starts from the least-squares solution
        A W (W^T W)^-1 clipped at 0 plus a small floor (a multiplicative rule cannot revive an
        exact zero), and stops when every matrix's error decreased by less than ``tol``
        (relative) per step on average over the last 10 steps, or after ``max_iter`` steps
        (defaults: the estimator's ``tol`` and ``max_iter``). A batch runs until its slowest
        matrix converges, so it can differ from per-matrix calls by about ``tol``; with
        ``tol=0`` the two are equal.
        """
        self._check_fitted()
        w = self.components_
        a = as_float_tensor(a, "A", ndims=(2, 3)).to(device=w.device, dtype=w.dtype)
        if a.shape[-1] != w.shape[0]:
            raise XfasError(f"A: has {a.shape[-1]} columns but the components have {w.shape[0]}")
        max_iter = self.max_iter if max_iter is None else max_iter
        tol = self.tol if tol is None else tol
        k = self.n_components
        projected = a @ self._encoder
        aw, u = projected[..., :k], projected[..., k:].clamp_min(0.0)
        u = u + _TRANSFORM_FLOOR * u.mean(dim=(-2, -1), keepdim=True) + self.eps
        numerator_base = positive_part(aw) + self.eps
        denominator_base = negative_part(aw) + self.eps
        a_sq = (a * a).sum(dim=(-2, -1))
        previous = None
        for step in range(1, max_iter + 1):
            u = update_coefficients(u, numerator_base, denominator_base, gram_pos=self._gram_pos,
                                    gram_neg=self._gram_neg)
            if step % _TRANSFORM_CHECK_EVERY == 0:
                # ||A - U W^T||^2 = ||A||^2 - 2 <U, A W> + <U W^T W, U>, without forming U W^T.
                uw = u @ (self._gram_pos - self._gram_neg)
                objective = (a_sq - 2.0 * (u * aw).sum(dim=(-2, -1)) + (uw * u).sum(dim=(-2, -1))
                             ).clamp_min(0.0)
                if previous is not None:
                    change = (previous - objective) / previous.clamp_min(
                        torch.finfo(a.dtype).tiny)
                    if float(change.max()) <= tol * _TRANSFORM_CHECK_EVERY:
                        break
                previous = objective
        return u

    def fit_transform(self, a: Any) -> torch.Tensor:
        """``fit(a)`` and return the training coefficients U (N, K)."""
        return self.fit(a).coefficients_

    def inverse_transform(self, u: Any) -> torch.Tensor:
        """U W^T: coefficients (..., M, K) back to activations (..., M, C)."""
        self._check_fitted()
        w = self.components_
        u = as_float_tensor(u, "U", ndims=(2, 3)).to(device=w.device, dtype=w.dtype)
        if u.shape[-1] != self.n_components:
            raise XfasError(f"U: has {u.shape[-1]} columns, expected n_components="
                            f"{self.n_components}")
        return u @ w.mT

    def to(self, device: torch.device | str) -> "SemiNMF":
        """Move the learned tensors to ``device`` (in place); returns self."""
        self._check_fitted()
        u = self.coefficients_
        self._set_state(self.components_.to(device), None if u is None else u.to(device),
                        self.error_history_)
        return self

    # ------------------------------------------------------------------ saving
    def state_dict(self, include_coefficients: bool = True) -> dict[str, Any]:
        """Learned state as plain tensors, ints, floats and strings: save the tensors with
        safetensors and the rest with JSON. ``include_coefficients=False`` drops the (N, K)
        training coefficients, which ``transform`` does not need."""
        self._check_fitted()
        state: dict[str, Any] = {
            "components": self.components_,
            "error_history": torch.tensor(self.error_history_, dtype=torch.float64),
            "n_components": self.n_components, "init": self.init, "n_init": self.n_init,
            "max_iter": self.max_iter, "tol": float(self.tol), "seed": self.seed,
            "eps": float(self.eps), "reconstruction_error": float(self.reconstruction_error_),
            "n_iter": self.n_iter_,
        }
        if include_coefficients and self.coefficients_ is not None:
            state["coefficients"] = self.coefficients_
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any], progress: bool = True) -> "SemiNMF":
        """Rebuild a fitted estimator from ``state_dict()`` output."""
        try:
            model = cls(int(state["n_components"]), init=str(state["init"]),
                        n_init=int(state["n_init"]), max_iter=int(state["max_iter"]),
                        tol=float(state["tol"]), seed=int(state["seed"]),
                        eps=float(state["eps"]), progress=progress)
            w = as_float_tensor(state["components"], "state['components']")
        except KeyError as missing:
            raise XfasError(f"state: missing key {missing}") from None
        if w.shape[1] != model.n_components:
            raise XfasError(f"state['components']: has {w.shape[1]} columns, expected "
                            f"n_components={model.n_components}")
        u = state.get("coefficients")
        u = None if u is None else as_float_tensor(u, "state['coefficients']").to(w.device)
        history = state.get("error_history")
        history = [] if history is None else [float(x) for x in torch.as_tensor(history)]
        model._set_state(w, u, history)
        if "reconstruction_error" in state:
            model.reconstruction_error_ = float(state["reconstruction_error"])
        if "n_iter" in state:
            model.n_iter_ = int(state["n_iter"])
        return model
