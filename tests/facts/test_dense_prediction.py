"""Dense prediction (segmentation, super-resolution): one decision per pixel, not one label
per image with H*W classes (issue 9). Pure judgements on shapes and numpy arrays."""

from __future__ import annotations

import numpy as np

from advisor.facts.labels import judge_regression_targets, robust_outlier_fraction
from advisor.facts.task import dense_channels, infer_task


def _masks(n: int = 6, size: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), dtype=np.float32)
    for i in range(n):
        y, x = rng.integers(2, size - 6, size=2)
        masks[i, y:y + 5, x:x + 5] = 1.0
    return masks


def test_a_mask_against_one_logit_channel_is_binary_per_pixel():
    masks = _masks()
    task = infer_task(None, "bce_with_logits", (6, 1, 16, 16), masks)
    assert task.kind == "binary"
    assert task.output_size == 1 and task.num_classes == 2


def test_several_batches_of_masks_flattened_are_still_judged_per_pixel():
    """The scan hands all targets flattened per sample; one batch's shape says what they are."""
    masks = _masks(n=12).reshape(12, -1)
    task = infer_task(None, "bce_with_logits", (1, 1, 16, 16), masks, target_shape=(1, 16, 16))
    assert task.kind == "binary" and task.output_size == 1


def test_channel_per_label_masks_are_multilabel_over_the_channels():
    masks = np.stack([_masks(seed=1), _masks(seed=2), _masks(seed=3)], 1)  # (6, 3, 16, 16)
    task = infer_task(None, "bce", (6, 3, 16, 16), masks)
    assert task.kind == "multilabel" and task.num_classes == 3 and task.output_size == 3


def test_dense_channels_leaves_sequences_and_tables_alone():
    assert dense_channels((8, 20, 5), (8, 20, 5)) is None      # (N, T, F): features last
    assert dense_channels((8, 4), (8, 4)) is None
    assert dense_channels((8, 1), (8,)) is None                 # the broadcast bug stays one
    assert dense_channels((8, 1, 9, 9), (8, 9, 9)) == 1
    # the old reading, kept for a flat multilabel task
    task = infer_task(None, "bce_with_logits", (6, 5), (np.random.default_rng(0).random((6, 5))
                                                        > 0.5).astype(np.float32))
    assert task.kind == "multilabel" and task.num_classes == 5


def test_pixels_on_a_zero_background_are_not_outliers():
    """Super-resolution targets: most pixels of a border column are exactly 0; the few that
    are not are the image, judged among themselves."""
    rng = np.random.default_rng(0)
    column = np.zeros(400)
    column[:60] = rng.uniform(0.2, 1.0, size=60)
    assert robust_outlier_fraction(column) < 0.01
    images = np.zeros((400, 8, 8))
    images[:, 2:6, 2:6] = rng.uniform(0, 1, size=(400, 4, 4))
    images[:40, 0, :] = rng.uniform(0.1, 0.9, size=(40, 8))
    assert judge_regression_targets(images.reshape(400, -1)).facts[
        "data.target_outlier_fraction"] < 0.01


def test_a_real_outlier_off_the_point_mass_still_counts():
    rng = np.random.default_rng(1)
    column = np.zeros(400)
    column[:100] = rng.normal(1.0, 0.1, size=100)
    column[:8] = 50.0
    assert robust_outlier_fraction(column) >= 0.01


def test_dense_regression_targets_are_judged_pooled():
    """A pixel's values over the images follow the images (a stroke now and then at a border
    pixel): pooled, the image's values have no outliers; a map scaled by 100 still has."""
    rng = np.random.default_rng(2)
    images = np.zeros((300, 10, 10))
    images[:, 3:7, 3:7] = rng.uniform(0.3, 1.0, size=(300, 4, 4))
    strokes = rng.random((300, 10, 10)) < 0.03  # rare bright pixels anywhere
    images[strokes] = rng.uniform(0.5, 1.0, size=int(strokes.sum()))
    flat = images.reshape(300, -1)
    assert judge_regression_targets(flat).facts["data.target_outlier_fraction"] >= 0.01
    assert judge_regression_targets(flat, dense=True).facts["data.target_outlier_fraction"] < 0.01
    broken = images.copy()
    broken[:20] *= 100  # one map in 15
    assert judge_regression_targets(broken.reshape(300, -1), dense=True).facts[
        "data.target_outlier_fraction"] >= 0.01
