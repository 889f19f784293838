"""The training scripts' ``export`` guard, checked without PyTorch (CI installs none).

An export once wrote straight over the weights the package ships: it now writes into
the script's work folder under build/ unless ``--out`` names another folder, the shipped
one included. The scripts import PyTorch only when they train or export (their ``*_fit``
modules); here the export's PyTorch half is replaced by a stand-in that writes a few
bytes, so where the files go and the manifest written beside them are checked for real.
tests/training/test_export_destination.py exports real networks where PyTorch is
installed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from safecity.vision.detectors.manifest import load_manifest as load_detector_manifest
from safecity.vision.detectors.manifest import verify_model_file
from safecity.vision.plates import locator, slots
from training import export_records, train_plate_locator, train_plate_recogniser, train_sim_detector

ROOT = Path(__file__).resolve().parents[2]
PLATE_MODELS = "src/safecity/vision/plates/models"
DETECTOR_MODELS = "src/safecity/vision/detectors/models"


def _plate_file(
    load: Callable[[Path], slots.PlateModelManifest | locator.LocatorManifest],
) -> Callable[[Path], Path]:
    def checked(manifest_path: Path) -> Path:
        manifest = load(manifest_path)
        model = manifest_path.parent / manifest.file
        assert hashlib.sha256(model.read_bytes()).hexdigest() == manifest.sha256
        return model

    return checked


def _detector_file(manifest_path: Path) -> Path:
    manifest, base = load_detector_manifest(manifest_path)
    return verify_model_file(manifest, base)


def _recogniser_manifest_again(shipped: Path) -> str:
    raw = json.loads(shipped.read_text(encoding="utf-8"))
    trained = export_records.RecogniserCheckpoint(
        raw["training_steps"], raw["validation_exact"], raw.get("render_validation_exact")
    )
    manifest = train_plate_recogniser.manifest(raw["sha256"], trained)
    return json.dumps(manifest, indent=2) + "\n"


def _locator_manifest_again(shipped: Path) -> str:
    raw = json.loads(shipped.read_text(encoding="utf-8"))
    exported = export_records.LocatorExport(raw["training_steps"], raw["stride"])
    manifest = train_plate_locator.manifest(raw["sha256"], exported, raw["threshold"])
    return json.dumps(manifest, indent=2) + "\n"


def _detector_manifest_again(shipped: Path) -> str:
    raw = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    return train_sim_detector.manifest(raw["file"], raw["sha256"], raw["confidence_threshold"])


@dataclass(frozen=True)
class Script:
    module: ModuleType
    fit: str
    """The module holding the export's PyTorch half (imported only by ``export``)."""
    package_models: str
    """The folder of the shipped weights, relative to the checkout."""
    manifest: str
    record: export_records.RecogniserCheckpoint | export_records.LocatorExport | None
    """What the stand-in for the PyTorch half hands back."""
    model_file: Callable[[Path], Path]
    """The product's reading of an exported manifest: the model file it names, checked."""
    manifest_again: Callable[[Path], str]
    """The script's manifest, made from what the shipped manifest records."""


SCRIPTS = {
    "plate_recogniser": Script(
        train_plate_recogniser,
        "training.plate_recogniser_fit",
        PLATE_MODELS,
        slots.MANIFEST_NAME,
        export_records.RecogniserCheckpoint(
            steps=0, validation_exact=0.0, render_validation_exact=None
        ),
        _plate_file(slots.load_manifest),
        _recogniser_manifest_again,
    ),
    "plate_locator": Script(
        train_plate_locator,
        "training.plate_locator_fit",
        PLATE_MODELS,
        locator.MANIFEST_NAME,
        export_records.LocatorExport(steps=0, stride=8),
        _plate_file(locator.load_manifest),
        _locator_manifest_again,
    ),
    "sim_detector": Script(
        train_sim_detector,
        "training.sim_detector_fit",
        DETECTOR_MODELS,
        "sim-vehicles.yaml",
        None,
        _detector_file,
        _detector_manifest_again,
    ),
}
NAMES = sorted(SCRIPTS)


