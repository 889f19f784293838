"""The incident catalogue is data: a deployment's YAML replaces the default, and a
mistake in it is reported with the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from safecity.command.catalogue import default_catalogue, load_catalogue
from safecity.core.errors import ConfigError, InvalidInput
from safecity.core.settings import Settings
from safecity.web.platform import build_platform


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def small() -> dict[str, object]:
    return {
        "priorities": [{"level": 1, "label": "Now", "target_response_seconds": 300}],
        "incident_types": [
            {
                "code": "kite_fight",
                "label": "Kite string injury",
                "agency": "rescue-1122",
                "default_priority": 1,
                "capability": "medical",
            }
        ],
        "unit_kinds": [
            {
                "code": "ambulance",
                "label": "Ambulance",
                "agency": "rescue-1122",
                "capabilities": ["medical"],
                "speed_kmh": 40,
            }
        ],
    }


def test_the_default_catalogue_is_consistent() -> None:
    catalogue = default_catalogue()
    capabilities = {c for kind in catalogue.unit_kinds for c in kind.capabilities}
    # Every type can be answered by some kind of unit.
    assert {t.capability for t in catalogue.incident_types} <= capabilities
    with pytest.raises(InvalidInput, match="unknown incident type 'ufo'"):
        catalogue.incident_type("ufo")


def test_a_deployment_file_replaces_the_catalogue(tmp_path: Path) -> None:
    path = write(tmp_path, small())
    catalogue = load_catalogue(path)
    assert [t.code for t in catalogue.incident_types] == ["kite_fight"]
    settings = Settings(
        data_dir=tmp_path / "data", secret_key="catalogue-secret-" * 4, incident_catalogue=path
    )
    platform = build_platform(settings)
    try:
        assert platform.incidents.catalogue.incident_type("kite_fight").agency == "rescue-1122"
    finally:
        platform.dispose()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["incident_types"][0].update(default_priority=3), "default priority 3"),
        (lambda d: d["unit_kinds"][0].update(speed_kmh=-5), "unit_kinds[0].speed_kmh"),
        (lambda d: d["incident_types"][0].update(colour="red"), "incident_types[0].colour"),
        (lambda d: d["priorities"].append(d["priorities"][0]), "priority keys must be unique"),
    ],
)
def test_mistakes_name_the_file_line_and_field(tmp_path: Path, change: object, where: str) -> None:
    data = small()
    change(data)  # type: ignore[operator]
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as caught:
        load_catalogue(path)
    assert str(path) in caught.value.message
    assert where in caught.value.message
    assert ":" in caught.value.message.split(str(path))[1][:4]  # a line number follows
