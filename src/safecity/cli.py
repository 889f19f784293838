"""The ``safecity`` command. Results go to stdout; progress and logs to stderr."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from uvicorn import Server

from safecity.anpr_cli import anpr_app
from safecity.core.errors import ConfigError, SafecityError
from safecity.core.logging import configure_logging
from safecity.core.settings import Settings, unknown_environment_names
from safecity.core.yamlfile import load_yaml_model
from safecity.registry.deployment import DeploymentFile
from safecity.sim.cli import sim_app
from safecity.web.mqtt_bridge import MqttEndpoint
from safecity.web.platform import Platform

app = typer.Typer(
    help="safecity: open Safe City platform", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database", no_args_is_help=True)
user_app = typer.Typer(help="User accounts", no_args_is_help=True)
token_app = typer.Typer(help="API tokens", no_args_is_help=True)
cameras_app = typer.Typer(help="Camera registry", no_args_is_help=True)
audit_app = typer.Typer(help="Audit log", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(cameras_app, name="cameras")
app.add_typer(audit_app, name="audit")
app.add_typer(sim_app, name="sim", help="Synthetic city: render scenes with ground truth")
app.add_typer(anpr_app, name="anpr", help="Number-plate reading (ANPR)")

# Results on stdout are plain, unwrapped text that scripts can parse (paths may hold
# brackets, which Rich would read as markup); stderr keeps colour but never wraps.
out = Console(soft_wrap=True, markup=False, highlight=False)
err = Console(stderr=True, soft_wrap=True)


def _settings(**overrides: object) -> Settings:
    for name in unknown_environment_names():
        err.print(f"[yellow]warning:[/] {name} is not a safecity setting (typo?)")
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        _fail(f"invalid settings: {exc}")
        raise  # unreachable: _fail exits


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _platform(settings: Settings, *, migrate: bool = True) -> Platform:
    from safecity.web.bootstrap import seed_base, upgrade_database
    from safecity.web.platform import build_platform

    platform = build_platform(settings)
    if migrate:
        upgrade_database(platform)
        seed_base(platform)
    return platform


def _demo_settings() -> Settings:
    base = _settings()
    from safecity.core.secrets import KeyStore

    secret = base.secret_key
    if base.uses_default_secret:
        secret_value = KeyStore(base.keys_dir).demo_secret()
        return _settings(demo=True, secret_key=secret_value)
    return _settings(demo=True, secret_key=secret)


# -- serving ---------------------------------------------------------------------------------


def _load_deployment(config: Path | None) -> DeploymentFile | None:
    if config is None:
        return None
    try:
        return load_yaml_model(config, DeploymentFile)
    except ConfigError as exc:
        _fail(exc.message)
        return None


@dataclass(frozen=True)
class Prepared:
    platform: Platform
    bus_url: str
    mqtt: MqttEndpoint | None
    admin_password: str | None


def _start_mqtt(stack: ExitStack, settings: Settings) -> MqttEndpoint | None:
    from safecity.bus.mosquitto import BRIDGE_USER, MosquittoServer

    if not settings.mqtt_broker:
        return None
    if not MosquittoServer.available():
        err.print("[yellow]warning:[/] mosquitto not installed: site telemetry by HTTP only")
        return None
    broker = MosquittoServer(settings.data_dir / "mqtt", settings.keys_dir)
    broker.start()
    stack.callback(broker.stop)
    account = broker.account(BRIDGE_USER)
    return MqttEndpoint("127.0.0.1", broker.port, account.username, account.password)


def _prepare(
    stack: ExitStack, settings: Settings, *, demo: bool, deployment: DeploymentFile | None
) -> Prepared:
    """Migrate, seed, apply the deployment file, start NATS; returns what serving needs."""
    from safecity.bus.server import NatsServer
    from safecity.identity.system import system_principal
    from safecity.registry.deployment import apply_deployment
    from safecity.web.bootstrap import ensure_demo_admin, seed_demo

    with _progress() as progress:
        task = progress.add_task("migrating database", total=None)
        platform = _platform(settings)
        stack.callback(platform.dispose)
        if deployment is not None:
            progress.update(task, description=f"applying deployment {deployment.name}")
            with platform.transaction() as session:
                counts = apply_deployment(
                    session, platform.registry, system_principal("up --config"), deployment
                )
            err.print(f"deployment {deployment.name}: {counts}")
        admin_password = None
        if demo:
            progress.update(task, description="seeding the demo province")
            sites, cameras = seed_demo(platform)
            if sites:
                err.print(f"seeded {sites} sites and {cameras} cameras")
            admin_password = ensure_demo_admin(platform)
        bus_url = settings.nats_url
        if bus_url is None:
            progress.update(task, description="starting the private NATS server")
            nats = NatsServer(settings.data_dir / "nats")
            nats.start()
            stack.callback(nats.stop)
            bus_url = nats.url
        progress.update(task, description="starting the private MQTT broker")
        mqtt = _start_mqtt(stack, settings)
        progress.update(task, description="ready", completed=1, total=1)
    return Prepared(platform, bus_url, mqtt, admin_password)


def _start_simulated_gateways(
    stack: ExitStack, settings: Settings, platform: Platform, server: Server, mqtt: MqttEndpoint
) -> None:
    """The demo's solar sites report through MQTT like real controllers; a few have
    faults (dead panel, worn battery, flapping link) for the power page to show."""
    from safecity.bus.mosquitto import GATEWAY_USER, MosquittoServer
    from safecity.registry.models import Site
    from safecity.sim.gateways import GatewayFleet
    from safecity.sim.solar import Fault, SolarSiteSpec

    with platform.sessions() as session:
        sites = session.scalars(
            select(Site).where(Site.power_source == "solar").order_by(Site.code).limit(12)
        ).all()
        faults: tuple[Fault, ...] = ("dead_panel", "worn_battery", "flapping_link")
        specs = [
            SolarSiteSpec(
                site.code,
                site.latitude,
                site.longitude,
                fault=faults[i] if i < len(faults) else "none",
            )
            for i, site in enumerate(sites)
        ]
    if not specs:
        return
    account = MosquittoServer(settings.data_dir / "mqtt", settings.keys_dir).account(GATEWAY_USER)
    fleet = GatewayFleet(
        specs,
        host=mqtt.host,
        port=mqtt.port,
        username=account.username,
        password=account.password,
        ready=lambda: _bridge_listening(server),
    )
    fleet.start()
    stack.callback(fleet.stop)


def _bridge_listening(server: Server) -> bool:
    state = getattr(server.config.app, "state", None)
    bridge = getattr(state, "mqtt_bridge", None)
    return bool(server.started and bridge is not None and bridge.subscribed.is_set())


def _start_video_workers(
    stack: ExitStack, settings: Settings, platform: Platform, bus_url: str
) -> None:
    """A deployment's cameras get what the demo's simulated cameras get: a place in an
    ingest group (health, recording as its mode says) and, where their analytics is enabled, a
    place in an analytics group under the supervisor."""
    from safecity.video_workers import start_analytics, start_ingest

    ingesting = start_ingest(stack, settings, platform, bus_url).groups()
    groups = start_analytics(stack, settings, platform, bus_url).groups()
    ingested = sum(len(members) for members in ingesting.values())
    analysed = sum(len(members) for members in groups.values())
    out.print(
        f"ingest workers: {ingested} cameras in {len(ingesting)} worker processes; "
        f"analytics: {analysed} cameras in {len(groups)} worker processes"
    )


def _serve(settings: Settings, *, demo: bool, config: Path | None) -> None:
    problems = settings.problems_for_serving()
    if demo or settings.video_workers:
        from safecity.video_workers import analytics_problems

        problems += analytics_problems(settings)
    if problems:
        _fail("refusing to start:\n  - " + "\n  - ".join(problems))
    configure_logging(settings.log_level)
    from safecity.web.server import build_server

    deployment = _load_deployment(config)
    with ExitStack() as stack:
        prepared = _prepare(stack, settings, demo=demo, deployment=deployment)
        platform, bus_url, admin_password = (
            prepared.platform,
            prepared.bus_url,
            prepared.admin_password,
        )
        platform.ready = True
        out.print(f"data folder: {settings.data_dir}")
        out.print(f"bus: {bus_url}")
        if prepared.mqtt is not None:
            out.print(f"site telemetry (MQTT): mqtt://127.0.0.1:{prepared.mqtt.port}")
        if admin_password:
            out.print(f"demo sign-in: user admin, password {admin_password}", highlight=False)
        sys.stdout.flush()
        if demo:
            from safecity.demo.cameras import DemoVideo

            def streaming(codes: list[str]) -> None:
                out.print(f"simulated cameras streaming and recorded: {', '.join(codes)}")
                sys.stdout.flush()

            video = DemoVideo(settings, platform, bus_url, settings.demo_video_cameras, streaming)
            if video.rendering:
                out.print(
                    "simulated cameras: rendering their clips (first start only, about a "
                    "minute); they stream once ready"
                )
            if video.start():
                stack.callback(video.stop)
            from safecity.demo.activity import start_alert_drill

            drilled = start_alert_drill(stack, settings, platform, bus_url)
            out.print(f"alert drill: simulated alerts on {drilled} cameras for the console")
            from safecity.demo.activity import start_fleet

            units = start_fleet(stack, settings, platform)
            out.print(f"demo fleet: {units} simulated units patrol and answer incidents")
        elif settings.video_workers:
            _start_video_workers(stack, settings, platform, bus_url)
        server = build_server(platform, bus_url=bus_url, mqtt=prepared.mqtt)
        if demo and prepared.mqtt is not None:
            _start_simulated_gateways(stack, settings, platform, server, prepared.mqtt)
        # Said last, when the server is about to answer: an address printed earlier
        # would refuse connections while the database, NATS and workers start.
        scheme = "https" if settings.tls_certfile else "http"
        out.print(f"safecity is serving on {scheme}://{settings.host}:{settings.port}")
        sys.stdout.flush()
        # uvicorn shuts down on SIGINT/SIGTERM and then re-raises the signal; by then the
        # server has stopped, and leaving this block stops NATS and the database.
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(server.serve())
    err.print("stopped")


@app.command()
def demo() -> None:
    """Run the command centre with the demo province on the embedded default (SQLite,
    private NATS, data in ./safecity-data unless SAFECITY_DATA_DIR is set)."""
    _serve(_demo_settings(), demo=True, config=None)


@app.command()
def up(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Deployment YAML file", exists=False)
    ] = None,
) -> None:
    """Run the command centre for a real deployment (needs SAFECITY_SECRET_KEY)."""
    _serve(_settings(), demo=False, config=config)


@app.command("check-config")
def check_config(config: Path) -> None:
    """Validate a deployment file without touching the database."""
    try:
        spec = load_yaml_model(config, DeploymentFile)
    except ConfigError as exc:
        _fail(exc.message)
        return
    out.print(
        f"{config}: ok ({len(spec.districts)} districts, {len(spec.sites)} sites, "
        f"{len(spec.cameras)} cameras)"
    )


# -- database --------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations and seed agencies, roles and districts."""
    settings = _settings()
    with _progress() as progress:
        progress.add_task("migrating", total=None)
        platform = _platform(settings)
    from safecity.db.migrate import current_revision

    out.print(f"database at revision {current_revision(platform.engine)}")
    platform.dispose()


