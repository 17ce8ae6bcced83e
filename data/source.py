"""DATA as the CLI and :mod:`scaling.api` take it: a path, a glob, ``bundled:NAME``, a
training log of any kind (told from the file), a DataFrame or a RunsTable."""

from __future__ import annotations

from typing import Mapping

__all__ = ["load_source"]


def load_source(data, *, columns: Mapping[str, str] | None = None, runs=None,
                log_format: str = "auto", model_size=None, tokens_per_step=None,
                require_size: bool = True):
    """``(RunsTable, kinds)``: the table DATA holds, and the log kinds it was read as
    (``{"table"}`` for runs tables; print them where the user should see what was found).

    Raises
    ------
    ValueError
        For a path or glob that matches nothing (naming the accepted forms), a training
        log without the model size it needs, and anything the loader rejects.
    """
    import pandas as pd

    from .bundled import load_dataset
    from .loaders import combine_tables, expand_paths, load_table
    from .logs.formats import get_format
    from .logs.sniff import load_log, sniff_log
    from .schema import RunsTable, validate

    if isinstance(data, RunsTable):
        return data, {"table"}
    if isinstance(data, pd.DataFrame):
        frame = data.rename(columns={old: new for new, old in (columns or {}).items()})
        return validate(frame, require_tokens=False, require_size=require_size), {"table"}
    data = str(data)
    if data.startswith("bundled:"):
        return load_dataset(data.split(":", 1)[1]), {"table"}
    if log_format != "auto":
        get_format(log_format)  # an unknown format is refused, naming the registered ones
    try:
        paths = expand_paths(data)  # one path, or a glob of several logs or tables
    except ValueError as err:
        what = str(err) if any(c in data for c in "*?[") else f"DATA {data!r} does not exist"
        raise ValueError(f"{what} (give a file, a directory, a glob such as 'out/*/wandb' in "
                         "quotes, or bundled:NAME; see `scaling datasets`)") from None
    kinds = {sniff_log(p) for p in paths} if log_format == "auto" else {log_format}
    if kinds == {"table"} and model_size is None and tokens_per_step is None:
        # curve laws need no token counts; point laws check for them and say so
        tables = [load_table(p, runs=runs, columns=columns, require_tokens=False,
                             require_size=require_size) for p in paths]
        return combine_tables(tables, paths), kinds
    # offline W&B runs keep their config, HF output folders (and the TensorBoard logs in
    # them) their config.json: the loaders say when it is missing
    if model_size is None and not all(get_format(k).records_size for k in kinds):
        raise ValueError(f"reading a {'/'.join(sorted(kinds))} log needs the model size: "
                         "--model-size N (124M, or run_a=124M,run_b=350M)")
    table = load_log(paths, None if log_format == "auto" else log_format, N=model_size,
                     tokens_per_step=tokens_per_step, columns=columns or None,
                     require_tokens=False)
    return table, kinds
