import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from scaling.data.schedules import (
    SCHEDULE_KINDS,
    Schedule,
    annealing_area,
    as_schedule,
    forward_area,
    lr_schedule,
)

NAN = float("nan")
# The 25M rows of the Multi-Power Law runs.csv, as a runs-table loader yields them.
MULTIPOWER_25M = [
    {"run_id": run_id, "model": "25M", "schedule": kind, "warmup_steps": 2160,
     "peak_lr": 3e-4, "end_lr": end, "decay_start": k, "total_steps": T}
    for run_id, kind, end, k, T in [
        ("25M/constant_24000", "constant", 3e-4, NAN, 24000),
        ("25M/constant_72000", "constant", 3e-4, NAN, 72000),
        ("25M/cosine_24000", "cosine", 3e-5, NAN, 24000),
        ("25M/cosine_72000", "cosine", 3e-5, NAN, 72000),
        ("25M/wsd_20000_24000", "wsd_exp", 3e-5, 20000.0, 24000),
        ("25M/wsdld_20000_24000", "wsd_linear", 3e-5, 20000.0, 24000),
        ("25M/wsdcon_3", "two_stage", 3e-5, 8000.0, 16000),
        ("25M/wsdcon_9", "two_stage", 9e-5, 8000.0, 16000),
        ("25M/wsdcon_18", "two_stage", 1.8e-4, 8000.0, 16000),
    ]
]
RUNS_CSV = [Path(__file__).resolve().parents[2] / "data/datasets/multipower_runs.csv",
            Path("/work/shared/datasets/multipower/runs.csv")]


def readme_lr(schedule, warmup_steps, peak_lr, end_lr, decay_start, total_steps, **_):
    """The per-step LR rules of the dataset README, transcribed term by term."""
    w, peak, end, k, T = warmup_steps, peak_lr, end_lr, decay_start, total_steps
    t = np.arange(T)
    lr = np.empty(T)
    lr[:w] = peak * t[:w] / (w - 1)
    s = t[w:]
    if schedule == "constant":
        lr[w:] = peak
    elif schedule == "cosine":
        lr[w:] = end + (peak - end) * (1 + np.cos(np.pi * (s - w) / (T - w))) / 2
    else:
        k = int(k)
        decay = {
            "wsd_linear": lambda t: peak + (end - peak) * (t - k) / (T - k),
            "wsd_exp": lambda t: peak ** ((T - t) / (T - k)) * end ** ((t - k) / (T - k)),
            "two_stage": lambda t: np.full(t.shape, end),
        }[schedule]
        lr[w:k] = peak
        lr[k:] = decay(t[k:])
    return lr


def readme_lr_scalar(schedule, warmup_steps, peak_lr, end_lr, decay_start, total_steps, **_):
    w, peak, end, k, T = warmup_steps, peak_lr, end_lr, decay_start, total_steps
    out = []
    for t in range(T):
        if t < w:
            out.append(peak * t / (w - 1))
        elif schedule == "constant" or (schedule != "cosine" and t < k):
            out.append(peak)
        elif schedule == "cosine":
            out.append(end + (peak - end) * (1 + math.cos(math.pi * (t - w) / (T - w))) / 2)
        elif schedule == "wsd_linear":
            out.append(peak + (end - peak) * (t - k) / (T - k))
        elif schedule == "wsd_exp":
            out.append(peak ** ((T - t) / (T - k)) * end ** ((t - k) / (T - k)))
        else:
            out.append(end)
    return np.array(out)


@pytest.mark.parametrize("row", MULTIPOWER_25M, ids=lambda r: r["run_id"])
def test_multipower_schedules_reproduce_readme_formulas(row):
    lr = lr_schedule(Schedule.from_dict(row, strict=False))
    assert lr.dtype == np.float64 and lr.shape == (row["total_steps"],)
    np.testing.assert_array_equal(lr, readme_lr(**row))
    np.testing.assert_allclose(lr, readme_lr_scalar(**row), rtol=1e-15, atol=0)
    np.testing.assert_allclose(lr[:2160], np.linspace(0, 3e-4, 2160), rtol=1e-15, atol=0)


def test_inline_rows_match_bundled_runs_csv():
    path = next((p for p in RUNS_CSV if p.exists()), None)
    if path is None:
        pytest.skip("multipower runs.csv not found")
    with open(path, newline="") as f:
        rows = {r["run_id"]: r for r in csv.DictReader(f) if r["model"] == "25M"}
    assert sorted(rows) == sorted(r["run_id"] for r in MULTIPOWER_25M)
    for mine in MULTIPOWER_25M:
        theirs = rows[mine["run_id"]]
        assert theirs["schedule"] == mine["schedule"]
        for key in ("warmup_steps", "peak_lr", "end_lr", "decay_start", "total_steps"):
            expected = float(theirs[key]) if theirs[key] else NAN
            np.testing.assert_equal(float(mine[key]), expected)


