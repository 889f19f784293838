"""Identity API shapes, one per direction."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UserCreate(_In):
    username: str = Field(
        min_length=3,
        max_length=150,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="Lower-case sign-in name",
    )
    full_name: str = Field("", max_length=200, description="Name shown in the audit log")
    agency: str | None = Field(None, description="Agency slug")
    password: str = Field(min_length=1, max_length=200, description="Initial password")
    roles: list[str] = Field(default_factory=list, description="Role slugs to grant")
    districts: list[str] = Field(default_factory=list, description="District slugs in scope")
    all_districts: bool = Field(False, description="Scope covers every district")
    cameras: list[int] = Field(default_factory=list, description="Camera ids granted one by one")


class UserUpdate(_In):
    full_name: str | None = Field(None, max_length=200, description="Name shown in the audit log")
    agency: str | None = Field(None, description="Agency slug")
    is_active: bool | None = Field(None, description="False signs the user out everywhere")


class ScopeUpdate(_In):
    districts: list[str] = Field(default_factory=list, description="District slugs in scope")
    all_districts: bool = Field(False, description="Scope covers every district")
    cameras: list[int] = Field(default_factory=list, description="Camera ids granted one by one")


class RolesUpdate(_In):
    roles: list[str] = Field(description="The complete set of role slugs the user should hold")


class PasswordReset(_In):
    password: str = Field(min_length=1, max_length=200, description="New password")
    current_password: str | None = Field(
        None, max_length=200, description="Required when changing your own password"
    )


class UserPublic(BaseModel):
    id: int
    username: str
    full_name: str
    agency: str | None
    is_active: bool
    roles: list[str]
    districts: list[str]
    all_districts: bool
    cameras: list[int]
    totp_enabled: bool
    last_login_at: datetime | None
    version: int


class RolePublic(BaseModel):
    slug: str
    name: str
    description: str
    permissions: list[str]


class AgencyPublic(BaseModel):
    slug: str
    name: str
    kind: str


class TokenCreate(_In):
    name: str = Field("api", min_length=1, max_length=120, description="What the token is for")
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="Empty: no expiry")


class TokenCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="Shown once; only its hash is stored")


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
