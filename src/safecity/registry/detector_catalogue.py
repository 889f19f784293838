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
    """A models folder of ``<name>.yaml`` manifests (``Settings.analytics_models_dir``);
    None where the deployment gives its workers no folder, so none can load a detector."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @property
    def readable(self) -> bool:
        """Whether names can be checked here: no folder at all (nothing can load), or the
        workers' folder as this node sees it (one it does not have is another node's)."""
        return self.folder is None or self.folder.is_dir()

    def names(self) -> list[str]:
        if self.folder is None:
            return []
        return sorted(path.stem for path in self.folder.glob("*.yaml"))

    def classes(self, name: str) -> tuple[str, ...]:
        """The classes detector ``name`` reports (its manifest's keep_classes, else all),
        or InvalidInput saying why it cannot be used."""
        if self.folder is None:
            raise InvalidInput(
                f"detector {name!r} cannot be loaded: this deployment gives the analytics "
                "workers no models folder (SAFECITY_ANALYTICS_MODELS_DIR), so its cameras "
                "track moving regions only; install the model there, or name no detector",
                field="detector",
            )
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