DECAYING = {
    "cosine": dict(kind="cosine"),
    "cosine_stable_first": dict(kind="cosine", decay_start=400),
    "linear": dict(kind="linear"),
    "wsd_linear": dict(kind="wsd", decay_start=600),
    "wsd_exp": dict(kind="wsd", cooldown="exp", cooldown_frac=0.2),
    "wsd_1sqrt": dict(kind="wsd", cooldown="1-sqrt", decay_start=700),
    "wsd_cosine": dict(kind="wsd", cooldown="cosine", decay_start=500),
    "mp_wsd_exp": dict(kind="wsd_exp", decay_start=900),
    "mp_wsd_linear": dict(kind="wsd_linear", decay_start=900),
    "two_stage": dict(kind="two_stage", decay_start=500),
    "rewarm": dict(kind="rewarm", rewarm_start=300, rewarm_steps=50, base=dict(
        kind="cosine", peak_lr=2e-3, end_lr=1e-4, warmup_steps=20, total_steps=300)),
}


@pytest.mark.parametrize("name", DECAYING)
def test_decaying_kinds_are_non_increasing_after_warmup_and_end_at_end_lr(name):
    spec = dict(peak_lr=1e-3, end_lr=1e-5, warmup_steps=100, total_steps=1000)
    spec.update(DECAYING[name])
    if name == "rewarm":
        del spec["warmup_steps"]  # the base schedule carries the warmup
    s = as_schedule(spec)
    lr = s.lr()
    assert lr.shape == (1000,) and lr.dtype == np.float64
    start = 350 if s.kind == "rewarm" else 100  # rewarm: after the climb back to peak
    assert lr[start] == 1e-3 and lr[start:].max() == 1e-3
    assert np.all(np.diff(lr[start:]) <= 0)
    assert lr[-1] >= 1e-5 and lr.min() >= 0
    np.testing.assert_array_equal(s.lr_at([1000, 5000]), [1e-5, 1e-5])
    if s.kind != "rewarm":
        assert lr[0] == 0 and lr[99] == 1e-3 and np.all(np.diff(lr[:100]) > 0)


def test_linear_defaults_to_decay_to_zero():
    lr = lr_schedule({"kind": "linear", "peak_lr": 1.0, "total_steps": 4})
    np.testing.assert_array_equal(lr, [1.0, 0.75, 0.5, 0.25])
    assert Schedule("linear", peak_lr=1.0, total_steps=4).lr_at(4) == 0


def test_constant_schedule_and_warmup_variants():
    np.testing.assert_array_equal(lr_schedule(dict(kind="constant", peak_lr=2.0), 3), [2.0] * 3)
    one = lr_schedule(dict(kind="constant", peak_lr=2.0, warmup_steps=1, total_steps=3))
    np.testing.assert_array_equal(one, [0.0, 2.0, 2.0])  # linspace(0, peak, 1) == [0]
    lr = Schedule("cosine", peak_lr=1.0, warmup_steps=3, warmup="constant", warmup_lr=0.1,
                  total_steps=10).lr()
    np.testing.assert_array_equal(lr[:4], [0.1, 0.1, 0.1, 1.0])


def test_wsd_cooldown_shapes_follow_their_formulas():
    base = dict(kind="wsd", peak_lr=1e-3, end_lr=1e-4, decay_start=40, total_steps=100)
    t = np.arange(40, 100)
    x = (t - 40) / 60
    sqrt = lr_schedule({**base, "cooldown": "1-sqrt"})[40:]
    np.testing.assert_allclose(sqrt, 1e-4 + 9e-4 * (1 - np.sqrt(x)), rtol=1e-14)
    geo = lr_schedule({**base, "cooldown": "exp"})[40:]
    np.testing.assert_allclose(geo[1:] / geo[:-1], 0.1 ** (1 / 60), rtol=1e-12)
    np.testing.assert_allclose(lr_schedule({**base, "cooldown": "cosine"})[40:],
                               1e-4 + 9e-4 * (1 + np.cos(np.pi * x)) / 2, rtol=1e-14)


