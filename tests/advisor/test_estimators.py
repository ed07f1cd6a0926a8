"""The performance models against scikit-learn's estimator checks.

Both models take physics, not free features: `SyncLatencyModel` a 1-D array of
`advisor.latency.Terms` (a configuration's roofline quantities and pooling keys),
`AsyncLoadModel` one of `advisor.load_fit.LoadCase` (a cell with its limits).
The checks that feed random numeric matrices cannot fit either one; each such check is listed
here with its reason, and every other check must pass.
"""

from __future__ import annotations

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from advisor.estimators import AsyncLoadModel, SyncLatencyModel

STRUCTURED_X = (
    "X must be the physics of real configurations (latency Terms, or load cases with their "
    "limits); random numeric matrices are not inputs"
)
DENSE_PHYSICS = "physical quantities are dense real numbers: no sparse or complex input"
CLEAN_MASK = (
    "sample_weight is a 0/1 mask of the rows that are clean enough to fit on, not a frequency "
    "weight; the error on an all-zero mask is the fit's own"
)

EXPECTED_FAILURES = {
    **dict.fromkeys(
        (
            "check_dict_unchanged",
            "check_dont_overwrite_parameters",
            "check_dtype_object",
            "check_estimators_dtypes",
            "check_estimators_empty_data_messages",
            "check_estimators_fit_returns_self",
            "check_estimators_nan_inf",
            "check_estimators_overwrite_params",
            "check_estimators_pickle",
            "check_f_contiguous_array_estimator",
            "check_fit2d_1feature",
            "check_fit2d_1sample",
            "check_fit2d_predict1d",
            "check_fit_check_is_fitted",
            "check_fit_idempotent",
            "check_fit_score_takes_y",
            "check_methods_sample_order_invariance",
            "check_methods_subset_invariance",
            "check_n_features_in",
            "check_n_features_in_after_fitting",
            "check_pipeline_consistency",
            "check_positive_only_tag_during_fit",
            "check_readonly_memmap_input",
            "check_regressor_data_not_an_array",
            "check_regressors_int",
            "check_regressors_no_decision_function",
            "check_regressors_train",
            "check_requires_y_none",
            "check_supervised_y_2d",
            "check_sample_weights_list",
            "check_sample_weights_not_an_array",
            "check_sample_weights_not_overwritten",
            "check_sample_weights_shape",
        ),
        STRUCTURED_X,
    ),
    **dict.fromkeys(
        (
            "check_complex_data",
            "check_estimator_sparse_array",
            "check_estimator_sparse_matrix",
            "check_estimator_sparse_tag",
        ),
        DENSE_PHYSICS,
    ),
    **dict.fromkeys(
        ("check_all_zero_sample_weights_error", "check_sample_weight_equivalence_on_dense_data"),
        CLEAN_MASK,
    ),
}


def expected_failures(estimator: object) -> dict[str, str]:
    return EXPECTED_FAILURES


@parametrize_with_checks(
    [SyncLatencyModel(), AsyncLoadModel()], expected_failed_checks=expected_failures
)
def test_sklearn_estimator_checks(estimator, check) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)
