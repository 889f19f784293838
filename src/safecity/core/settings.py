"""Environment settings (``SAFECITY_*``), kept apart from the deployment file.

Nothing here does I/O: building a ``Settings`` reads the environment only.
Secure defaults: the server refuses a default secret outside demo mode and
plain HTTP anywhere but loopback (see :meth:`Settings.problems_for_serving`).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

RuleAlertKind = Literal[
    "zone_intrusion",
    "loitering",
    "crowd",
    "line_crossing",
    "wrong_way",
    "stopped_vehicle",
    "object_left",
]
# Intrusions, wrong-way driving and abandoned objects need someone now; loitering,
# crowds and stopped vehicles deserve a look; line crossings are counts, not alerts.
DEFAULT_RULE_ALERTS: dict[RuleAlertKind, int] = {
    "zone_intrusion": 2,
    "wrong_way": 2,
    "object_left": 2,
    "loitering": 3,
    "crowd": 3,
    "stopped_vehicle": 3,
}
DEFAULT_SECRET = "insecure-default-secret-change-me"  # noqa: S105 - the value we refuse to run with
ENV_PREFIX = "SAFECITY_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    data_dir: Path = Field(
        Path("safecity-data"),
        description="Folder for the embedded database, keys, bus storage and media.",
    )
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL; empty means SQLite (WAL) inside data_dir.",
    )
    nats_url: str | None = Field(
        None,
        description="NATS server to use; empty means a private server started on loopback.",
    )
    demo_video_cameras: int = Field(
        4, ge=0, le=64, description="Demo only: simulated cameras served over RTSP and recorded."
    )
    video_workers: bool = Field(
        True,
        description="safecity up runs the ingest of every registered camera and the analytics "
        "groups of enabled cameras beside the web server; false for a control-plane node "
        "whose cameras are ingested and analysed elsewhere.",
    )
    analytics_models_dir: Path | None = Field(
        None,
        description="Folder of detector model manifests (<name>.yaml: file, sha256, input "
        "size, classes, licence); a camera's analytics configuration names one. Nothing is "
        "ever downloaded. Empty: cameras track motion regions only.",
    )
    analytics_cameras_per_process: int = Field(
        8,
        ge=1,
        le=64,
        description="Cameras analysed by one analytics worker process (they share its plate "
        "reader and libraries); a crash takes down this many cameras until the restart.",
    )
    analytics_plate_locator: Literal["off", "first", "only"] = Field(
        "first",
        description="How analytics workers read a vehicle's plate: off, PP-OCR's text "
        "detector over the vehicle region; first, the project's own plate locator finds the "
        "plate (about 1 ms), PP-OCR reads only there, and where the own plate model is sure "
        "the more confident of the two reads stands; only, the locator and the own plate "
        "model alone, no PP-OCR (cheapest). Both models are trained on simulator renders "
        "only (vision/plates/models/*.md). Default first: on unseen renders (2026-12-07) it "
        "read 36 of 117 vehicles against 29 for off and 32 for only, with 20 false reads "
        "against 29 and 49, at four fifths of off's CPU a frame and twice only's.",
    )
    analytics_plate_unsmear: bool = Field(
        True,
        description="Where a vehicle's located plates read as nothing, analytics workers "
        "look for a motion smear on them (its length and direction from the plate's "
        "cepstrum), undo it with a Wiener filter and read again, keeping only decisive reads "
        "(vision/plates/unsmear.py). Needs analytics_plate_locator first or only (ignored "
        "with off). On by default: on new simulated renders (2026-12-07) it read 49 of 118 "
        "vehicles exactly against 43, with 15 false reads against 17, for about a tenth more "
        "CPU a frame; false to save that CPU.",
    )
    analytics_plate_rules: str = Field(
        "pk",
        min_length=1,
        max_length=64,
        description="Plate format rule set analytics workers validate reads against: pk "
        "(Pakistan: Punjab, Sindh, KP, ICT, older series, plus a generic shape), us or br, "
        "built in; with analytics_plate_rules_file, the name of a set in that file. A read "
        "that fits no rule of the set (nor its generic shape) is not reported. Checked when "
        "the workers start: an unknown name refuses the start, naming the known ones.",
    )
    analytics_plate_rules_file: Path | None = Field(
        None,
        description="YAML catalogue of plate format rule sets (the shape of the built-in "
        "vision/plates/formats.yaml: sets: {name: {rules: [...], ...}}), from which "
        "analytics_plate_rules picks one; the same file safecity anpr read --rules-file "
        "takes. Checked when the workers start: a missing or invalid file refuses the start, "
        "naming its file and line. Empty: the built-in sets.",
    )
    ingest_cameras_per_process: int = Field(
        8,
        ge=1,
        le=64,
        description="Cameras recorded and health-checked by one ingest worker process (they "
        "share its interpreter, PyAV and bus connection; each keeps its own threads and is "
        "restarted alone if it fails); a crash of the process stops this many until its restart.",
    )
    demo_analytics_detector: str | None = Field(
        "sim-vehicles",
        description="Demo only: the detector (a manifest name) the simulated cameras' "
        "analytics use; empty tracks motion only, the lightest load. The default, "
        "sim-vehicles, is shipped in the package and trained on the simulator's renders; it "
        "is looked up in the package's models folder unless analytics_models_dir is set, "
        "which then wins (copy the bundled manifest and model there to keep it).",
    )
    recording_quota_gb: float | None = Field(
        None,
        gt=0,
        description="Largest size of the recordings store; beyond it the oldest footage not "
        "under legal hold is deleted first. Empty: retention periods only.",
    )
    plate_read_days: int = Field(
        30, ge=1, description="Days a plate read that matched no hotlist is kept."
    )
    plate_hit_days: int = Field(
        365, ge=1, description="Days a plate read that matched a hotlist entry is kept."
    )
    rule_event_days: int = Field(90, ge=1, description="Days analytics rule events are kept.")
    rule_alerts: dict[RuleAlertKind, Annotated[int, Field(ge=1, le=5)]] = Field(
        default_factory=lambda: dict(DEFAULT_RULE_ALERTS),
        description="Which analytics rule kinds raise an operator alert, with its priority "
        '(1 most urgent), as JSON: {"zone_intrusion": 2}. Kinds not named only count.',
    )
    retention_days: dict[str, int] = Field(
        default_factory=lambda: {"public": 30, "private": 30, "school": 15},
        description="Days continuous recordings are kept, by camera class, as JSON, e.g. "
        '{"public": 30, "private": 30, "school": 15}. A class left out keeps the shortest.',
    )
    retention_event_days: dict[str, int] = Field(
        default_factory=lambda: {"public": 90, "private": 90, "school": 30},
        description="Days event recordings (around motion and rule events) are kept, by "
        "camera class, as JSON. A class left out keeps the shortest.",
    )
    mqtt_broker: bool = Field(
        True,
        description="Start a private Mosquitto broker on loopback for site telemetry over MQTT.",
    )
    host: str = Field("127.0.0.1", description="Address the web server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the web server binds to.")
    secret_key: SecretStr = Field(
        SecretStr(DEFAULT_SECRET),
        description="Signs CSRF tokens; must be set (32+ characters) outside demo mode.",
    )
    demo: bool = Field(False, description="Demo mode: generated secrets, seeded province.")
    tls_certfile: Path | None = Field(None, description="PEM certificate for HTTPS.")
    tls_keyfile: Path | None = Field(None, description="PEM private key for HTTPS.")
    tile_url: str | None = Field(
        None,
        description="Map tile URL template ({z}/{x}/{y}) of the deployment's own tile server.",
    )
    console_queue_rows: int = Field(
        2000,
        ge=20,
        le=20_000,
        description="Alert rows an operator console holds at most; beyond, the least urgent "
        "are let go (and counted) until rows leave the queue.",
    )
    session_ttl_minutes: int = Field(
        720, ge=5, le=24 * 60, description="A signed-in session ends this long after sign-in."
    )
    session_idle_minutes: int = Field(
        60, ge=1, le=24 * 60, description="A session unused this long ends."
    )
    login_max_failures: int = Field(
        5, ge=1, description="Failed sign-ins per user and source address before a pause."
    )
    login_pause_seconds: int = Field(
        60, ge=1, description="Pause after too many failures from one source for one user."
    )
    max_upload_bytes: int = Field(
        5_000_000, ge=1024, description="Largest accepted upload (camera import files)."
    )
    alert_correlation_seconds: int = Field(
        600,
        ge=1,
        le=86_400,
        description="Alerts with the same correlation key (plate, camera and rule) this close "
        "in time become one alert with a count.",
    )
    incident_catalogue: Path | None = Field(
        None,
        description="YAML file of incident types, priorities and unit kinds; default: the "
        "built-in KP catalogue.",
    )
    dispatch_road_factor: float = Field(
        1.4,
        ge=1.0,
        le=5.0,
        description="Road distance over straight-line distance, for travel estimates until a "
        "road network is configured.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level on stderr."
    )

    @field_validator("demo_analytics_detector")
    @classmethod
    def _empty_detector_is_none(cls, value: str | None) -> str | None:
        # SAFECITY_DEMO_ANALYTICS_DETECTOR= (empty) is how an operator asks for motion only.
        return value or None

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.data_dir / 'safecity.db'}"

    @property
    def media_dir(self) -> Path:
        """Recorded segments, one folder per camera (the media root)."""
        return self.data_dir / "media"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def uses_default_secret(self) -> bool:
        return self.secret_key.get_secret_value() == DEFAULT_SECRET

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def problems_for_serving(self) -> list[str]:
        """Reasons the web server must not start with these settings."""
        problems: list[str] = []
        secret = self.secret_key.get_secret_value()
        if not self.demo and (self.uses_default_secret or len(secret) < 32):
            problems.append(
                "SAFECITY_SECRET_KEY is the default or shorter than 32 characters; "
                "set a long random value (only `safecity demo` generates one itself)"
            )
        if not self.is_loopback and not (self.tls_certfile and self.tls_keyfile):
            problems.append(
                f"SAFECITY_HOST={self.host} is not loopback: set SAFECITY_TLS_CERTFILE and "
                "SAFECITY_TLS_KEYFILE (plain HTTP is allowed on loopback only)"
            )
        for name in ("tls_certfile", "tls_keyfile"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                problems.append(f"SAFECITY_{name.upper()} points to a missing file: {path}")
        return problems


def unknown_environment_names(environ: dict[str, str] | None = None) -> list[str]:
    """SAFECITY_* variables that match no setting (usually a typo)."""
    env = os.environ if environ is None else environ
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return sorted(name for name in env if name.startswith(ENV_PREFIX) and name not in known)
