"""scikit-learn's parameter protocol for our estimators (``get_params``/``set_params``),
so ``sklearn.base.clone`` and grid-search tools work without importing scikit-learn."""

from __future__ import annotations

import inspect

__all__ = ["EstimatorParams"]


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