# -- users and tokens -------------------------------------------------------------------------


@user_app.command("create")
def user_create(
    username: str,
    role: Annotated[list[str] | None, typer.Option("--role", help="Role slug (repeatable)")] = None,
    district: Annotated[list[str] | None, typer.Option("--district", help="District slug")] = None,
    all_districts: Annotated[bool, typer.Option(help="Province-wide scope")] = False,
    full_name: Annotated[str, typer.Option(help="Full name")] = "",
    agency: Annotated[str | None, typer.Option(help="Agency slug")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin")] = False,
) -> None:
    """Create a user; prints a generated password unless --password-stdin is given."""
    from safecity.identity.passwords import generate_password
    from safecity.identity.schemas import UserCreate
    from safecity.identity.system import system_principal

    password = sys.stdin.readline().rstrip("\n") if password_stdin else generate_password()
    platform = _platform(_settings())
    try:
        with platform.transaction() as session:
            platform.identity.create_user(
                session,
                system_principal("user create"),
                UserCreate(
                    username=username,
                    full_name=full_name,
                    agency=agency,
                    password=password,
                    roles=role or [],
                    districts=district or [],
                    all_districts=all_districts,
                ),
            )
    except SafecityError as exc:
        _fail(exc.message)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        platform.dispose()
    if not password_stdin:
        out.print(password, highlight=False)
    err.print(f"created user {username}")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="Username the token acts as")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
    expires_in_days: Annotated[int | None, typer.Option(help="Days until expiry")] = None,
) -> None:
    """Print a new API token for USER (accepted as 'Authorization: Bearer TOKEN')."""
    from safecity.identity.models import User
    from safecity.identity.system import system_principal

    platform = _platform(_settings())
    try:
        with platform.transaction() as session:
            row = session.scalars(select(User).where(User.username == user)).first()
            if row is None:
                _fail(f"no user named '{user}'")
                return
            _, raw = platform.identity.create_token(
                session,
                system_principal("token create").audit,
                user=row,
                name=name,
                expires_in_days=expires_in_days,
            )
    finally:
        platform.dispose()
    print(raw)


