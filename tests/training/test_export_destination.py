"""Where the training scripts' ``export`` writes: build/ unless the package folder is named.

A plain ``export`` once wrote straight over the weights the package ships. These tests
export untrained networks of each script (the files are the same shape as trained ones)
and load them with the product's own loaders, so the manifest each export writes is
checked too. They need PyTorch and onnx (requirements/train.txt), which the product's
test environment does not install: without them the module is skipped, and
tests/training/test_export_guard.py checks the same guard with a stand-in for the
PyTorch half of each export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from training.plate_locator_model import PlateLocatorNet  # noqa: E402
from training.plate_model import PlateRecogniser  # noqa: E402
from training.sim_detector_data import CLASSES  # noqa: E402
from training.sim_detector_model import SimVehicleDetector  # noqa: E402

from safecity.vision.detectors import load_detector  # noqa: E402
from safecity.vision.plates.locator import MANIFEST_NAME as LOCATOR_MANIFEST  # noqa: E402
from safecity.vision.plates.locator import PlateLocator  # noqa: E402
from safecity.vision.plates.slots import MANIFEST_NAME as RECOGNISER_MANIFEST  # noqa: E402
from safecity.vision.plates.slots import SlotRecogniser  # noqa: E402
from training import train_plate_locator, train_plate_recogniser, train_sim_detector  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PLATE_MODELS = ROOT / "src" / "safecity" / "vision" / "plates" / "models"
DETECTOR_MODELS = ROOT / "src" / "safecity" / "vision" / "detectors" / "models"

# The scripts keep the TorchScript exporter (dynamo=False) the shipped files were made
# with; PyTorch warns about it and about its own use of deprecated functions inside it.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:You are using the legacy TorchScript-based ONNX export:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.onnx"),
]


@dataclass(frozen=True)
class Script:
    module: ModuleType
    shipped: Path
    """The package folder its shipped weights live in."""
    save_weights: Callable[[Path], list[str]]
    """Writes untrained weights where ``export`` reads them (under WORK); its arguments."""
    manifest: str
    load: Callable[[Path], object]
    """The product's loader of the exported manifest (checks hash, shapes, outputs)."""


def _recogniser_weights(work: Path) -> list[str]:
    checkpoint = work / "checkpoint.pt"
    state = {"model": PlateRecogniser().state_dict(), "step": 0, "validation_exact": 0.0}
    torch.save(state, checkpoint)
    return ["export", "--checkpoint", str(checkpoint)]


def _locator_weights(work: Path) -> list[str]:
    checkpoint = work / "checkpoint.pt"
    torch.save({"model": PlateLocatorNet().state_dict(), "step": 0}, checkpoint)
    return ["export", "--checkpoint", str(checkpoint)]


def _detector_weights(work: Path) -> list[str]:
    torch.save(SimVehicleDetector(len(CLASSES)).state_dict(), work / "weights.pt")
    return ["--data", str(work), "export"]


def _load_recogniser(manifest: Path) -> object:
    SlotRecogniser(manifest).warm_up()
    return manifest


def _load_locator(manifest: Path) -> object:
    PlateLocator(manifest).warm_up()
    return manifest


SCRIPTS = {
    "plate_recogniser": Script(
        train_plate_recogniser,
        PLATE_MODELS,
        _recogniser_weights,
        RECOGNISER_MANIFEST,
        _load_recogniser,
    ),
    "plate_locator": Script(
        train_plate_locator, PLATE_MODELS, _locator_weights, LOCATOR_MANIFEST, _load_locator
    ),
    "sim_detector": Script(
        train_sim_detector, DETECTOR_MODELS, _detector_weights, "sim-vehicles.yaml", load_detector
    ),
}


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_export_without_out_leaves_the_shipped_weights_alone(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = SCRIPTS[name]
    work = tmp_path / "build"
    work.mkdir()
    monkeypatch.setattr(script.module, "WORK", work)
    argv = script.save_weights(work)
    args = script.module.command_line().parse_args(argv)
    # Checked before anything is written: a default pointing elsewhere fails here.
    assert Path(args.out) == work / "export"
    shipped_before = _digests(script.shipped)

    script.module.main(argv)

    assert _digests(script.shipped) == shipped_before
    script.load(work / "export" / script.manifest)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_export_writes_where_out_names(name: str, tmp_path: Path) -> None:
    script = SCRIPTS[name]
    work = tmp_path / "work"
    work.mkdir()
    chosen = tmp_path / "chosen" / "models"

    script.module.main([*script.save_weights(work), "--out", str(chosen)])

    script.load(chosen / script.manifest)
    written = sorted(path.name for path in chosen.iterdir())
    assert script.manifest in written
    assert any(file.endswith(".onnx") for file in written), written
