"""Import boundaries: `import fits` / `import data` never pull torch or matplotlib."""

import subprocess
import sys


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(','.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


def test_fits_and_data_do_not_import_torch_or_matplotlib():
    loaded = _loaded_after("from scaling import fits, data")
    assert "torch" not in loaded
    assert "matplotlib" not in loaded


def test_cli_help_is_light():
    loaded = _loaded_after("import cli")
    assert "torch" not in loaded and "scipy" not in loaded


def test_options_objects_are_public_in_scaling_fits():
    # the settings objects of the wide entry points, with their keywords as fields
    import dataclasses

    from scaling import fits

    for name in ("FitLawOptions", "CurveFitOptions", "PrefixOptions", "JointFitOptions",
                 "L2LOptions", "ChainOptions", "PlanOptions", "RobustOptions",
                 "PredictOptions", "MultistartOptions", "IsoflopOptions"):
        assert name in fits.__all__
        assert dataclasses.is_dataclass(getattr(fits, name)), name
    assert "level" in {f.name for f in dataclasses.fields(fits.PrefixOptions)}
