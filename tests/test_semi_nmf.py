"""Semi-NMF against independent truths: a planted factorisation, the monotone objective of Ding
et al. 2010 (Theorem 1), scikit-learn's NMF, scipy's exact NNLS, and hand-checked shapes."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from scipy.optimize import linear_sum_assignment, nnls
from sklearn.decomposition import NMF
from sklearn.metrics import adjusted_rand_score

from xfas.errors import XfasError
from xfas.sped import SemiNMF
from xfas.sped.kmeans import kmeans

from helpers.tolerance import assert_close


def planted(seed: int = 0, n: int = 400, c: int = 32, k: int = 4, noise: float = 0.01):
    """A = U W^T + noise with mixed-sign W and rows of U >= 0 dominated by one concept."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((c, k))
    u = rng.uniform(0.0, 0.1, (n, k))
    u[np.arange(n), rng.integers(0, k, n)] = rng.uniform(1.0, 2.0, n)
    return u @ w.T + noise * rng.standard_normal((n, c)), u, w


def matched_cosines(w_true: np.ndarray, w_found: np.ndarray) -> np.ndarray:
    """Cosine of each planted column with its partner, paired by the Hungarian algorithm."""
    a = w_true / np.linalg.norm(w_true, axis=0)
    b = w_found / np.linalg.norm(w_found, axis=0)
    cos = a.T @ b
    rows, cols = linear_sum_assignment(-cos)
    return cos[rows, cols]


def nonnegative_data(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (300, 5)) @ rng.uniform(0, 1, (5, 40)) \
        + 0.05 * rng.uniform(0, 1, (300, 40))


@pytest.fixture(scope="module")
def fitted() -> tuple[np.ndarray, np.ndarray, SemiNMF]:
    """The planted data of seed 0 and the default Semi-NMF fitted on it (shared by the tests
    that only read the fit)."""
    a, _, w = planted(0)
    return a, w, SemiNMF(4, progress=False).fit(a)


def test_kmeans_init_recovers_planted_concepts(fitted):
    a, w, model = fitted
    cos = matched_cosines(w, model.components_.double().numpy())
    # k-means initialisation starts from the clusters the planted rows form, so the fit lands
    # on the planted directions; a random start may not, since any U Q, W Q^-T with U Q >= 0
    # fits as well
    assert cos.min() >= 0.95, cos
    assert model.coefficients_.shape == (400, 4)
    assert bool((model.coefficients_ >= 0).all())
    noise_floor = 0.01 * np.sqrt(a.size)
    assert model.reconstruction_error_ < 1.1 * noise_floor


