"""scikit-learn's parameter protocol for our estimators (``get_params``/``set_params``),
so ``sklearn.base.clone`` and grid-search tools work without importing scikit-learn.

:func:`clone` is how every refit (backtests, calibration, warm refits) copies the user's
estimator: every hyperparameter (``fixed``, ``tied``, ``prior``, ``y``, the row
selection...) comes along unless a change names it, so no refit can silently drop a
constraint the way a hand-written list of hyperparameters did."""

from __future__ import annotations

import copy
import inspect

__all__ = ["EstimatorParams", "clone"]


class EstimatorParams:
    """Hyperparameters are the keyword arguments of ``__init__``, stored unchanged as
    attributes of the same name (the scikit-learn estimator contract)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(name for name, p in signature.parameters.items()
                      if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict:
        """The constructor's arguments as set on this estimator."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "EstimatorParams":
        """Set constructor arguments; unknown names raise ``ValueError``."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}; "
                                 f"its parameters are {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def clone(estimator: EstimatorParams, **changes) -> EstimatorParams:
    """A new, unfitted estimator with ``estimator``'s hyperparameters (deep-copied, so
    the two never share a mutable ``fixed`` or ``bounds``), except ``changes``.

    Raises
    ------
    ValueError
        When a change names something that is not a hyperparameter of the estimator.

    Examples
    --------
    >>> from scaling.fits import ScalingLawFit
    >>> est = ScalingLawFit(law="chinchilla", fixed={"E": 1.69})
    >>> clone(est, drop_highest=0).fixed
    {'E': 1.69}
    """
    params = copy.deepcopy(estimator.get_params())
    valid = type(estimator)._param_names()
    unknown = [name for name in changes if name not in valid]
    if unknown:
        raise ValueError(f"{unknown} are not parameters of {type(estimator).__name__}; its "
                         f"parameters are {valid}")
    params.update(changes)
    return type(estimator)(**params)