# -- cameras -----------------------------------------------------------------------------------


@cameras_app.command("import")
def cameras_import(file: Path) -> None:
    """Import cameras from CSV or YAML; bad rows are listed, good rows kept."""
    from safecity.identity.system import system_principal
    from safecity.registry.transfer import detect_format, parse

    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"{file}: {exc.strerror}")
        return
    platform = _platform(_settings())
    try:
        rows = parse(data, detect_format(file.name))
        with _progress() as progress:
            progress.add_task(f"importing {len(rows)} rows from {file}", total=None)
            with platform.transaction() as session:
                report = platform.importer.run(session, system_principal("cameras import"), rows)
    except SafecityError as exc:
        _fail(f"{file}: {exc.message}")
        return
    finally:
        platform.dispose()
    out.print(
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.sites_created} sites created, {report.failed} rows rejected"
    )
    for problem in report.problems:
        field = f" {problem.field}:" if problem.field else ""
        out.print(f"{file}: row {problem.row}:{field} {problem.message}", highlight=False)
    if report.problems:
        raise typer.Exit(1)


@cameras_app.command("export")
def cameras_export(
    format: Annotated[Literal["csv", "yaml"], typer.Option(help="Output format")] = "csv",
    district: Annotated[str | None, typer.Option(help="Only this district")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout)")
    ] = None,
) -> None:
    """Export cameras in import format (stream credentials withheld)."""
    from safecity.identity.system import system_principal
    from safecity.registry.service import CameraFilter
    from safecity.registry.transfer import export_rows, render

    platform = _platform(_settings())
    try:
        with platform.transaction() as session:
            cameras = platform.registry.all_cameras(
                session,
                system_principal("cameras export"),
                CameraFilter(district=district),
                action="export",
            )
            text = render(export_rows(cameras), format)
    finally:
        platform.dispose()
    if output:
        output.write_text(text)
        err.print(f"wrote {len(cameras)} cameras to {output}")
    else:
        sys.stdout.write(text)


