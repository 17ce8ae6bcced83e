"""Synthetic tasks with known scaling exponents: end-to-end oracles for the fitting layer.

``random_feature_*``: linear regression on random features of data with a power-law
spectrum (Maloney, Roberts & Sully 2022, "A Solvable Model of Neural Scaling Laws",
arXiv 2210.16859). Latent inputs ``x ~ N(0, diag(lambda))`` with
``lambda_i = i^-(1 + alpha)``, target ``y = w . x`` with random signs ``w_i = +-1`` (so ``E[w_i^2] = 1`` as for ``w ~ N(0, I)``, without its variance), features
``u = W x`` for a Gaussian ``N x M`` matrix ``W``. Test loss falls as ``N^-alpha`` in the
number of features (with unlimited data) and as ``T^-alpha`` in the number of samples (with
unlimited features): the oracle exponent is ``alpha``.

``mlp_square_*``: a two-layer MLP of width N fitted to ``y = x^2`` (Liu & Tegmark 2023,
"A Neural Scaling Law from Lottery Ticket Ensembling", arXiv 2310.02258): MSE ~ N^-1.

Each returns a runs table (:class:`data.RunsTable`) that :mod:`fits` consumes directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling.data import RunsTable, validate

__all__ = ["mlp_square_loss", "mlp_square_table", "random_feature_loss",
           "random_feature_table"]


def _spectrum(alpha: float, M: int) -> tuple[np.ndarray, float]:
    """``lambda_i = i^-(1+alpha)`` for i <= M, and the mass of the tail i > M (Euler-Maclaurin)."""
    i = np.arange(1, M + 1, dtype=np.float64)
    s = 1.0 + alpha
    tail = (M + 0.5) ** (1 - s) / (s - 1)  # sum_{i>M} i^-s ~ integral from M + 1/2
    return i ** -s, tail


def random_feature_loss(N: int, T: int | None = None, *, alpha: float = 0.5, M: int = 8192,
                        seed: int = 0) -> float:
    """Test loss of least squares on ``N`` random features of ``T`` samples (MRS 2022).

    Parameters
    ----------
    N : int
        Number of random features (the model size), ``N << M``.
    T : int, optional
        Training samples; ``None`` gives the unlimited-data optimum (the best linear map
        from features to target, computed exactly from the population covariance). With a
        finite ``T`` the min-norm least-squares fit is scored on the population.
    alpha : float, default 0.5
        Spectrum exponent; the loss scales as ``N^-alpha`` (and ``T^-alpha``).
    M : int, default 8192
        Latent dimensions simulated. The latent directions beyond M, which random features of
        ``N << M`` dimensions cannot resolve, add their expected mass ``sum_{i>M} lambda_i``
        analytically, so the result approximates the infinite-dimensional model.
    seed : int
        Draws ``w``, ``W`` (and the samples).

    Returns
    -------
    float
        Mean squared error on fresh inputs.
    """
    if not (isinstance(N, (int, np.integer)) and 1 <= N <= M):
        raise ValueError(f"`N` must be an integer in [1, M={M}], got {N!r}")
    if T is not None and not (isinstance(T, (int, np.integer)) and T >= 1):
        raise ValueError(f"`T` must be a positive integer or None, got {T!r}")
    if not alpha > 0:
        raise ValueError(f"`alpha` must be > 0, got {alpha!r}")
    lam, tail = _spectrum(alpha, M)
    # common random numbers: one target w per seed, and the features of a smaller N are the
    # first rows of a larger N's (row-major draws), so curves over N are nested, not noisy
    w = np.random.default_rng([seed, 0]).choice([-1.0, 1.0], size=M)  # E[w_i^2] = 1 exactly
    W = np.random.default_rng([seed, 1]).standard_normal((N, M)) / np.sqrt(M)
    rng = np.random.default_rng([seed, 2, 0 if T is None else T])
    root = np.sqrt(lam)
    if T is None:
        # population optimum: residual of projecting sqrt(lam) w onto the rows of W sqrt(lam)
        _, residual, rank, _ = np.linalg.lstsq((W * root).T, root * w, rcond=None)
        if residual.size:
            loss = float(residual[0])
        else:  # rank-deficient: compute the residual directly
            v = np.linalg.lstsq((W * root).T, root * w, rcond=None)[0]
            loss = float(np.sum((root * w - (W * root).T @ v) ** 2))
    else:
        x = rng.standard_normal((T, M)) * root
        v = np.linalg.lstsq(x @ W.T, x @ w, rcond=None)[0]
        loss = float(np.sum(lam * (w - W.T @ v) ** 2))
    return loss + tail


def random_feature_table(N_values, *, T: int | None = None, alpha: float = 0.5,
                         M: int = 8192, seeds=(0, 1, 2)) -> RunsTable:
    """Runs table of :func:`random_feature_loss` (mean over ``seeds``) for each N.

    ``N`` is the feature count (``N_convention='total'``); ``D`` is ``T`` when finite and
    absent otherwise (fit ``power-law`` with ``x='N'``).

    Examples
    --------
    >>> from scaling.fits import ScalingLawFit
    >>> table = random_feature_table([16, 32, 64, 128, 256, 512])
    >>> alpha = ScalingLawFit(law="power-law", x="N").fit(table).result_["alpha"]  # ~0.5
    """
    rows = []
    for N in N_values:
        loss = np.mean([random_feature_loss(int(N), T, alpha=alpha, M=M, seed=s)
                        for s in seeds])
        rows.append({"run_id": f"rf-N{int(N)}", "N": float(N), "loss": float(loss),
                     **({"D": float(T)} if T is not None else {})})
    return validate(pd.DataFrame(rows), n_convention="total", require_tokens=T is not None,
                    meta={"source": f"synthetic:random-features(alpha={alpha}, M={M})",
                          "theory": {"alpha": alpha},
                          # N counts random features (16..512), not LM parameters
                          "units_as_is": True})


def mlp_square_loss(width: int, *, steps: int = 3000, n_train: int = 1024, lr: float = 1e-2,
                    seed: int = 0) -> float:
    """Test MSE of a two-layer SiLU MLP of ``width`` trained on ``y = x^2`` (Liu & Tegmark).

    Full-batch Adam on ``n_train`` points ``x ~ U[-1, 1]``, scored on a dense grid.
    """
    import torch

    if not (isinstance(width, (int, np.integer)) and width >= 1):
        raise ValueError(f"`width` must be a positive integer, got {width!r}")
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train, 1, generator=gen, dtype=torch.float64) * 2 - 1
    grid = torch.linspace(-1, 1, 4001, dtype=torch.float64)[:, None]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(1, int(width)), torch.nn.SiLU(),
                                torch.nn.Linear(int(width), 1)).double()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.mean((model(x) - x ** 2) ** 2)
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        return float(torch.mean((model(grid) - grid ** 2) ** 2))


def mlp_square_table(widths, *, steps: int = 3000, seeds=(0, 1, 2)) -> RunsTable:
    """Runs table of :func:`mlp_square_loss` (mean over ``seeds``) for each width."""
    rows = [{"run_id": f"mlp-N{int(n)}", "N": float(n),
             "loss": float(np.mean([mlp_square_loss(int(n), steps=steps, seed=s)
                                    for s in seeds]))} for n in widths]
    return validate(pd.DataFrame(rows), n_convention="total", require_tokens=False,
                    meta={"source": "synthetic:mlp-x^2", "theory": {"alpha": 1.0},
                          # N counts hidden units (4..64), not LM parameters
                          "units_as_is": True})
