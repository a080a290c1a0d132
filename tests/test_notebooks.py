"""The example notebooks in ``examples/`` run end to end (slow; they need MovieLens).

Each notebook is executed with ``nbclient`` in a fresh kernel whose working
directory is a temporary folder. The kernel is this interpreter
(``sys.executable``): a private ``python3`` kernelspec is written to a temporary
``JUPYTER_PATH`` entry, so a ``python3`` spec of some other Python found in the
user's Jupyter folders cannot shadow it and no ``ipykernel install`` is needed.
The kernel inherits the environment: ``ITEM2VEC_DATA`` points at the MovieLens
root (``movielens_root`` fixture) and ``MPLBACKEND=Agg`` keeps matplotlib headless.

A fast test also checks that the committed notebooks carry no outputs.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = [
    "01_quickstart_movielens.ipynb",
    "02_understanding_embeddings.ipynb",
    "03_sessions_and_hard_negatives.ipynb",
]
NEEDS_MOVIELENS = set(NOTEBOOKS)  # notebook 3 uses ml-100k in its last section


def _param(name: str):
    marks = [pytest.mark.slow] + ([pytest.mark.movielens] if name in NEEDS_MOVIELENS else [])
    return pytest.param(name, marks=marks, id=name.removesuffix(".ipynb"))


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make ``python3`` resolve to a kernel running this interpreter; return the kernel name."""
    for module in ("nbformat", "nbclient", "ipykernel", "jupyter_client", "matplotlib"):
        pytest.importorskip(module, reason=f"{module} is not installed; install the notebook extras: "
                                           f"pip install -e .[notebooks]")
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (tests)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")

    from jupyter_client.kernelspec import KernelSpecManager

    found = KernelSpecManager().get_kernel_spec("python3")
    assert found.argv[0] == sys.executable, f"python3 kernelspec resolves to {found.argv}, not {sys.executable}"
    return "python3"


@pytest.mark.parametrize("name", [_param(n) for n in NOTEBOOKS])
def test_notebook_runs(name: str, kernel_env: str, movielens_root: Path, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("ITEM2VEC_DATA", str(movielens_root))  # read by load_movielens in the kernel
    workdir = tmp_path / "run"
    workdir.mkdir()
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name=kernel_env,
                            resources={"metadata": {"path": str(workdir)}})
    t0 = time.perf_counter()
    client.execute()  # raises CellExecutionError (with the cell and traceback) on failure
    print(f"{name}: {time.perf_counter() - t0:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{name}: error outputs {[(e.ename, e.evalue) for e in errors]}"


def test_notebooks_are_clean() -> None:
    """Committed notebooks: valid, no outputs, python3 kernel, no hard-coded data path."""
    nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed; pip install -e .[notebooks]")
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == sorted(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb = nbformat.read(EXAMPLES / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3", name
        assert nb.cells and nb.cells[0].cell_type == "markdown", f"{name}: should open with a markdown intro"
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            assert cell.outputs == [] and cell.execution_count is None, f"{name}: outputs not stripped"
            assert "ITEM2VEC_DATA" not in cell.source, f"{name}: data location must not be hard-coded"
