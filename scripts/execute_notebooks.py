"""Re-execute the book's chapters in place (``make notebooks``).

Each notebook runs top to bottom in a fresh kernel from the notebook's own
folder, with the widget state stored in the file, so that the HTML book shows
widgets and every committed output comes from the code beside it.

What the run saw is kept in the notebook's metadata under ``lstmbook``, for the
book's "Execution times" page:

* ``execution_seconds``: wall time from starting the kernel to the last cell;
* ``executed_at``: when the run started (UTC, ISO 8601);
* ``status``: ``"ok"`` if no cell raised an error (cells tagged
  ``raises-exception`` may, as they do under nbval), else ``"error"``, with
  ``error`` saying which cell raised what. A failed notebook is still written,
  so its traceback can be read in place; the cells after the failing one lose
  their outputs rather than keep stale ones, and the script exits with status 1;
* ``environment``: the versions of Python, NumPy, torch and lstmlib and the
  number of torch threads, as the kernel itself reported them after the run.

The notebook's ``kernelspec`` is set to the installed ``python3`` kernel's own
(display name "Python 3 (ipykernel)"), the one JupyterLab writes on opening a
notebook: stored otherwise, every chapter would open in ``make lab`` already modified.

Usage: python scripts/execute_notebooks.py [PATH ...]   (folders or .ipynb files)
"""

from __future__ import annotations

import ast
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# One expression evaluated by the kernel after the last cell (a user expression,
# so nothing is printed and the execution count does not move).
ENVIRONMENT_EXPRESSION = (
    "__import__('json').dumps({"
    "'python': __import__('platform').python_version(), "
    "'numpy': __import__('numpy').__version__, "
    "'torch': __import__('torch').__version__, "
    "'lstmlib': __import__('lstmlib').__version__, "
    "'torch_threads': __import__('torch').get_num_threads()})"
)


def find_notebooks(paths: list[str]) -> list[Path]:
    """Every ``.ipynb`` under ``paths``, sorted, checkpoints excluded."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.suffix == ".ipynb":
            found.append(path)
        elif path.is_dir():
            found.extend(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            raise SystemExit(f"not a notebook or folder: {path}")
    return sorted(found)


def kernel_environment(client: NotebookClient) -> dict:
    """The versions and thread count that the running kernel reports."""
    msg_id = client.kc.execute("", silent=True, store_history=False,
                               user_expressions={"environment": ENVIRONMENT_EXPRESSION})
    reply = client.wait_for_reply(msg_id)
    result = reply["content"]["user_expressions"]["environment"]
    if result.get("status") != "ok":
        raise RuntimeError(f"the kernel could not report its environment: {result}")
    # text/plain is the repr of the JSON string
    return json.loads(ast.literal_eval(result["data"]["text/plain"]))


def clear_outputs_after(nb, index: int) -> None:
    """Drop the outputs of the code cells after ``index``: they did not run."""
    for cell in nb.cells[index + 1:]:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


KERNEL = "python3"


def kernelspec() -> dict:
    """The notebook metadata of the installed ``python3`` kernel, as JupyterLab stores it."""
    spec = KernelSpecManager().get_kernel_spec(KERNEL)
    return {"display_name": spec.display_name, "language": spec.language, "name": KERNEL}


def execute(path: Path) -> dict:
    """Execute ``path`` in place; return the record stored in its ``lstmbook`` metadata."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    started = []  # index of each cell as it starts, so a failure can be located
    client.on_cell_execute = lambda cell, cell_index: started.append(cell_index)
    record = {"executed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    start = time.perf_counter()
    with client.setup_kernel():
        try:
            client.execute(cleanup_kc=False)
            record["status"] = "ok"
        except CellExecutionError as exc:
            failed = started[-1]
            record["status"] = "error"
            record["error"] = f"{exc.ename} in cell In [{nb.cells[failed].execution_count}]: {exc.evalue}"
            clear_outputs_after(nb, failed)
            client.set_widgets_metadata()
        record["execution_seconds"] = round(time.perf_counter() - start, 1)
        record["environment"] = kernel_environment(client)
    nb.metadata["lstmbook"] = record
    nb.metadata["kernelspec"] = kernelspec()
    nbformat.write(nb, path)
    return record


def main(argv: list[str]) -> int:
    notebooks = find_notebooks(argv or ["chapters"])
    failed = []
    for path in notebooks:
        record = execute(path)
        print(f"{record['execution_seconds']:6.1f} s  {path}", flush=True)
        if record["status"] != "ok":
            print(f"          {record['error']}", flush=True)
            failed.append(path)
    if failed:
        print(f"{len(failed)} notebook(s) raised an error: {', '.join(map(str, failed))}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
