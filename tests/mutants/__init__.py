"""Mutation suite: realistic wrong implementations (with the mistake each must be named as) and
alternative correct implementations, per graded exercise. One module per notebook topic, each defining

    MUTANTS = {"exercise_name": [("expected_mistake_name", wrong_fn), ...]}   # at least 3 per exercise
    CORRECT = {"exercise_name": [correct_fn, ...]}                            # at least 2 per exercise

``expected_mistake_name`` is the ``mistake`` the learner check must report: the name of one of the
exercise's :class:`~backproplab.checking.Mistake` s or of a generic finding of the engine
(``transpose``, ``keepdims``, ``bias_axis``, ``sign``, ``missing_1_over_m``, ``double_1_over_m``,
``dropped_factor_2``, ``extra_factor_2``, ``overflow``, ``in_place``, ``exception``, ``none``...).
"""