def _digests(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[Script], list[Path]]:
    """Replaces a script's PyTorch half by one writing a few bytes (and only below
    tmp_path); returns the files it was asked to write."""

    def install(script: Script) -> list[Path]:
        written: list[Path] = []

        def write_onnx(source: Path, target: Path, **options: object) -> object:
            if not target.resolve().is_relative_to(tmp_path.resolve()):
                raise AssertionError(f"export wrote to {target}, outside the test's folder")
            target.write_bytes(b"a stand-in for the exported network")
            written.append(target)
            return script.record

        fit = ModuleType(script.fit)
        monkeypatch.setattr(fit, "write_onnx", write_onnx, raising=False)
        monkeypatch.setitem(sys.modules, script.fit, fit)
        return written

    return install


def test_the_scripts_import_and_parse_without_torch() -> None:
    blocked = "import sys\nfor name in ('torch', 'onnx'):\n    sys.modules[name] = None\n"
    parse = "".join(
        f"from training import {name}\n{name}.command_line().parse_args(['export'])\n"
        for name in ("train_plate_recogniser", "train_plate_locator", "train_sim_detector")
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked + parse], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_export_defaults_to_the_work_folder_under_build(name: str) -> None:
    script = SCRIPTS[name]
    out = Path(script.module.command_line().parse_args(["export"]).out).resolve()
    assert out == (script.module.WORK / "export").resolve()
    assert out.is_relative_to(ROOT / "build"), out
    assert not out.is_relative_to(ROOT / "src"), out


@pytest.mark.parametrize("name", NAMES)
def test_out_names_the_destination_the_shipped_folder_included(name: str) -> None:
    script = SCRIPTS[name]
    parse = script.module.command_line().parse_args
    assert parse(["export", "--out", "/elsewhere/models"]).out == "/elsewhere/models"
    assert parse(["export", "--out", script.package_models]).out == script.package_models


@pytest.mark.parametrize("name", NAMES)
def test_out_help_names_the_shipped_folder(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    script = SCRIPTS[name]
    assert (ROOT / script.package_models / script.manifest).is_file()
    with pytest.raises(SystemExit):
        script.module.main(["export", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"{script.package_models} replaces the shipped weights" in shown


@pytest.mark.parametrize("name", NAMES)
def test_export_without_out_writes_under_work_and_leaves_the_shipped_weights_alone(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stand_in: Callable[[Script], list[Path]],
) -> None:
    script = SCRIPTS[name]
    work = tmp_path / "build"
    monkeypatch.setattr(script.module, "WORK", work)
    # Checked before anything is written: a default pointing elsewhere fails here.
    assert Path(script.module.command_line().parse_args(["export"]).out) == work / "export"
    shipped = ROOT / script.package_models
    shipped_before = _digests(shipped)
    written = stand_in(script)

    script.module.main(["export"])

    assert _digests(shipped) == shipped_before
    manifest = work / "export" / script.manifest
    assert written == [script.model_file(manifest)]


@pytest.mark.parametrize("name", NAMES)
def test_export_writes_where_out_names(
    name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stand_in: Callable[[Script], list[Path]],
) -> None:
    script = SCRIPTS[name]
    work = tmp_path / "build"
    monkeypatch.setattr(script.module, "WORK", work)
    chosen = tmp_path / "chosen" / "models"
    written = stand_in(script)

    script.module.main(["export", "--out", str(chosen)])

    assert written == [script.model_file(chosen / script.manifest)]
    assert sorted(path.name for path in chosen.iterdir()) == sorted(
        [script.manifest, written[0].name]
    )
    assert not work.exists()


@pytest.mark.parametrize("name", NAMES)
def test_manifest_is_written_as_the_shipped_one_is(name: str) -> None:
    script = SCRIPTS[name]
    shipped = ROOT / script.package_models / script.manifest
    assert script.manifest_again(shipped) == shipped.read_text(encoding="utf-8")
