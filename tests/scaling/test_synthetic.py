"""Synthetic oracles (scaling.synthetic) recover their known exponents through `fits`."""

import warnings

import numpy as np
import pytest

from scaling.fits import FitWarning, ScalingLawFit
from scaling.synthetic import (
    mlp_square_loss,
    mlp_square_table,
    random_feature_loss,
    random_feature_table,
)


def fitted_alpha(table) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitWarning)
        return ScalingLawFit(law="power-law", x="N").fit(table).result_["alpha"]


def test_random_features_recover_alpha_half_through_fits():
    table = random_feature_table([16, 32, 64, 128, 256, 512], alpha=0.5)
    assert abs(fitted_alpha(table) - 0.5) <= 0.05


def test_random_feature_loss_falls_with_samples_and_features():
    assert random_feature_loss(64) < random_feature_loss(16)
    assert random_feature_loss(512, T=256) < random_feature_loss(512, T=64)


def test_random_feature_loss_is_seeded():
    assert random_feature_loss(32, seed=3) == random_feature_loss(32, seed=3)
    assert random_feature_loss(32, seed=3) != random_feature_loss(32, seed=4)


def test_random_feature_arguments_are_checked():
    with pytest.raises(ValueError, match=r"`N` must be an integer in \[1, M=64\]"):
        random_feature_loss(65, M=64)
    with pytest.raises(ValueError, match="`T` must be a positive integer or None"):
        random_feature_loss(8, T=0)
    with pytest.raises(ValueError, match="`alpha` must be > 0"):
        random_feature_loss(8, alpha=0.0)


def test_random_features_with_finite_data_record_D():
    table = random_feature_table([8, 16], T=128, M=512, seeds=(0,))
    assert np.allclose(table.points["D"], 128)


def test_mlp_square_loss_falls_with_width():
    assert mlp_square_loss(16, steps=300) < mlp_square_loss(2, steps=300)


@pytest.mark.heavy
@pytest.mark.slow
def test_mlp_square_exponent_is_near_one():
    alpha = fitted_alpha(mlp_square_table([4, 8, 16, 32, 64], steps=3000))
    assert 0.5 <= alpha <= 2.0
