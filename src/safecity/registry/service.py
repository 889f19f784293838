"""Registry service: districts, sites and cameras through the one permission filter.

Every list and view is audited; every change is audited with before/after and
announced on the bus through the outbox (after commit, never before).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from safecity.audit.log import AuditLog
from safecity.contracts.ingest import RecordingModeChanged
from safecity.contracts.registry import CameraChanged, SiteChanged
from safecity.core.errors import (
    ConfigError,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from safecity.core.secrets import CredentialCipher
from safecity.db.outbox import enqueue
from safecity.identity.permissions import Principal, get_in_scope, in_scope, restrict
from safecity.registry.models import Camera, District, Owner, Site
from safecity.registry.schemas import (
    CameraCreate,
    CameraPublic,
    CameraUpdate,
    DistrictPublic,
    PrivacyMask,
    SiteCreate,
    SitePublic,
    SiteUpdate,
)
from safecity.registry.streams import display_form, is_withheld


@dataclass(frozen=True)
class CameraFilter:
    district: str | None = None
    site: str | None = None
    status: str | None = None
    ownership: str | None = None
    query: str | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v]
        return ", ".join(parts) or "no filter"


@dataclass(frozen=True)
class SiteFilter:
    district: str | None = None
    site_type: str | None = None
    rollout_status: str | None = None
    query: str | None = None

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if v]
        return ", ".join(parts) or "no filter"


class RegistryService:
    def __init__(self, audit: AuditLog, cipher: CredentialCipher) -> None:
        self.audit = audit
        self.cipher = cipher

    # -- districts --------------------------------------------------------------------------

    def list_districts(self, session: Session, principal: Principal) -> list[DistrictPublic]:
        stmt = restrict(District, principal, "districts.view").order_by(District.name)
        districts = list(session.scalars(stmt))
        counts = self._district_counts(session, principal)
        return [
            DistrictPublic(
                slug=d.slug,
                name=d.name,
                province=d.province,
                latitude=d.latitude,
                longitude=d.longitude,
                **counts.get(d.id, {"sites": 0, "cameras": 0, "cameras_online": 0}),
            )
            for d in districts
        ]

    def _district_counts(self, session: Session, principal: Principal) -> dict[int, dict[str, int]]:
        counts: dict[int, dict[str, int]] = {}
        if principal.has_permission("sites.view"):
            for district_id, n in session.execute(
                restrict(Site, principal, "sites.view")
                .with_only_columns(Site.district_id, func.count())
                .group_by(Site.district_id)
            ):
                counts.setdefault(district_id, {"sites": 0, "cameras": 0, "cameras_online": 0})
                counts[district_id]["sites"] = n
        if principal.has_permission("cameras.view"):
            online = func.sum(case((Camera.status == "online", 1), else_=0))
            for district_id, n, up in session.execute(
                restrict(Camera, principal, "cameras.view")
                .with_only_columns(Camera.district_id, func.count(), online)
                .group_by(Camera.district_id)
            ):
                counts.setdefault(district_id, {"sites": 0, "cameras": 0, "cameras_online": 0})
                counts[district_id]["cameras"] = n
                counts[district_id]["cameras_online"] = int(up or 0)
        return counts

    def district_by_slug(self, session: Session, principal: Principal, slug: str) -> District:
        district = session.scalars(
            restrict(District, principal, "districts.view").where(District.slug == slug)
        ).first()
        if district is None:
            raise NotFound(f"district '{slug}' not found")
        return district

    # -- sites ------------------------------------------------------------------------------

    def _sites(self, principal: Principal, flt: SiteFilter) -> Select[Site]:
        stmt = restrict(Site, principal, "sites.view")
        if flt.district:
            stmt = stmt.join(District, Site.district_id == District.id).where(
                District.slug == flt.district
            )
        if flt.site_type:
            stmt = stmt.where(Site.site_type == flt.site_type)
        if flt.rollout_status:
            stmt = stmt.where(Site.rollout_status == flt.rollout_status)
        if flt.query:
            like = f"%{flt.query.lower()}%"
            stmt = stmt.where(
                or_(func.lower(Site.name).like(like), func.lower(Site.code).like(like))
            )
        return stmt

    def list_sites(
        self, session: Session, principal: Principal, flt: SiteFilter, *, limit: int, offset: int
    ) -> tuple[list[SitePublic], int]:
        stmt = self._sites(principal, flt)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        sites = list(session.scalars(stmt.order_by(Site.code).limit(limit).offset(offset)))
        counts = self._camera_counts(session, principal, [s.id for s in sites])
        self.audit.append(
            session,
            principal.audit,
            action="search",
            object_type="site",
            summary=f"listed sites ({flt.describe()}): {len(sites)} of {total}",
        )
        return [self.site_public(session, s, counts.get(s.id, 0)) for s in sites], total

    @staticmethod
    def _camera_counts(
        session: Session, principal: Principal, site_ids: list[int]
    ) -> dict[int, int]:
        """Cameras per site, counting only those the principal may see."""
        counts: dict[int, int] = {}
        if not principal.has_permission("cameras.view"):
            return counts
        for start in range(0, len(site_ids), 900):  # stay under SQLite's parameter limit
            chunk = site_ids[start : start + 900]
            rows = session.execute(
                restrict(Camera, principal, "cameras.view")
                .with_only_columns(Camera.site_id, func.count())
                .where(Camera.site_id.in_(chunk))
                .group_by(Camera.site_id)
            )
            for site_id, n in rows:
                counts[site_id] = n
        return counts

    def site_public(self, session: Session, site: Site, cameras: int) -> SitePublic:
        return SitePublic(
            id=site.id,
            code=site.code,
            name=site.name,
            district=site.district.slug,
            site_type=site.site_type,
            latitude=site.latitude,
            longitude=site.longitude,
            phase=site.phase,
            rollout_status=site.rollout_status,
            power_source=site.power_source,
            address=site.address,
            cameras=cameras,
            version=site.version,
            updated_at=site.updated_at,
        )

    def site_summary(self, session: Session, principal: Principal, site: Site) -> SitePublic:
        counts = self._camera_counts(session, principal, [site.id])
        return self.site_public(session, site, counts.get(site.id, 0))

    def get_site(self, session: Session, principal: Principal, site_id: int) -> Site:
        site = get_in_scope(session, Site, principal, "sites.view", site_id)
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="site",
            object_id=site.id,
            district=site.district.slug,
            summary=f"viewed site {site.code}",
        )
        return site

    def site_by_code(self, session: Session, principal: Principal, code: str) -> Site:
        site = session.scalars(
            restrict(Site, principal, "sites.view").where(Site.code == code)
        ).first()
        if site is None:
            raise NotFound(f"site '{code}' not found", field="site")
        return site

    def create_site(self, session: Session, principal: Principal, data: SiteCreate) -> Site:
        principal.require("sites.change")
        district = self._district_for_change(session, principal, data.district)
        if session.scalars(select(Site.id).where(Site.code == data.code)).first():
            raise Conflict(f"site code '{data.code}' already exists", field="code")
        site = Site(**data.model_dump(exclude={"district"}), district_id=district.id)
        session.add(site)
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="site",
            object_id=site.id,
            district=district.slug,
            summary=f"created site {site.code}",
            after=_site_snapshot(site, district.slug),
        )
        enqueue(session, _site_message("created", site, district.slug))
        return site

    def update_site(
        self,
        session: Session,
        principal: Principal,
        site_id: int,
        data: SiteUpdate,
        *,
        expected_version: int | None,
    ) -> Site:
        principal.require("sites.change")
        site = get_in_scope(session, Site, principal, "sites.view", site_id)
        if principal.district_ids is not None and site.district_id not in principal.district_ids:
            # Seeing a site through one granted camera is not a licence to edit the site.
            raise PermissionDenied(f"changing site {site.code} needs its district in your scope")
        _check_version(site.version, expected_version, f"site {site.code}")
        before = _site_snapshot(site, site.district.slug)
        for name, value in data.model_dump(exclude_unset=True).items():
            if value is not None:
                setattr(site, name, value)
        session.flush()
        after = _site_snapshot(site, site.district.slug)
        if after != before:
            self.audit.append(
                session,
                principal.audit,
                action="update",
                object_type="site",
                object_id=site.id,
                district=site.district.slug,
                summary=f"updated site {site.code}",
                before=before,
                after=after,
            )
            enqueue(session, _site_message("updated", site, site.district.slug))
        return site

    # -- cameras ----------------------------------------------------------------------------

    def _cameras(self, principal: Principal, flt: CameraFilter) -> Select[Camera]:
        stmt = restrict(Camera, principal, "cameras.view")
        if flt.district:
            stmt = stmt.where(
                Camera.district_id.in_(select(District.id).where(District.slug == flt.district))
            )
        if flt.site:
            stmt = stmt.where(Camera.site_id.in_(select(Site.id).where(Site.code == flt.site)))
        if flt.status:
            stmt = stmt.where(Camera.status == flt.status)
        if flt.ownership:
            stmt = stmt.where(Camera.ownership == flt.ownership)
        if flt.query:
            like = f"%{flt.query.lower()}%"
            stmt = stmt.where(
                or_(func.lower(Camera.name).like(like), func.lower(Camera.code).like(like))
            )
        return stmt

    def list_cameras(
        self, session: Session, principal: Principal, flt: CameraFilter, *, limit: int, offset: int
    ) -> tuple[list[Camera], int]:
        stmt = self._cameras(principal, flt)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        cameras = list(session.scalars(stmt.order_by(Camera.code).limit(limit).offset(offset)))
        self.audit.append(
            session,
            principal.audit,
            action="search",
            object_type="camera",
            district=flt.district,
            summary=f"listed cameras ({flt.describe()}): {len(cameras)} of {total}",
        )
        return cameras, total

    def all_cameras(
        self, session: Session, principal: Principal, flt: CameraFilter, *, action: str = "search"
    ) -> list[Camera]:
        """Every camera in scope matching ``flt`` (map, or export with action="export");
        one audit record."""
        if action == "export":
            principal.require("cameras.export")
        cameras = list(session.scalars(self._cameras(principal, flt).order_by(Camera.code)))
        self.audit.append(
            session,
            principal.audit,
            action=action,
            object_type="camera",
            district=flt.district,
            summary=f"{'exported' if action == 'export' else 'mapped'} cameras "
            f"({flt.describe()}): {len(cameras)}",
        )
        return cameras

    def get_camera(self, session: Session, principal: Principal, camera_id: int) -> Camera:
        camera = get_in_scope(session, Camera, principal, "cameras.view", camera_id)
        self.audit.append(
            session,
            principal.audit,
            action="view",
            object_type="camera",
            object_id=camera.id,
            district=camera.district.slug,
            summary=f"viewed camera {camera.code}",
        )
        return camera

    def create_camera(self, session: Session, principal: Principal, data: CameraCreate) -> Camera:
        principal.require("cameras.change")
        site = self._site_for_change(session, principal, data.site)
        if session.scalars(select(Camera.id).where(Camera.code == data.code)).first():
            raise Conflict(f"camera code '{data.code}' already exists", field="code")
        camera = Camera(code=data.code, site_id=site.id, district_id=site.district_id)
        camera.site = site
        camera.district = site.district
        self._apply(session, camera, data.model_dump(exclude={"code", "site"}, exclude_unset=False))
        session.add(camera)
        session.flush()
        self._require_still_visible(session, principal, camera)
        self.audit.append(
            session,
            principal.audit,
            action="create",
            object_type="camera",
            object_id=camera.id,
            district=camera.district.slug,
            summary=f"created camera {camera.code}",
            after=camera_snapshot(camera),
        )
        enqueue(session, camera_message("created", camera))
        return camera

    def update_camera(
        self,
        session: Session,
        principal: Principal,
        camera_id: int,
        data: CameraUpdate,
        *,
        expected_version: int | None,
    ) -> Camera:
        principal.require("cameras.change")
        camera = get_in_scope(session, Camera, principal, "cameras.view", camera_id)
        _check_version(camera.version, expected_version, f"camera {camera.code}")
        return self._update(session, principal, camera, data.model_dump(exclude_unset=True))

    def _update(
        self, session: Session, principal: Principal, camera: Camera, changes: dict[str, Any]
    ) -> Camera:
        before = camera_snapshot(camera)
        sealed = (camera.main_stream_enc, camera.sub_stream_enc)
        site_code = changes.pop("site", None)
        if site_code and site_code != camera.site.code:
            site = self._site_for_change(session, principal, site_code)
            camera.site, camera.site_id = site, site.id
            camera.district, camera.district_id = site.district, site.district_id
        self._apply(session, camera, {k: v for k, v in changes.items() if v is not None})
        session.flush()
        self._require_still_visible(session, principal, camera)
        after = camera_snapshot(camera)
        # The snapshot shows streams without credentials: a new password alone must
        # still leave an audit record and a change message.
        rekeyed = sealed != (camera.main_stream_enc, camera.sub_stream_enc)
        if after != before or rekeyed:
            note = " (stream credentials changed)" if rekeyed and after == before else ""
            self.audit.append(
                session,
                principal.audit,
                action="update",
                object_type="camera",
                object_id=camera.id,
                district=camera.district.slug,
                summary=f"updated camera {camera.code}{note}",
                before=before,
                after=after,
            )
            enqueue(session, camera_message("updated", camera))
        if after["recording_mode"] != before["recording_mode"]:
            # The camera's running ingest worker switches without a restart.
            enqueue(
                session,
                RecordingModeChanged(
                    camera_id=camera.code, mode=camera.recording_mode, version=camera.version
                ),
            )
        return camera

    def delete_camera(
        self,
        session: Session,
        principal: Principal,
        camera_id: int,
        *,
        expected_version: int | None,
    ) -> None:
        principal.require("cameras.change")
        camera = get_in_scope(session, Camera, principal, "cameras.view", camera_id)
        _check_version(camera.version, expected_version, f"camera {camera.code}")
        message = camera_message("deleted", camera)
        before = camera_snapshot(camera)
        session.delete(camera)
        session.flush()
        self.audit.append(
            session,
            principal.audit,
            action="delete",
            object_type="camera",
            object_id=camera_id,
            district=message.district,
            summary=f"deleted camera {message.code}",
            before=before,
        )
        enqueue(session, message)

    # -- helpers shared with the importer -----------------------------------------------------

    def _apply(self, session: Session, camera: Camera, values: dict[str, Any]) -> None:
        for key in ("main_stream_url", "sub_stream_url"):
            if key not in values:
                continue
            url = values.pop(key)
            prefix = key.removesuffix("_url")
            if url is None:
                continue
            if is_withheld(url):
                if getattr(camera, f"{prefix}_display") != url:
                    raise InvalidInput(
                        "credentials were withheld in this URL and it differs from the stored "
                        "stream; give the full URL with credentials",
                        field=key,
                    )
                continue
            stored = getattr(camera, f"{prefix}_enc")
            if stored is not None and self._decrypts_to(stored, url):
                # Encrypting again yields new ciphertext; saving the same URL is no change.
                continue
            setattr(camera, f"{prefix}_enc", self.cipher.encrypt(url))
            setattr(camera, f"{prefix}_display", display_form(url))
        if "resolution" in values:
            resolution = values.pop("resolution")
            camera.resolution_width, camera.resolution_height = resolution or (None, None)
        if "owner" in values:
            name = values.pop("owner")
            camera.owner = self._owner(session, name, values.get("ownership", camera.ownership))
        if "privacy_masks" in values:
            # Stored as JSON (lists, never tuples) so an unchanged mask compares equal.
            values["privacy_masks"] = [
                PrivacyMask.model_validate(m).model_dump(mode="json")
                for m in values["privacy_masks"]
            ]
        for key, value in values.items():
            setattr(camera, key, value)
        if camera.latitude is None and camera.site is not None:
            camera.latitude, camera.longitude = camera.site.latitude, camera.site.longitude

    def _decrypts_to(self, token: str, plaintext: str) -> bool:
        try:
            return self.cipher.decrypt(token) == plaintext
        except ConfigError:
            return False

    @staticmethod
    def _owner(session: Session, name: str | None, ownership: str | None) -> Owner | None:
        if not name:
            return None
        owner = session.scalars(select(Owner).where(Owner.name == name)).first()
        if owner is None:
            owner = Owner(name=name, kind=ownership or "public")
            session.add(owner)
            session.flush()
        return owner

    def _site_for_change(self, session: Session, principal: Principal, code: str) -> Site:
        site = session.scalars(
            restrict(Site, principal, "sites.view").where(Site.code == code)
        ).first()
        if site is None:
            raise InvalidInput(f"site '{code}' not found in your scope", field="site")
        return site

    def _district_for_change(self, session: Session, principal: Principal, slug: str) -> District:
        district = session.scalars(select(District).where(District.slug == slug)).first()
        if district is None:
            raise InvalidInput(f"unknown district '{slug}'", field="district")
        if principal.district_ids is not None and district.id not in principal.district_ids:
            raise InvalidInput(f"district '{slug}' is outside your scope", field="district")
        return district

    @staticmethod
    def _require_still_visible(session: Session, principal: Principal, camera: Camera) -> None:
        if not in_scope(session, camera, principal):
            raise InvalidInput(
                "this change would move the camera outside your own scope", field="site"
            )


def _check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"{what} was changed by someone else (now version {current}, you had {expected}); "
            "reload and apply your change again"
        )


def camera_snapshot(camera: Camera) -> dict[str, Any]:
    """What the audit log keeps of a camera: everything except encrypted credentials."""
    return {
        "code": camera.code,
        "name": camera.name,
        "site": camera.site.code if camera.site else None,
        "district": camera.district.slug if camera.district else None,
        "ownership": camera.ownership,
        "owner": camera.owner.name if camera.owner else None,
        "vendor": camera.vendor,
        "make": camera.make,
        "model": camera.model,
        "main_stream": camera.main_stream_display,
        "sub_stream": camera.sub_stream_display,
        "resolution": _resolution_text(camera),
        "fps": camera.fps,
        "codec": camera.codec,
        "recording_mode": camera.recording_mode,
        "ptz": camera.ptz,
        "purpose": camera.purpose,
        "legal_basis": camera.legal_basis,
        "privacy_masks": camera.privacy_masks,
        "status": camera.status,
        "latitude": camera.latitude,
        "longitude": camera.longitude,
    }


def _resolution_text(camera: Camera) -> str | None:
    if camera.resolution_width and camera.resolution_height:
        return f"{camera.resolution_width}x{camera.resolution_height}"
    return None


def camera_public(camera: Camera) -> CameraPublic:
    return CameraPublic(
        id=camera.id,
        code=camera.code,
        name=camera.name,
        site=camera.site.code,
        site_name=camera.site.name,
        district=camera.district.slug,
        ownership=camera.ownership,
        owner=camera.owner.name if camera.owner else None,
        vendor=camera.vendor,
        make=camera.make,
        model=camera.model,
        main_stream=camera.main_stream_display,
        sub_stream=camera.sub_stream_display,
        has_main_stream=camera.main_stream_enc is not None,
        has_sub_stream=camera.sub_stream_enc is not None,
        resolution=_resolution_text(camera),
        fps=camera.fps,
        codec=camera.codec,
        recording_mode=camera.recording_mode,
        ptz=camera.ptz,
        purpose=camera.purpose,
        legal_basis=camera.legal_basis,
        privacy_masks=camera.privacy_masks,
        status=camera.status,
        latitude=camera.latitude if camera.latitude is not None else camera.site.latitude,
        longitude=camera.longitude if camera.longitude is not None else camera.site.longitude,
        version=camera.version,
        updated_at=camera.updated_at,
    )


def camera_message(change: str, camera: Camera) -> CameraChanged:
    return CameraChanged(
        change=change,
        camera_id=camera.id,
        code=camera.code,
        district=camera.district.slug,
        site_code=camera.site.code if camera.site else None,
        name=camera.name,
        ownership=camera.ownership,
        status=camera.status,
        has_main_stream=camera.main_stream_enc is not None,
        has_sub_stream=camera.sub_stream_enc is not None,
        privacy_mask_count=len(camera.privacy_masks or []),
    )


def _site_snapshot(site: Site, district: str) -> dict[str, Any]:
    return {
        "code": site.code,
        "name": site.name,
        "district": district,
        "site_type": site.site_type,
        "latitude": site.latitude,
        "longitude": site.longitude,
        "phase": site.phase,
        "rollout_status": site.rollout_status,
        "power_source": site.power_source,
        "address": site.address,
    }


def _site_message(change: str, site: Site, district: str) -> SiteChanged:
    return SiteChanged(
        change=change,
        site_id=site.id,
        code=site.code,
        district=district,
        name=site.name,
        site_type=site.site_type,
        rollout_status=site.rollout_status,
        latitude=site.latitude,
        longitude=site.longitude,
    )
