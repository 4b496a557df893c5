"""The permutation-equivalence experiment (2021 App. A, App. Fig. 1) on real data."""

import numpy as np
import torch

from hyperreps.data import DatasetSplits
from hyperreps.zoos.permutation_equivalence import equivalence_settings, permutation_equivalence
from helpers import small_split


def test_permuted_model_predicts_and_trains_as_the_original(digits):
    model = dict(seed=3, init="uniform", lr=3e-4, weight_decay=0.0, dropout=0.3,
                 activation="tanh", optimizer="adam", batch_size=10)
    spec, settings = equivalence_settings(model, epochs=3)
    assert spec.dropout == 0.0 and settings.shuffle_seed == 3
    data = DatasetSplits(digits.name, small_split(digits.train, 200), digits.val, digits.test)
    table = permutation_equivalence(spec, settings, data, seed=1, dtype=torch.float64)
    assert table["epoch"].tolist() == [0, 1, 2, 3]
    assert table["permuted_fraction"].iloc[0] > 0.5  # a real permutation
    # forward: the permuted model has the original's accuracy at every epoch
    np.testing.assert_array_equal(table["test_acc_Ap"], table["test_acc_A"])
    # backward: B, trained from the permuted start, stays the permuted A (float64 rounding)
    assert table["max_abs_diff"].iloc[0] == 0
    assert (table["rel_diff"] < 1e-9).all()
    np.testing.assert_allclose(table["test_acc_B"], table["test_acc_A"])
    np.testing.assert_allclose(table["train_acc_B"], table["train_acc_A"], atol=1e-12)
