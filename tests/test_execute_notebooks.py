"""scripts/execute_notebooks.py (``make notebooks``): what it records in a notebook it runs.

One tiny notebook in one kernel (a kernel start costs seconds): its first cells run, one
allowed to raise, then a cell raises. A clean run's record is checked on every committed
chapter by tests/test_book_structure.py.
"""

from __future__ import annotations

import importlib.util
import os
from datetime import UTC, datetime

import nbformat
import pytest
import torch
from book_files import ROOT

import lstmlib

spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
execute_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(execute_notebooks)

v4 = nbformat.v4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Run the script's main on the notebook; return its exit status, the notebook as written and
    the time just before."""
    folder = tmp_path_factory.mktemp("notebooks")
    nbformat.write(v4.new_notebook(cells=[
        v4.new_markdown_cell("# broken"),
        v4.new_code_cell("x = 6 * 7\nprint(x)"),
        v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),  # allowed, as under nbval
        v4.new_code_cell("raise ValueError('x must be 2')"),
        v4.new_code_cell("print(x)", execution_count=4,
                         outputs=[v4.new_output("stream", name="stdout", text="stale\n")]),
    ]), folder / "broken.ipynb")
    before = datetime.now(UTC).replace(microsecond=0)
    status = execute_notebooks.main([str(folder)])
    return status, nbformat.read(folder / "broken.ipynb", as_version=4), before


def test_main_exits_with_1_when_a_notebook_raised(run):
    status, _, _ = run
    assert status == 1


def test_the_error_is_recorded_with_its_cell(run):
    _, nb, _ = run
    record = nb.metadata.lstmbook
    assert set(record) == {"executed_at", "execution_seconds", "status", "error", "environment"}
    assert record["status"] == "error"
    assert record["error"] == "ValueError in cell In [3]: x must be 2"


def test_the_cells_run_until_the_error_and_those_after_lose_their_stale_outputs(run):
    _, nb, _ = run
    assert nb.cells[1].outputs[0].text == "42\n"
    assert nb.cells[2].outputs[0].ename == "ZeroDivisionError"  # tagged, so the run went on
    assert nb.cells[3].outputs[-1].ename == "ValueError"
    assert nb.cells[4].outputs == [] and nb.cells[4].execution_count is None


def test_time_date_and_the_kernels_environment_are_recorded(run):
    _, nb, before = run
    record = nb.metadata.lstmbook
    assert 0 < record["execution_seconds"] < 300
    assert before <= datetime.fromisoformat(record["executed_at"]) <= datetime.now(UTC)
    env = record["environment"]
    assert set(env) == {"python", "numpy", "torch", "lstmlib", "torch_threads"}
    # the kernel runs this interpreter's packages, with the thread setting it inherited
    assert (env["lstmlib"], env["torch"]) == (lstmlib.__version__, torch.__version__)
    assert isinstance(env["torch_threads"], int) and env["torch_threads"] >= 1
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        assert env["torch_threads"] == int(os.environ["OMP_NUM_THREADS"])


def test_the_kernelspec_is_the_one_jupyterlab_writes(run):
    # stored otherwise, JupyterLab rewrites it on opening and the notebook opens modified
    _, nb, _ = run
    assert nb.metadata.kernelspec == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert nb.metadata.kernelspec == execute_notebooks.kernelspec()