def test_cooldown_frac_sets_the_first_decay_step():
    s = Schedule("wsd", peak_lr=1.0, end_lr=0.0, cooldown_frac=0.25, total_steps=1000)
    lr = s.lr()
    assert lr[749] == 1.0 and lr[750] == 1.0 and lr[751] < 1.0
    assert "from step 750 to 1000" in s.describe()
    assert s.lr(2000)[1499] == 1.0 and s.lr(2000)[1501] < 1.0  # re-planned for a new length


def test_step_schedule_multiplies_by_factor_at_each_milestone():
    lr = lr_schedule(dict(kind="step", peak_lr=1.0, milestones=[3, 6], factor=0.5,
                          warmup_steps=2, total_steps=8))
    np.testing.assert_array_equal(lr, [0, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])


def test_rewarm_follows_base_then_climbs_then_redecays():
    base = dict(kind="wsd", peak_lr=3e-4, end_lr=3e-5, warmup_steps=10, decay_start=60,
                total_steps=100)
    s = Schedule("rewarm", base=base, rewarm_start=80, rewarm_steps=20, peak_lr=2e-4,
                 end_lr=1e-5, total_steps=200, redecay="linear")
    lr = s.lr()
    np.testing.assert_array_equal(lr[:80], lr_schedule(base)[:80])
    np.testing.assert_allclose(lr[80:100], np.linspace(lr[79], 2e-4, 21)[1:], rtol=1e-13)
    t = np.arange(100, 200)
    np.testing.assert_allclose(lr[100:], 2e-4 + (1e-5 - 2e-4) * (t - 100) / 100, rtol=1e-14)
    cos = Schedule("rewarm", base=base, rewarm_start=100, peak_lr=2e-4, total_steps=150)
    lr = cos.lr()
    assert lr[99] == lr_schedule(base)[99] and lr[100] == 2e-4
    np.testing.assert_allclose(lr[100:], 1e-4 * (1 + np.cos(np.pi * np.arange(50) / 50)))


def test_from_log_interpolates_linearly_and_holds_the_ends():
    # a rising start (warmup logged from step 10) continues back along its line, to >= 0
    s = Schedule.from_log(np.array([10, 20, 40]), [1.0, 2.0, 0.5])
    lr = s.lr()
    assert lr.shape == (41,)
    np.testing.assert_allclose(lr[[0, 9, 10, 15, 20, 30, 40]], [0, 0.9, 1, 1.5, 2, 1.25, 0.5])
    # a falling or flat start holds the first logged value
    flat = Schedule.from_log(np.array([10, 20]), [2.0, 1.0]).lr()
    np.testing.assert_array_equal(flat[[0, 9, 10, 15, 20]], [2, 2, 2, 1.5, 1])
    steep = Schedule.from_log(np.array([10, 12]), [1.0, 2.0]).lr()  # clipped at 0
    np.testing.assert_allclose(steep[[0, 7, 8, 9]], [0, 0, 0, 0.5])
    np.testing.assert_array_equal(s.lr(60)[40:], 0.5)
    assert s.lr(5).shape == (5,)
    assert as_schedule(s.to_dict()) == s


@pytest.mark.parametrize("steps, lr, match", [
    ([0, 20, 20], [1.0, 1.0, 1.0], r"`log_steps` must be strictly increasing; step 20 at "
                                   r"index 2 follows 20"),
    ([0, 30, 20], [1.0, 1.0, 1.0], "`log_steps` must be strictly increasing"),
    ([0, NAN, 20], [1.0, 1.0, 1.0], r"`log_steps` must be finite and >= 0 .*indices \[1\]"),
    ([0, 10, 20], [1.0, NAN, 1.0], r"`log_lr` must be finite and >= 0 .*indices \[1\]"),
    ([0, 10, 20], [1.0, -1.0, 1.0], r"`log_lr` must be finite and >= 0"),
    ([0, 10], [1.0, 1.0, 1.0], "`log_steps` and `log_lr` must be non-empty 1-D"),
    ([], [], "`log_steps` and `log_lr` must be non-empty 1-D"),
    ([0, 1.5], [1.0, 1.0], "`log_steps` must be integer steps"),
])
def test_from_log_rejects_bad_logs(steps, lr, match):
    with pytest.raises(ValueError, match=match):
        Schedule.from_log(steps, lr)


def loop_s1(lr):
    out, total = [], 0.0
    for x in lr:
        total += x
        out.append(total)
    return np.array(out)


def loop_s2(lr, decay):
    out, m, total = [0.0], 0.0, 0.0
    for i in range(1, len(lr)):
        m = decay * m + (lr[i - 1] - lr[i])
        total += m
        out.append(total)
    return np.array(out)


