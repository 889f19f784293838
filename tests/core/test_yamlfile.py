"""Configuration errors name the file, the line and the field, so they can be fixed at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from safecity.core.errors import ConfigError
from safecity.core.yamlfile import load_yaml_model


class CameraSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="camera code")
    fps: int = Field(12, description="frames per second")


class SiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="site name")
    cameras: list[CameraSpec] = Field(default_factory=list, description="cameras")


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="deployment name")
    port: int = Field(8000, description="port")
    sites: list[SiteSpec] = Field(default_factory=list, description="sites")


# Line numbers are part of the contract, so the file is spelled out line by line.
GOOD = [
    "name: peshawar",  # 1
    "port: 8000",  # 2
    "sites:",  # 3
    "  - name: Hashtnagri",  # 4
    "    cameras:",  # 5
    "      - code: PSH-C1",  # 6
    "        fps: 12",  # 7
    "      - code: PSH-C2",  # 8
    "        fps: 15",  # 9
    "  - name: Firdous",  # 10
]


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _edit(line: int, text: str | None) -> list[str]:
    lines = list(GOOD)
    if text is None:
        del lines[line - 1]
    else:
        lines[line - 1] = text
    return lines


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_yaml_model(path, Plan)
    return caught.value.message


def test_good_file_loads(tmp_path: Path) -> None:
    plan = load_yaml_model(_write(tmp_path, GOOD), Plan)
    assert [c.fps for c in plan.sites[0].cameras] == [12, 15]
    assert plan.sites[1].cameras == []


@pytest.mark.parametrize(
    ("lines", "line", "field", "reason"),
    [
        (
            _edit(9, "        fsp: 15"),
            9,
            "sites[0].cameras[1].fsp",
            "Extra inputs are not permitted",
        ),
        (_edit(2, "prot: 8000"), 2, "prot", "Extra inputs are not permitted"),
        # A block value starts one line below its key; the key's line is the one to fix.
        ([*GOOD, "    lights:", "      - red"], 11, "sites[1].lights", "Extra inputs"),
        (_edit(7, "        fps: twelve"), 7, "sites[0].cameras[0].fps", "valid integer"),
        (_edit(2, "port: [8000]"), 2, "port", "valid integer"),
        ([*GOOD, "    cameras: none"], 11, "sites[1].cameras", "valid list"),
        (_edit(8, "      - fps: 20"), 8, "sites[0].cameras[1].code", "Field required"),
        (_edit(1, None), 1, "name", "Field required"),
        (["- name: x"], 1, "(top level)", "valid dictionary"),
    ],
)
def test_validation_errors_name_file_line_and_field(
    tmp_path: Path, lines: list[str], line: int, field: str, reason: str
) -> None:
    path = _write(tmp_path, lines)
    message = _error(path)
    assert message.startswith(f"{path}:{line}: {field}: "), message
    assert reason in message


def test_every_error_is_reported_on_its_own_line(tmp_path: Path) -> None:
    lines = _edit(7, "        fps: fast")
    lines[1] = "port: high"
    message = _error(_write(tmp_path, lines))
    reported = [row.split(": ")[0].rsplit(":", 1)[1] for row in message.splitlines()]
    assert reported == ["2", "7"]


@pytest.mark.parametrize(
    ("lines", "line", "problem"),
    [
        (["name: demo", "sites:", "  - name: A", "   cameras: []"], 4, "expected <block end>"),
        (["name: demo", "port: 1", "\tsites: []"], 3, "character '\\t'"),
        (["name: demo", "port: 80: 81"], 2, "mapping values are not allowed"),
        (["name: a", "---", "name: b"], 2, "another document"),
    ],
)
def test_syntax_error_names_file_and_line(
    tmp_path: Path, lines: list[str], line: int, problem: str
) -> None:
    path = _write(tmp_path, lines)
    message = _error(path)
    assert message.startswith(f"{path}:{line}: YAML syntax error: "), message
    assert problem in message


@pytest.mark.parametrize("content", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(content)
    assert _error(path) == f"{path}:1: the file is empty"


def test_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"name: demo\nport: 8000\nsites:\n  - name: Caf\xe9\n")
    message = _error(path)
    assert message.startswith(f"{path}:4: not UTF-8 text"), message


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert _error(path).startswith(f"{path}: cannot read")


def test_yaml_tags_that_build_objects_are_refused(tmp_path: Path) -> None:
    # The safe loader never constructs Python objects named by the file.
    path = _write(tmp_path, ["name: !!python/object/apply:os.getcwd []"])
    assert f"{path}:1:" in _error(path)
