"""Why an ONVIF probe failed, in words an engineer can act on, without the password.

`classify` turns what the ONVIF library, zeep and aiohttp raise into one of the
`ProbeError` classes below. Each carries a stable `code` for the API and the form
field to highlight (`field`), on top of `safecity.core.errors.InvalidInput` (422):
for the onboarding form, an address or password that does not work is bad input.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

from safecity.core.errors import InvalidInput
from safecity.core.logging import scrub_credentials

# Ports ONVIF devices commonly listen on, offered in messages when the given one fails.
COMMON_PORTS = "80, 8000, 8080, 8899 or 2020"


class ProbeError(InvalidInput):
    """Base: the probe could not finish. `operation` names the ONVIF call that failed."""

    code = "onvif_probe_failed"

    def __init__(self, message: str, *, field: str | None = None, operation: str = "") -> None:
        super().__init__(message, field=field)
        self.operation = operation


class InvalidProbeInput(ProbeError):
    code = "onvif_invalid_input"


class CameraUnreachable(ProbeError):
    """Nothing answered: refused, unresolvable, or the connection dropped."""

    code = "onvif_unreachable"


class ProbeTimedOut(ProbeError):
    code = "onvif_timeout"


class CredentialsRejected(ProbeError):
    """HTTP 401/403 or the SOAP NotAuthorized fault."""

    code = "onvif_auth_failed"


class NotAnOnvifDevice(ProbeError):
    """Something answered HTTP, but not with SOAP."""

    code = "onvif_not_onvif"


class CameraFault(ProbeError):
    """The device answered an operation with a SOAP fault other than NotAuthorized."""

    code = "onvif_fault"


class OnvifUnsupported(ProbeError):
    """The device lacks something the probe needs (for example a media service)."""

    code = "onvif_unsupported"


@dataclasses.dataclass(frozen=True)
class ProbeContext:
    """Who was probed, and which operation was running, for the error message."""

    host: str
    port: int
    username: str
    password: str = dataclasses.field(repr=False)
    timeout: float
    operation: str = ""

    @property
    def where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def during(self) -> str:
        return f" during {self.operation}" if self.operation else ""

    def at(self, operation: str) -> ProbeContext:
        return dataclasses.replace(self, operation=operation)


def redact(text: str, password: str) -> str:
    """Text from a device may echo anything: drop URL credentials and the password itself."""
    text = scrub_credentials(text)
    return text.replace(password, "***") if password else text


def classify(exc: BaseException, ctx: ProbeContext) -> ProbeError | None:
    """The ProbeError for ``exc``, or None when it is not a failure we recognise (a bug)."""
    if isinstance(exc, ProbeError):
        return exc
    for reader in (_from_network, _from_soap, _from_library_error):
        error = reader(exc, ctx)
        if error is not None:
            return error
    return None


def _from_network(exc: BaseException, ctx: ProbeContext) -> ProbeError | None:
    import aiohttp

    where, during, op = ctx.where, ctx.during, ctx.operation
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return ProbeTimedOut(
            f"{where} did not answer{during} within {ctx.timeout:g} s: check the address, "
            "that the camera is powered and reachable from this server, and that no firewall "
            "drops the traffic",
            field="host",
            operation=op,
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return CameraUnreachable(
            f"cannot resolve the host name '{ctx.host}': check the spelling, or use the IP address",
            field="host",
            operation=op,
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return CameraUnreachable(
                f"{where} refused the connection: nothing listens on port {ctx.port}. ONVIF is "
                f"usually on port {COMMON_PORTS}, and some cameras ship with it disabled",
                field="port",
                operation=op,
            )
        reason = exc.os_error.strerror or type(exc.os_error).__name__
        return CameraUnreachable(
            f"cannot connect to {where}: {reason}; check the address and the network path",
            field="host",
            operation=op,
        )
    if isinstance(exc, aiohttp.ClientError):
        return CameraUnreachable(
            f"the connection to {where} failed{during} ({type(exc).__name__}): the device "
            "closed it or sent a broken HTTP answer",
            field="host",
            operation=op,
        )
    return None


def _from_soap(exc: BaseException, ctx: ProbeContext) -> ProbeError | None:
    from zeep import exceptions as zeep_exc

    where, during, op = ctx.where, ctx.during, ctx.operation
    if isinstance(exc, zeep_exc.Fault):
        return _from_fault(exc, ctx)
    if isinstance(exc, zeep_exc.TransportError):
        status = int(exc.status_code or 0)
        if status in {401, 403}:
            return CredentialsRejected(
                f"{where} refused user '{ctx.username}' with HTTP {status}{during}: check the "
                "user name and password. The camera asked for HTTP authentication; the probe "
                "signs requests with WS-Security, which may need enabling for ONVIF users",
                field="password",
                operation=op,
            )
        return NotAnOnvifDevice(
            f"{where} answered HTTP {status}{during}, but not with SOAP: this is not an ONVIF "
            f"device service. Check the port (ONVIF is usually on {COMMON_PORTS}) and that "
            "ONVIF is enabled on the camera",
            field="port",
            operation=op,
        )
    if isinstance(exc, (zeep_exc.XMLSyntaxError, zeep_exc.XMLParseError)):
        return NotAnOnvifDevice(
            f"{where} answered{during} with XML that is not a SOAP envelope: this is not an "
            f"ONVIF device service. Check the port (ONVIF is usually on {COMMON_PORTS})",
            field="port",
            operation=op,
        )
    if isinstance(exc, zeep_exc.Error):
        return CameraFault(
            f"{where} answered {op or 'a request'} in a way that breaks the ONVIF schema: "
            f"{redact(str(exc.message), ctx.password)[:300]}",
            operation=op,
        )
    return None


def is_not_authorized(fault: Any) -> bool:
    """NotAuthorized is a subcode by the ONVIF spec; some firmwares only say it in words."""
    subcodes = [_local_name(s).lower() for s in (fault.subcodes or [])]
    if any(s in {"notauthorized", "sendernotauthorized"} for s in subcodes):
        return True
    message = str(fault.message or "").lower()
    return any(word in message for word in ("not authorized", "notauthorized", "unauthori"))


def _from_fault(fault: Any, ctx: ProbeContext) -> ProbeError:
    where, during, op = ctx.where, ctx.during, ctx.operation
    if is_not_authorized(fault):
        return CredentialsRejected(
            f"{where} refused user '{ctx.username}' (SOAP NotAuthorized{during}): check the "
            "user name and password. Many cameras keep ONVIF users apart from web users, and "
            "some refuse requests when their clock is far from ours",
            field="password",
            operation=op,
        )
    code = _local_name(fault.code) if fault.code else ""
    if not code and str(fault.message or "") == "Unknown fault occured":
        # zeep's words for a non-200 answer that parsed as XML yet held no SOAP fault.
        return NotAnOnvifDevice(
            f"{where} answered{during} with an HTTP error and no SOAP fault: this is not an "
            f"ONVIF device service. Check the port (ONVIF is usually on {COMMON_PORTS})",
            field="port",
            operation=op,
        )
    names = "/".join(c for c in [code, *(_local_name(s) for s in fault.subcodes or [])] if c)
    reason = redact(str(fault.message or "no reason given"), ctx.password)[:300]
    return CameraFault(
        f"{where} answered {op or 'a request'} with SOAP fault {names or '(no code)'}: {reason}",
        operation=op,
    )


def _from_library_error(exc: BaseException, ctx: ProbeContext) -> ProbeError | None:
    from onvif.exceptions import ONVIFError  # type: ignore[import-untyped]

    if not isinstance(exc, ONVIFError):
        return None
    cause = exc.__cause__
    if cause is not None and not isinstance(cause, ONVIFError):
        # The library wraps request-building failures; judge by what went wrong.
        inner = classify(cause, ctx)
        if inner is not None:
            return inner
    text = redact(str(exc), ctx.password)
    if "support service" in text:
        return OnvifUnsupported(
            f"{ctx.where} does not offer the ONVIF {ctx.operation or 'needed'} service: the "
            "probe needs a media service (Profile S or T) to find the streams",
            operation=ctx.operation,
        )
    return ProbeError(f"ONVIF error talking to {ctx.where}: {text[:300]}", operation=ctx.operation)


_QNAME = re.compile(r"^\{[^}]*\}|^[^:{}]+:")


def _local_name(value: Any) -> str:
    """'{ns}NotAuthorized', 'ter:NotAuthorized' or an lxml QName -> 'NotAuthorized'."""
    text = getattr(value, "localname", None) or getattr(value, "text", None) or str(value)
    return _QNAME.sub("", str(text))