LAWS_LR = lr_schedule(dict(kind="wsd", cooldown="1-sqrt", peak_lr=3e-4, end_lr=3e-5,
                           warmup_steps=50, decay_start=300, total_steps=500))


def test_forward_area_matches_python_loop():
    np.testing.assert_allclose(forward_area(LAWS_LR), loop_s1(LAWS_LR), rtol=1e-12)
    stacked = forward_area(np.stack([LAWS_LR, LAWS_LR[::-1]]))
    np.testing.assert_allclose(stacked[1], loop_s1(LAWS_LR[::-1]), rtol=1e-12)


@pytest.mark.parametrize("decay", [0.0, 0.5, 0.999, 1.0])
def test_annealing_area_matches_python_loop(decay):
    s2 = annealing_area(LAWS_LR, decay)
    assert s2[0] == 0 and s2.shape == LAWS_LR.shape
    np.testing.assert_allclose(s2, loop_s2(LAWS_LR, decay), rtol=1e-10, atol=1e-18)
    stacked = annealing_area(np.stack([LAWS_LR, LAWS_LR[::-1]]), decay)
    np.testing.assert_allclose(stacked[1], loop_s2(LAWS_LR[::-1], decay), rtol=1e-10,
                               atol=1e-18)


def test_area_helpers_reject_bad_input():
    with pytest.raises(ValueError, match=r"`decay` must be in \[0, 1\], got 1.5"):
        annealing_area(LAWS_LR, 1.5)
    with pytest.raises(ValueError, match="`lr` must be a finite array"):
        forward_area([1.0, NAN])


SPECS = [
    dict(kind="constant", peak_lr=1e-3, total_steps=10),
    dict(kind="step", peak_lr=1.0, total_steps=10, milestones=[3, 6], factor=0.5,
         warmup_steps=2, warmup="constant", warmup_lr=0.1),
    dict(kind="wsd", peak_lr=3e-4, end_lr=3e-5, warmup_steps=2, cooldown_frac=0.2,
         cooldown="1-sqrt", total_steps=50),
    dict(kind="rewarm", base=dict(kind="cosine", peak_lr=1.0, total_steps=30),
         rewarm_start=20, rewarm_steps=5, peak_lr=0.5, end_lr=0.01, total_steps=60),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s["kind"])
def test_to_dict_round_trips_through_json(spec):
    s = as_schedule(spec)
    back = Schedule.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s
    np.testing.assert_array_equal(back.lr(), s.lr())


def test_describe_reads_like_a_sentence():
    s = Schedule("wsd", total_steps=16000, peak_lr=3e-4, end_lr=3e-5, warmup_steps=2160,
                 decay_start=8000, cooldown="1-sqrt")
    assert s.describe() == ("WSD, 1-sqrt cooldown from step 8000 to 16000, peak 3e-4 -> "
                            "3e-5, 2160 linear warmup steps")
    two = Schedule.from_dict(MULTIPOWER_25M[6], strict=False).describe()
    assert two == ("two-stage, peak 3e-4 until step 8000, then 3e-5 to step 16000, "
                   "2160 linear warmup steps")
    assert Schedule("cosine", peak_lr=1.0).describe().startswith("cosine decay from step 0 to ?")
    assert as_schedule(SPECS[3]).describe().startswith("rewarm at step 20 over 5 steps to 0.5")


T = dict(peak_lr=1e-3, total_steps=100)