# -- audit and backup --------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Recompute the hash chain and check every signed checkpoint. Exit 1 if tampered."""
    from safecity.audit.log import verify_chain
    from safecity.db.engine import read_only

    platform = _platform(_settings(), migrate=False)
    try:
        with _progress() as progress:
            progress.add_task("verifying the audit chain", total=None)
            with read_only(platform.engine) as session:
                report = verify_chain(session, platform.keys.audit_verify_key())
    finally:
        platform.dispose()
    out.print(f"records: {report.records}  checkpoints: {report.checkpoints}")
    out.print(f"head: record {report.head_seq} hash {report.head_hash}")
    if report.ok:
        out.print("audit log verified: intact")
        return
    for problem in report.problems:
        out.print(f"TAMPERED: {problem}", highlight=False)
    raise typer.Exit(1)


@app.command()
def backup(
    out_dir: Annotated[Path | None, typer.Option("--out", help="Folder for the backup")] = None,
) -> None:
    """Make a consistent online copy of the database (with the audit log) and the keys."""
    from safecity.db.backup import backup as run_backup

    settings = _settings()
    target = out_dir or settings.data_dir / "backups"
    try:
        result = run_backup(settings.sqlalchemy_url, settings.keys_dir, target)
    except (OSError, ValueError, RuntimeError) as exc:
        _fail(f"backup failed: {exc}")
        return
    out.print(str(result.directory))
    err.print(f"{len(result.files)} files, manifest with SHA-256 in MANIFEST.json")


def _interrupt(_signum: int, _frame: object) -> None:
    # SIGTERM outside the server loop (uvicorn handles its own) stops like Ctrl-C.
    raise KeyboardInterrupt


def main() -> None:
    # Typer prints its own usage errors; everything else exits with a clear message.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        err.print("stopped")
        raise SystemExit(0) from None
    except ConfigError as exc:
        err.print(f"[red]error:[/] {escape(exc.message)}", highlight=False)
        raise SystemExit(2) from None
