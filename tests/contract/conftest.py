"""Every contract check runs twice: with the fast paths of lstmlib.nn on, and with them off."""

import pytest
import torch

from lstmlib.nn import fast_paths


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The sizes here are tiny: extra intra-op threads would only add synchronisation."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, params=[True, False], ids=["fast", "plain"])
def fast_paths_switch(request):
    """``lstmlib.nn.fast_paths.set_enabled``: on (the default) and off; restored afterwards."""
    previous = fast_paths.set_enabled(request.param)
    yield request.param
    fast_paths.set_enabled(previous)


@pytest.fixture
def no_tf32():
    """TF32 would make float32 CUDA results differ in the 3rd digit: compare full precision."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
