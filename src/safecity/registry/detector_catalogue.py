"""The detectors installed where the analytics workers load them from, as the
configuration service sees them: their names and the classes each reports.

Read from the manifests (never the model files) on every look-up, so a model an operator
installs is known without a restart.
"""

from __future__ import annotations

from pathlib import Path

from safecity.core.errors import ConfigError, InvalidInput
from safecity.vision.detectors.manifest import load_manifest


class DetectorCatalogue:
    """A models folder of ``<name>.yaml`` manifests (``Settings.analytics_models_dir``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def names(self) -> list[str]:
        return sorted(path.stem for path in self.folder.glob("*.yaml"))

    def classes(self, name: str) -> tuple[str, ...]:
        """The classes detector ``name`` reports (its manifest's keep_classes, else all),
        or InvalidInput saying why it cannot be used."""
        path = self.folder / f"{name}.yaml"
        if not path.is_file():
            installed = ", ".join(self.names()) or "none"
            raise InvalidInput(
                f"detector {name!r} is not installed (installed detectors: {installed})",
                field="detector",
            )
        try:
            manifest, _ = load_manifest(path)
        except ConfigError as exc:
            raise InvalidInput(
                # The server's folders are not the caller's business: the file's name is.
                f"detector {name!r} cannot be used, its manifest is wrong: "
                f"{str(exc).replace(str(self.folder), '<models>')}",
                field="detector",
            ) from exc
        return manifest.keep_classes or manifest.classes