@pytest.mark.parametrize("spec, match", [
    (dict(kind="cosin", **T), r"`kind` must be one of \['constant', 'cosine', .*got 'cosin'"),
    (dict(kind="cosine", peak_lr=-1e-3, total_steps=100),
     "`peak_lr` must be a finite number >= 0, got -0.001"),
    (dict(kind="cosine", end_lr=math.inf, **T), "`end_lr` must be a finite number >= 0, got inf"),
    (dict(kind="cosine", total_steps=100), "`peak_lr` is required for kind 'cosine'"),
    (dict(kind="cosine", peak_lr=1e-3, total_steps=0),
     "`total_steps` must be an integer >= 1, got 0"),
    (dict(kind="cosine", warmup_steps=2.5, **T), "`warmup_steps` must be an integer >= 0"),
    (dict(kind="cosine", warmup_steps=100, **T),
     r"`warmup_steps` must be < `total_steps` \(100\), got 100"),
    (dict(kind="cosine", end_lr=2e-3, **T),
     r"`end_lr` \(0.002\) must be <= `peak_lr` \(0.001\) for kind 'cosine'"),
    (dict(kind="wsd", decay_start=100, **T), r"`decay_start` must put the first decay step "
                                             r"in \[warmup_steps, total_steps\) = \[0, 100\)"),
    (dict(kind="wsd", warmup_steps=10, decay_start=5, **T), r"= \[10, 100\), got step 5"),
    (dict(kind="wsd", warmup_steps=90, cooldown_frac=0.5, **T), "`cooldown_frac` must put"),
    (dict(kind="wsd", cooldown_frac=1.5, **T), r"`cooldown_frac` must be in \(0, 1\]"),
    (dict(kind="wsd", **T), "kind 'wsd' needs `decay_start` or `cooldown_frac`"),
    (dict(kind="two_stage", **T), "kind 'two_stage' needs `decay_start` or `cooldown_frac`"),
    (dict(kind="wsd", decay_start=5, cooldown_frac=0.2, **T),
     "give only one of `decay_start` and `cooldown_frac`"),
    (dict(kind="wsd", decay_start=5, cooldown="sqrt", **T),
     r"`cooldown` must be one of \['1-sqrt', 'cosine', 'exp', 'linear'\], got 'sqrt'"),
    (dict(kind="wsd_exp", decay_start=5, cooldown="linear", end_lr=1e-4, **T),
     "`cooldown` must be 'exp' for kind 'wsd_exp', got 'linear'"),
    (dict(kind="wsd_exp", decay_start=5, **T), "`end_lr` must be > 0 for an 'exp' cooldown"),
    (dict(kind="constant", end_lr=1e-4, **T), "`end_lr` must equal `peak_lr` or be omitted"),
    (dict(kind="constant", decay_start=5, **T), "`decay_start` is not used by kind 'constant'"),
    (dict(kind="cosine", milestones=[5], **T), "`milestones` is not used by kind 'cosine'"),
    (dict(kind="cosine", warmup="cosine", **T),
     r"`warmup` must be one of \['constant', 'linear'\], got 'cosine'"),
    (dict(kind="cosine", warmup_steps=5, warmup="constant", **T),
     "`warmup_lr` is required when warmup='constant'"),
    (dict(kind="cosine", warmup_lr=1e-4, **T), "`warmup_lr` is only used with warmup='const"),
    (dict(kind="step", milestones=[50, 20], **T), r"`milestones` must be strictly increasing "
                                                  r"steps in \[warmup_steps, total_steps\)"),
    (dict(kind="step", milestones=[150], **T), r"= \[0, 100\), got \[150\]"),
    (dict(kind="step", milestones=[50], factor=2.0, **T), r"`factor` must be in \[0, 1\]"),
    (dict(kind="rewarm", **T), "kind 'rewarm' needs `base`"),
    (dict(kind="rewarm", base=dict(kind="constant", peak_lr=1.0), rewarm_start=90,
          rewarm_steps=10, **T), r"`total_steps` must be > rewarm_start \+ rewarm_steps"),
    (dict(kind="rewarm", base=dict(kind="constant", peak_lr=1.0), rewarm_start=50,
          redecay="exp", **T), r"`redecay` must be one of \['cosine', 'linear'\]"),
    (dict(kind="rewarm", base=dict(kind="cosine", peak_lr=1.0, warmup_steps=60),
          rewarm_start=50, **T), r"`warmup_steps` must be < `total_steps` \(50\)"),
    (dict(kind="cosine", N=3, **T), r"unknown schedule fields \['N'\]; valid fields are"),
    (dict(peak_lr=1.0), "`kind` is required, one of"),
])
def test_invalid_specs_raise_naming_the_field(spec, match):
    with pytest.raises(ValueError, match=match):
        lr_schedule(spec)


def test_missing_length_and_bad_spec_types_raise():
    with pytest.raises(ValueError, match="`total_steps` is required for kind 'cosine'"):
        lr_schedule({"kind": "cosine", "peak_lr": 1.0})
    with pytest.raises(ValueError, match="`decay_start` must put the first decay step"):
        lr_schedule(dict(kind="wsd", peak_lr=1.0, decay_start=80, total_steps=100), 50)
    with pytest.raises(TypeError, match="must be a Schedule or a dict, got list"):
        as_schedule([1, 2])
    with pytest.raises(ValueError, match="`steps` must be finite and >= 0"):
        Schedule("constant", peak_lr=1.0, total_steps=5).lr_at([-1])


def test_every_kind_is_covered():
    covered = {s["kind"] for s in DECAYING.values()} | {"constant", "step", "from_log"}
    assert covered == set(SCHEDULE_KINDS)