@pytest.mark.parametrize("init", ["kmeans", "random"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_objective_never_increases(init, dtype):
    a, _, _ = planted(3)
    model = SemiNMF(4, init=init, n_init=1, max_iter=150, tol=0.0, inner_iter=3,
                    progress=False).fit(a.astype(dtype))
    history = np.asarray(model.error_history_)
    assert len(history) == model.n_iter_ > 10  # tol=0: stops only when the error stops moving
    assert np.all(history[1:] <= history[:-1] * (1 + 1e-6))
    assert_close(model.reconstruction_error_, history[-1])
    direct = np.linalg.norm(a - model.inverse_transform(model.coefficients_).double().numpy())
    assert_close(direct, model.reconstruction_error_)


def test_nonnegative_data_error_matches_sklearn_nmf():
    a = nonnegative_data(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn may warn about max_iter; we only want its error
        reference = NMF(5, init="nndsvda", max_iter=5000, tol=1e-7, random_state=0).fit(a)
    model = SemiNMF(5, n_init=1, max_iter=800, progress=False).fit(a)
    # Semi-NMF relaxes NMF (W may be negative), so its optimum is at least as good; the
    # multiplicative rule gets there slowly on dense non-negative data, hence max_iter=800
    # and a 5 % margin.
    assert model.reconstruction_error_ <= 1.05 * reference.reconstruction_err_


def test_other_seeds_recover_planted_concepts():
    for seed in (1, 2):
        a, _, w = planted(seed)
        model = SemiNMF(4, n_init=1, seed=seed, progress=False).fit(a)
        assert matched_cosines(w, model.components_.double().numpy()).min() >= 0.95


def test_transform_reproduces_training_coefficients(fitted):
    a, _, model = fitted
    u = model.transform(a)
    assert bool((u >= 0).all())
    error = np.linalg.norm(a - (u @ model.components_.mT).double().numpy())
    assert error <= 1.01 * model.reconstruction_error_
    relative = (u - model.coefficients_).norm() / model.coefficients_.norm()
    assert float(relative) < 0.05


def test_transform_matches_exact_nnls():
    """For a fixed W, min ||a - W u|| over u >= 0 is convex: scipy's active-set NNLS is exact."""
    rng = np.random.default_rng(4)
    a = np.maximum(rng.standard_normal((500, 12)) @ rng.standard_normal((12, 64)), 0.0)
    model = SemiNMF(6, n_init=1, progress=False).fit(a)
    w = model.components_.double().numpy()
    block = a[:64]
    exact = np.stack([nnls(w, row)[0] for row in block])
    u = model.transform(block, max_iter=2000, tol=0.0).double().numpy()
    best = np.linalg.norm(block - exact @ w.T)
    assert np.linalg.norm(block - u @ w.T) <= best * (1 + 1e-4)
    assert np.abs(u - exact).max() < 0.02 * np.abs(exact).max()


def test_batched_transform_equals_per_matrix():
    rng = np.random.default_rng(5)
    a = np.maximum(rng.standard_normal((600, 10)) @ rng.standard_normal((10, 48)), 0.0)
    model = SemiNMF(5, n_init=1, progress=False).fit(a.astype(np.float32))
    batch = torch.from_numpy(a[:192].astype(np.float32)).reshape(3, 64, 48)
    together = model.transform(batch, tol=0.0, max_iter=100)
    assert together.shape == (3, 64, 5)
    for i in range(3):
        alone = model.transform(batch[i], tol=0.0, max_iter=100)
        assert_close(together[i], alone)
    assert bool((together >= 0).all())


def test_numpy_and_torch_inputs_agree_and_seed_is_deterministic():
    a, _, _ = planted(1)
    from_numpy = SemiNMF(4, n_init=2, progress=False).fit(a)
    from_torch = SemiNMF(4, n_init=2, progress=False).fit(torch.from_numpy(a))
    assert_close(from_numpy.components_, from_torch.components_)
    assert_close(from_numpy.error_history_, from_torch.error_history_)
    other = SemiNMF(4, init="random", seed=7, n_init=1, max_iter=50, progress=False).fit(a)
    again = SemiNMF(4, init="random", seed=7, n_init=1, max_iter=50, progress=False).fit(a)
    assert_close(other.components_, again.components_)


def test_fit_transform_inverse_transform_and_state_round_trip(fitted, tmp_path):
    a = fitted[0]
    model = SemiNMF(4, n_init=1, progress=False)
    u = model.fit_transform(a)
    assert u is model.coefficients_
    expected = u.double().numpy() @ model.components_.double().numpy().T
    assert_close(model.inverse_transform(u), expected)

    state = model.state_dict()
    tensors = {k: v.contiguous() for k, v in state.items() if isinstance(v, torch.Tensor)}
    save_file(tensors, tmp_path / "nmf.safetensors")
    (tmp_path / "nmf.json").write_text(json.dumps(
        {k: v for k, v in state.items() if not isinstance(v, torch.Tensor)}))
    loaded = SemiNMF.from_state({**json.loads((tmp_path / "nmf.json").read_text()),
                                 **load_file(tmp_path / "nmf.safetensors")}, progress=False)
    # state read back from the files: the same bits
    assert torch.equal(loaded.components_, model.components_)
    assert loaded.reconstruction_error_ == model.reconstruction_error_
    assert loaded.n_iter_ == model.n_iter_
    assert loaded.error_history_ == model.error_history_
    assert_close(loaded.transform(a[:50]), model.transform(a[:50]))


@pytest.mark.parametrize("bad, name", [
    (np.zeros((3, 4, 5)), "A"),
    (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), "A"),
    (np.array([[1.0, np.inf], [0.0, 1.0], [1.0, 1.0]]), "A"),
    (np.ones((2, 6)), "n_components"),
])
def test_fit_rejects_bad_input_naming_the_argument(bad, name):
    with pytest.raises(XfasError, match=name):
        SemiNMF(3, progress=False).fit(bad)


def test_bad_parameters_and_unfitted_use_raise():
    with pytest.raises(XfasError, match="init"):
        SemiNMF(2, init="svd", progress=False).fit(np.ones((5, 3)))
    with pytest.raises(XfasError, match="not fitted"):
        SemiNMF(2).transform(np.ones((5, 3)))
    model = SemiNMF(2, n_init=1, progress=False).fit(np.random.default_rng(0).random((20, 3)))
    with pytest.raises(XfasError, match="columns"):
        model.transform(np.ones((5, 4)))


def test_kmeans_separates_blobs():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 8)) * 10
    truth = rng.integers(0, 5, 500)
    x = torch.from_numpy(centres[truth] + rng.standard_normal((500, 8)))
    _, labels = kmeans(x, 5, torch.Generator().manual_seed(0))
    assert_close(adjusted_rand_score(truth, labels.numpy()), 1.0)
