"""lstmlib.viz.plot_ctc_lattice: one node per (frame, state), shaded by the share of p(l|x) through it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstmlib.viz import plot_ctc_lattice  # noqa: E402


def test_the_lattice_has_a_node_per_frame_and_state_and_each_frames_shares_sum_to_one():
    rng = np.random.default_rng(0)
    log_probs = rng.normal(size=(6, 4))
    log_probs -= np.logaddexp.reduce(log_probs, axis=1, keepdims=True)
    fig, ax = plt.subplots()
    plot_ctc_lattice(log_probs, [1, 1], ax=ax)
    (nodes,) = ax.collections
    shares = nodes.get_array().reshape(6, 5)  # T = 6 frames, l' = - 1 - 1 - has 5 states
    assert np.allclose(shares.sum(axis=1), 1.0)
    assert shares[0, 2:].sum() == 0 and shares[-1, :2].sum() == 0  # start at the top, end at the bottom
    assert [t.get_text() for t in ax.get_yticklabels()] == ["-", "1", "-", "1", "-"]
    # the only arrows into the second "1" (state 3) come from itself and the blank before it: no skip over it
    assert all(a.xy[1] != 3 or a.xyann[1] in (2, 3) for a in ax.texts)
    plt.close(fig)


def test_an_infeasible_target_is_rejected():
    with pytest.raises(ValueError, match=r"target needs more frames than the T=2 given: no alignment fits"):
        plot_ctc_lattice(np.log(np.full((2, 3), 1 / 3)), [1, 1])
    with pytest.raises(ValueError, match=r"log_probs must have 2 dimensions \(T, C\); got shape \(2,\)"):
        plot_ctc_lattice(np.zeros(2), [1])
