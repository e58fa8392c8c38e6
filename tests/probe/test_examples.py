"""End to end on every example in examples/: each broken one is diagnosed with its fault among
the top three warnings or errors; each healthy one has no error and at most one warning.

Real torch, real data (sklearn's bundled sets), the real knowledge base. Runs are kept short
(--steps 100) so the whole file takes a few minutes on two CPU cores."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.probing.api import run_setup
from advisor.probing.context import ProbeOptions
from advisor.probing.setup import load_setup

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STEPS, BUDGET = 100, 600.0  # the steps bound the run; the budget is only a cap

EXPECTED = {
    "batchnorm_batch_of_four": ["batchnorm_small_batch"],
    "cannot_overfit_batch_mean": ["cannot_overfit_small_batch"],
    "class_imbalance_fraud": ["class_imbalance"],
    "dead_relu_negative_bias": ["dead_relu"],
    "excessive_dropout": ["excessive_dropout"],
    "exploding_deep_regression": ["exploding_gradients", "nonfinite_values"],
    "hyperparameter_momentum_0995": ["hyperparameter_out_of_range"],
    "lr_too_high_sgd": ["lr_too_high"],
    "lr_too_low_sgd": ["lr_too_low"],
    "model_left_in_eval_mode": ["model_in_eval_mode"],
    "mse_on_class_indices": ["loss_task_mismatch"],
    "outlier_regression_targets": ["outlier_targets"],
    "output_size_too_small": ["output_size_mismatch"],
    "overfitting_tiny_train_set": ["overfitting", "too_many_parameters"],
    "saturated_tanh_raw_features": ["saturated_activations"],
    "softmax_before_cross_entropy": ["output_activation_mismatch"],
    "softmax_multilabel": ["softmax_for_multilabel"],
    "suspicious_random_labels": ["suspicious_labels"],
    "symmetric_constant_init": ["symmetric_init"],
    "target_shape_broadcast": ["target_shape_mismatch"],
    "train_val_unnormalized_val": ["train_val_mismatch"],
    "underfitting_linear_circles": ["underfitting"],
    "unnormalized_raw_features": ["unnormalized_inputs"],
    "unshuffled_sorted_labels": ["unshuffled_data"],
    "untrained_head_not_in_optimizer": ["untrained_parameters"],
    "vanishing_deep_sigmoid": ["vanishing_gradients"],
}
ALL = sorted(p.stem for p in EXAMPLES.glob("[a-z]*.py"))
HEALTHY = [n for n in ALL if n.startswith("healthy_")]


def probe_example(name: str):
    report = run_setup(load_setup(str(EXAMPLES / f"{name}.py")),
                       ProbeOptions(steps=STEPS, budget=BUDGET, quiet=True))
    assert not report.details.get("internal_errors"), report.details["internal_errors"]
    return report


def test_every_example_is_classified():
    assert set(ALL) == set(EXPECTED) | set(HEALTHY), "add new examples to EXPECTED"
    assert len(ALL) >= 16


def test_the_required_faults_are_covered():
    required = {
        "lr_too_high", "lr_too_low", "exploding_gradients", "vanishing_gradients", "dead_relu",
        "saturated_activations", "nonfinite_values", "unnormalized_inputs",
        "output_activation_mismatch", "softmax_for_multilabel", "loss_task_mismatch",
        "output_size_mismatch", "overfitting", "underfitting", "unshuffled_data",
        "symmetric_init", "batchnorm_small_batch", "excessive_dropout",
        "hyperparameter_out_of_range", "too_many_parameters", "outlier_targets",
        "class_imbalance", "cannot_overfit_small_batch", "untrained_parameters",
        "target_shape_mismatch", "suspicious_labels", "train_val_mismatch", "model_in_eval_mode",
    }
    assert required <= {i for ids in EXPECTED.values() for i in ids}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_example_is_diagnosed(name):
    report = probe_example(name)
    top = report.ids("error", "warning")[:3]
    for expected in EXPECTED[name]:
        assert expected in top, f"{name}: expected {expected} in top 3, got {top}"


@pytest.mark.slow
@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_example_is_clean(name):
    report = probe_example(name)
    assert report.ids("error") == [], report.ids()
    assert len(report.ids("warning")) <= 1, report.ids()
