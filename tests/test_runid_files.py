"""Every file of a run carries its run id, the binary ones too (issue 15, point 1): the PNG plans
(a ``tEXt`` chunk), ``layout.gpkg`` (GDAL metadata of the dataset and of every layer) and a
batch item's ``result.json``; ``siteopt render`` and ``compare`` refuse a directory whose files
disagree (exit 2, naming the files)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from shapely.geometry import Point  # noqa: E402

from optimiser.errors import ExitCode, FileReadError  # noqa: E402
from optimiser.present.gpkg import write_gpkg  # noqa: E402
from optimiser.present.rundir import load_run  # noqa: E402
from optimiser.present.runid import UNREADABLE, binary_run_ids, gpkg_run_id, png_run_id  # noqa: E402
from tests.sitefiles import write_files  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _png(path: Path, run_id: str | None) -> Path:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, dpi=20, metadata={"run_id": run_id} if run_id else {})
    plt.close(fig)
    return path


def _gpkg(path: Path, run_id: str | None, layers: tuple[str, ...] = ("a",)) -> Path:
    frame = gpd.GeoDataFrame({"v": [1]}, geometry=[Point(0, 0)], crs="EPSG:27700")
    return write_gpkg(path, {name: frame for name in layers}, styles=False, run_id=run_id)


def test_png_run_id(tmp_path):
    assert png_run_id(_png(tmp_path / "a.png", "20261203T090000Z-0badf00d")) == "20261203T090000Z-0badf00d"
    assert png_run_id(_png(tmp_path / "b.png", None)) is None
    (tmp_path / "c.png").write_text("not a png")
    assert png_run_id(tmp_path / "c.png") == UNREADABLE


def test_gpkg_run_id_reads_every_layer(tmp_path):
    assert gpkg_run_id(_gpkg(tmp_path / "a.gpkg", "R1", ("one", "two"))) == "R1"
    import pyogrio  # the id is each layer's metadata: a read-only open by GDAL writes no a.gpkg.aux.xml

    assert pyogrio.read_info(tmp_path / "a.gpkg", layer="one")["layer_metadata"] == {"run_id": "R1"}
    assert pyogrio.read_dataframe(tmp_path / "a.gpkg", layer="two").shape[0] == 1
    assert not (tmp_path / "a.gpkg.aux.xml").exists()
    assert gpkg_run_id(_gpkg(tmp_path / "b.gpkg", None)) is None
    (tmp_path / "c.gpkg").write_bytes(b"SQLite format 3\0" + b"\0" * 100)
    assert gpkg_run_id(tmp_path / "c.gpkg") == UNREADABLE
    # a layer appended by another run: both ids are listed
    mixed = _gpkg(tmp_path / "d.gpkg", "R1")
    import pyogrio

    frame = gpd.GeoDataFrame({"v": [2]}, geometry=[Point(1, 1)], crs="EPSG:27700")
    pyogrio.write_dataframe(frame, mixed, layer="late", driver="GPKG", layer_metadata={"run_id": "R2"})
    assert gpkg_run_id(mixed) == "R1|R2"


@pytest.mark.parametrize("name", ["plan.png", "layout.gpkg", "result.json"])
def test_load_run_refuses_a_binary_file_of_another_run(synthetic_run, name):
    run = synthetic_run("a")  # its text files carry no id: a file carrying one is another run's
    assert load_run(run)
    if name == "plan.png":
        _png(run / name, "OTHER")
    elif name == "layout.gpkg":
        _gpkg(run / name, "OTHER")
    else:
        (run / name).write_text(json.dumps({"format": "placemaking-batch-result/1", "run_id": "OTHER"}))
    assert binary_run_ids(run) == {name: "OTHER"}
    with pytest.raises(FileReadError) as info:
        load_run(run)
    text = str(info.value)
    assert "files of different runs are mixed" in text and f"{name}: OTHER" in text and "--overwrite" in text


def test_a_result_json_without_an_id_names_no_run(synthetic_run):
    run = synthetic_run("a")
    (run / "result.json").write_text(json.dumps({"format": "placemaking-batch-result/1", "run_id": None}))
    assert binary_run_ids(run) == {} and load_run(run)


# ------------------------------------------------------------------ real runs


def _siteopt(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "optimiser", *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("runs")
    _, sc = write_files(tmp / "in")
    for name in ("a", "b"):
        r = _siteopt("run", str(sc), "--out", str(tmp / name))
        assert r.returncode == 0, r.stderr
    return tmp / "a", tmp / "b"


@pytest.mark.slow
def test_every_file_of_a_real_run_carries_its_id(two_runs):
    a, _ = two_runs
    rid = json.loads((a / "metrics.json").read_text())["run_id"]
    ids = binary_run_ids(a)
    assert {"plan.png", "distance.png", "layout.gpkg"} <= set(ids)
    assert set(ids.values()) == {rid}
    import pyogrio  # GDAL reads the id as every layer's metadata (not the dataset's: no .aux.xml sidecar)

    before = sorted(p.name for p in a.iterdir())
    assert pyogrio.read_info(a / "layout.gpkg", layer="firms")["dataset_metadata"] is None
    for layer, _ in pyogrio.list_layers(a / "layout.gpkg"):
        if layer != "layer_styles":
            assert pyogrio.read_info(a / "layout.gpkg", layer=layer)["layer_metadata"] == {"run_id": rid}
            pyogrio.read_dataframe(a / "layout.gpkg", layer=layer)
    assert sorted(p.name for p in a.iterdir()) == before


@pytest.mark.slow
@pytest.mark.parametrize("name", ["plan.png", "layout.gpkg"])
def test_render_and_compare_refuse_a_binary_file_of_another_run(two_runs, tmp_path, name):
    a, b = two_runs
    mixed = tmp_path / "mixed"
    shutil.copytree(a, mixed)
    shutil.copyfile(b / name, mixed / name)
    other = json.loads((b / "metrics.json").read_text())["run_id"]
    for args in (("render", str(mixed)), ("compare", str(a), str(mixed), "--out", str(tmp_path / "cmp"))):
        r = _siteopt(*args)
        assert r.returncode == ExitCode.INPUT, r.stderr
        assert "files of different runs are mixed" in r.stderr and f"{name}: {other}" in r.stderr
        assert "Traceback" not in r.stderr
    assert (mixed / name).read_bytes() == (b / name).read_bytes()  # nothing re-rendered


@pytest.mark.slow
def test_a_batch_item_result_carries_its_run_id(tmp_path):
    from optimiser.batch import load_batch
    from optimiser.batch.runner import _payload
    from optimiser.batch.worker import run_item

    _, sc = write_files(tmp_path / "in")
    (tmp_path / "in" / "batch.yaml").write_text(f"format: placemaking-batch/1\nbase: {sc.name}\nsweep: {{budget_gbp: [1000000]}}\n")
    item = load_batch(tmp_path / "in" / "batch.yaml").items[0]
    rec = run_item(_payload(item), str(tmp_path / "item"))
    metrics = json.loads((tmp_path / "item" / "metrics.json").read_text())
    assert rec["run_id"] == metrics["run_id"] is not None
    assert json.loads((tmp_path / "item" / "result.json").read_text())["run_id"] == metrics["run_id"]
    assert load_run(tmp_path / "item")  # result.json agrees with the run's files
