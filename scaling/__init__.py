"""scaling: plan language-model training with scaling laws.

The CLI's verbs are functions here too (:mod:`scaling.api`, imported on first use so that
``import scaling`` stays light): ``scaling.fit``, ``predict``, ``plan``, ``check``,
``isoflop``, ``l2l``, ``compare`` (and ``scaling.api.loop``: ``scaling.loop`` is the
loop's own module, ``scaling.loop.run_loop``).
"""

_API = ("fit", "predict", "plan", "check", "isoflop", "l2l", "compare", "load")


def __getattr__(name):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))
