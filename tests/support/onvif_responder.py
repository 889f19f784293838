"""A small ONVIF device for tests: SOAP 1.2 over HTTP on 127.0.0.1 and a free port.

It answers what `safecity.registry.onvif.probe_camera` (and the ONVIF client library
under it) asks during discovery and the probe: GetSystemDateAndTime, GetServices,
GetCapabilities, GetDeviceInformation, GetScopes, media GetProfiles and GetStreamUri.
Every operation but GetSystemDateAndTime needs a WS-UsernameToken whose digest
(Base64(SHA1(nonce + created + password))) matches, as on a real camera; a wrong one
gets the ONVIF NotAuthorized fault (or HTTP 401 for cameras that answer that way).

The server runs an aiohttp loop in a background thread, so both async tests and the
synchronous wrapper (which starts its own event loop) can reach it.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import socket
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from aiohttp import web

ENV = "http://www.w3.org/2003/05/soap-envelope"
TDS = "http://www.onvif.org/ver10/device/wsdl"
TRT = "http://www.onvif.org/ver10/media/wsdl"
TT = "http://www.onvif.org/ver10/schema"
TER = "http://www.onvif.org/ver10/error"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

DEVICE_PATH = "/onvif/device_service"
MEDIA_PATH = "/onvif/media_service"
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

# The ONVIF core spec lets a device answer this one before authentication, so a
# client can learn the device clock and sign its later requests with it.
PRE_AUTH_OPERATIONS = frozenset({"GetSystemDateAndTime"})


@dataclass(frozen=True)
class FakeProfile:
    """One media profile: a video encoder configuration and the path of its RTSP stream."""

    token: str
    name: str
    encoding: str | None = "H264"  # None: a profile without a video encoder (audio only)
    width: int = 1920
    height: int = 1080
    fps: int = 25
    bitrate_kbps: int = 4096
    stream_path: str = "/Streaming/Channels/101"


DEFAULT_PROFILES = (
    FakeProfile("prof-main", "mainStream"),
    FakeProfile(
        "prof-sub",
        "subStream",
        width=640,
        height=360,
        fps=15,
        bitrate_kbps=512,
        stream_path="/Streaming/Channels/102?transportmode=unicast",
    ),
)

DEFAULT_SCOPES = (
    "onvif://www.onvif.org/type/video_encoder",
    "onvif://www.onvif.org/Profile/Streaming",
    "onvif://www.onvif.org/Profile/T",
    "onvif://www.onvif.org/hardware/DS-2CD2043G2",
    "onvif://www.onvif.org/name/Test%20Camera",
)


@dataclass
class ResponderConfig:
    """What the fake camera claims, and how strict it is; tests change fields freely."""

    username: str = "admin"
    password: str = "Kh!ber-2025-pass"
    clock_offset_seconds: float = 0.0
    date_time_type: str = "NTP"
    # False: report LocalDateTime and TZ only, as some firmwares do.
    report_utc: bool = True
    time_zone: str = "PKT-5"
    manufacturer: str = "Hikvision"
    model: str = "DS-2CD2043G2-I"
    firmware: str = "V5.7.3 build 220112"
    serial: str = "DS-2CD2043G2-I20230101AAWRJ12345678"
    hardware_id: str = "88"
    profiles: tuple[FakeProfile, ...] = DEFAULT_PROFILES
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    # Host in the stream URIs; None: the address the client used to reach us.
    rtsp_host: str | None = None
    rtsp_port: int = 554
    # How a wrong password is answered: the ONVIF SOAP fault, or a bare HTTP 401.
    auth_failure: str = "soap"
    # Reject a UsernameToken whose Created is further than this from the device clock.
    max_created_skew_seconds: float | None = 30.0
    # Older devices lack GetServices; the client must fall back to GetCapabilities.
    supports_get_services: bool = True
    # False: a device without a media service (a door controller, an NVR front end).
    offers_media: bool = True
    # Operation name -> reason text of a Receiver fault to answer instead.
    faults: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One request as the responder saw it (for assertions)."""

    operation: str
    authenticated: bool
    stream_setup: tuple[str, str] | None = None  # (Stream, Transport/Protocol) of GetStreamUri


class _Fault(Exception):
    def __init__(self, code: str, subcodes: tuple[str, ...], reason: str, status: int) -> None:
        super().__init__(reason)
        self.code = code
        self.subcodes = subcodes
        self.reason = reason
        self.status = status


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken Profile 1.0: Base64(SHA1(nonce + created + password))."""
    raw = nonce + created.encode() + password.encode()
    return base64.b64encode(hashlib.sha1(raw).digest()).decode()  # noqa: S324 - the WS-Security standard's hash


def _envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<env:Envelope xmlns:env="{ENV}" xmlns:tds="{TDS}" xmlns:trt="{TRT}" '
        f'xmlns:tt="{TT}" xmlns:ter="{TER}">'
        f"<env:Body>{body}</env:Body></env:Envelope>"
    )


def _fault_envelope(fault: _Fault) -> str:
    # Subcodes nest, innermost last (ONVIF core spec 5.11.2).
    subcodes = "".join(
        f"<env:Subcode><env:Value>{escape(sub)}</env:Value>" for sub in fault.subcodes
    ) + "</env:Subcode>" * len(fault.subcodes)
    return _envelope(
        "<env:Fault>"
        f"<env:Code><env:Value>{escape(fault.code)}</env:Value>{subcodes}</env:Code>"
        f'<env:Reason><env:Text xml:lang="en">{escape(fault.reason)}</env:Text></env:Reason>'
        "</env:Fault>"
    )


def _date_time_xml(tag: str, moment: dt.datetime) -> str:
    return (
        f"<tt:{tag}><tt:Time><tt:Hour>{moment.hour}</tt:Hour><tt:Minute>{moment.minute}"
        f"</tt:Minute><tt:Second>{moment.second}</tt:Second></tt:Time><tt:Date><tt:Year>"
        f"{moment.year}</tt:Year><tt:Month>{moment.month}</tt:Month><tt:Day>{moment.day}"
        f"</tt:Day></tt:Date></tt:{tag}>"
    )


class OnvifResponder:
    """The fake device. Use as a context manager, or call start() and stop()."""

    def __init__(self, config: ResponderConfig | None = None) -> None:
        self.config = config or ResponderConfig()
        self.calls: list[Call] = []
        self._server = _ThreadedServer(self._build_app)

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> OnvifResponder:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> OnvifResponder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def device_now(self) -> dt.datetime:
        offset = dt.timedelta(seconds=self.config.clock_offset_seconds)
        return dt.datetime.now(dt.UTC) + offset

    # -- HTTP -------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(DEVICE_PATH, self._handle)
        app.router.add_post(MEDIA_PATH, self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            # Parsed with the standard library: the only client is our own test code
            # on loopback, so entity-expansion attacks are not a concern here.
            envelope = ET.fromstring(body)  # noqa: S314
        except ET.ParseError:
            fault = _Fault("env:Sender", ("ter:WellFormed",), "request is not XML", 400)
            return self._fault_response(fault)
        operation, payload = self._operation(envelope)
        try:
            authenticated = self._check_credentials(envelope, operation)
            xml = self._answer(request, operation, payload, authenticated)
        except _Fault as fault:
            return self._fault_response(fault)
        return web.Response(text=xml, status=200, content_type="application/soap+xml")

    def _fault_response(self, fault: _Fault) -> web.Response:
        if fault.status == 401:
            return web.Response(
                status=401,
                headers={"WWW-Authenticate": 'Digest realm="IP Camera", nonce="abc", qop="auth"'},
            )
        return web.Response(
            text=_fault_envelope(fault), status=fault.status, content_type="application/soap+xml"
        )

    @staticmethod
    def _operation(envelope: ET.Element) -> tuple[str, ET.Element | None]:
        body = envelope.find(_q(ENV, "Body"))
        if body is None or len(body) == 0:
            return "", None
        payload = body[0]
        return payload.tag.rsplit("}", 1)[-1], payload

    # -- WS-Security ------------------------------------------------------------------

    def _check_credentials(self, envelope: ET.Element, operation: str) -> bool:
        """Return whether the request carried valid credentials; raise when it must."""
        token = envelope.find(
            f"{_q(ENV, 'Header')}/{_q(WSSE, 'Security')}/{_q(WSSE, 'UsernameToken')}"
        )
        valid = token is not None and self._token_valid(token)
        if valid or operation in PRE_AUTH_OPERATIONS:
            return valid
        if self.config.auth_failure == "http401":
            raise _Fault("env:Sender", ("ter:NotAuthorized",), "", 401)
        raise _Fault(
            "env:Sender",
            ("ter:NotAuthorized", "ter:SenderNotAuthorized"),
            "Sender not Authorized",
            400,
        )

    def _token_valid(self, token: ET.Element) -> bool:
        username = token.findtext(_q(WSSE, "Username"), default="")
        password = token.find(_q(WSSE, "Password"))
        nonce_text = token.findtext(_q(WSSE, "Nonce"), default="")
        created = token.findtext(_q(WSU, "Created"), default="")
        if password is None or username != self.config.username:
            return False
        supplied = password.text or ""
        if password.get("Type", "").endswith("#PasswordText"):
            return hmac.compare_digest(supplied, self.config.password)
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
            created_at = dt.datetime.fromisoformat(created)
        except ValueError:
            return False
        expected = password_digest(nonce, created, self.config.password)
        if not hmac.compare_digest(supplied, expected):
            return False
        limit = self.config.max_created_skew_seconds
        if limit is None:
            return True
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=dt.UTC)
        # Cameras refuse stale or future tokens against their own clock: that is why
        # a client must learn the device clock before it can authenticate.
        return abs((created_at - self.device_now()).total_seconds()) <= limit

    # -- operations -------------------------------------------------------------------

    def _answer(
        self, request: web.Request, operation: str, payload: ET.Element | None, auth: bool
    ) -> str:
        stream_setup = None
        if operation == "GetStreamUri" and payload is not None:
            setup = payload.find(_q(TRT, "StreamSetup"))
            stream = setup.findtext(_q(TT, "Stream"), default="") if setup is not None else ""
            path = f"{_q(TT, 'Transport')}/{_q(TT, 'Protocol')}"
            protocol = setup.findtext(path, default="") if setup is not None else ""
            stream_setup = (stream, protocol)
        self.calls.append(Call(operation, auth, stream_setup))
        if operation in self.config.faults:
            raise _Fault("env:Receiver", ("ter:Action",), self.config.faults[operation], 500)
        on_media = request.path == MEDIA_PATH
        handlers = self._media_handlers() if on_media else self._device_handlers()
        handler = handlers.get(operation)
        if handler is None or (
            operation == "GetServices" and not self.config.supports_get_services
        ):
            raise _Fault(
                "env:Receiver",
                ("ter:ActionNotSupported",),
                f"Optional Action Not Implemented: {operation}",
                500,
            )
        base = f"http://{request.host}"
        return _envelope(handler(base, payload))

    def _device_handlers(self) -> dict[str, Callable[[str, ET.Element | None], str]]:
        return {
            "GetSystemDateAndTime": self._get_system_date_and_time,
            "GetServices": self._get_services,
            "GetCapabilities": self._get_capabilities,
            "GetDeviceInformation": self._get_device_information,
            "GetScopes": self._get_scopes,
        }

    def _media_handlers(self) -> dict[str, Callable[[str, ET.Element | None], str]]:
        return {"GetProfiles": self._get_profiles, "GetStreamUri": self._get_stream_uri}

    def _get_system_date_and_time(self, base: str, payload: ET.Element | None) -> str:
        now = self.device_now()
        local = now + dt.timedelta(hours=5)  # PKT, as the TZ string says
        utc_xml = _date_time_xml("UTCDateTime", now) if self.config.report_utc else ""
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            f"<tt:DateTimeType>{escape(self.config.date_time_type)}</tt:DateTimeType>"
            "<tt:DaylightSavings>false</tt:DaylightSavings>"
            f"<tt:TimeZone><tt:TZ>{escape(self.config.time_zone)}</tt:TZ></tt:TimeZone>"
            f"{utc_xml}{_date_time_xml('LocalDateTime', local)}"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def _get_services(self, base: str, payload: ET.Element | None) -> str:
        services = ((TDS, DEVICE_PATH), (TRT, MEDIA_PATH))[: 2 if self.config.offers_media else 1]
        items = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace>"
            f"<tds:XAddr>{escape(base + path)}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version>"
            "</tds:Service>"
            for ns, path in services
        )
        return f"<tds:GetServicesResponse>{items}</tds:GetServicesResponse>"

    def _get_capabilities(self, base: str, payload: ET.Element | None) -> str:
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{escape(base + DEVICE_PATH)}</tt:XAddr>"
            "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve>"
            "<tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery>"
            "<tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging>"
            "<tt:FirmwareUpgrade>true</tt:FirmwareUpgrade>"
            "<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor>"
            "</tt:SupportedVersions></tt:System></tt:Device>"
            f"{self._media_capabilities(base)}"
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )

    def _media_capabilities(self, base: str) -> str:
        if not self.config.offers_media:
            return ""
        return (
            f"<tt:Media><tt:XAddr>{escape(base + MEDIA_PATH)}</tt:XAddr>"
            "<tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast>"
            "<tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP>"
            "</tt:StreamingCapabilities></tt:Media>"
        )

    def _get_device_information(self, base: str, payload: ET.Element | None) -> str:
        c = self.config
        return (
            "<tds:GetDeviceInformationResponse>"
            f"<tds:Manufacturer>{escape(c.manufacturer)}</tds:Manufacturer>"
            f"<tds:Model>{escape(c.model)}</tds:Model>"
            f"<tds:FirmwareVersion>{escape(c.firmware)}</tds:FirmwareVersion>"
            f"<tds:SerialNumber>{escape(c.serial)}</tds:SerialNumber>"
            f"<tds:HardwareId>{escape(c.hardware_id)}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    def _get_scopes(self, base: str, payload: ET.Element | None) -> str:
        items = "".join(
            f"<tds:Scopes><tt:ScopeDef>Fixed</tt:ScopeDef><tt:ScopeItem>{escape(s)}"
            "</tt:ScopeItem></tds:Scopes>"
            for s in self.config.scopes
        )
        return f"<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"

    def _get_profiles(self, base: str, payload: ET.Element | None) -> str:
        items = "".join(self._profile_xml(p) for p in self.config.profiles)
        return f"<trt:GetProfilesResponse>{items}</trt:GetProfilesResponse>"

    @staticmethod
    def _profile_xml(p: FakeProfile) -> str:
        source = (
            '<tt:VideoSourceConfiguration token="vsc-1"><tt:Name>VideoSource_1</tt:Name>'
            "<tt:UseCount>2</tt:UseCount><tt:SourceToken>vs-1</tt:SourceToken>"
            '<tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>'
        )
        encoder = ""
        if p.encoding is not None:
            encoder = (
                f'<tt:VideoEncoderConfiguration token="vec-{escape(p.token)}">'
                f"<tt:Name>{escape(p.name)}</tt:Name><tt:UseCount>1</tt:UseCount>"
                f"<tt:Encoding>{escape(p.encoding)}</tt:Encoding>"
                f"<tt:Resolution><tt:Width>{p.width}</tt:Width><tt:Height>{p.height}"
                "</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>"
                f"<tt:RateControl><tt:FrameRateLimit>{p.fps}</tt:FrameRateLimit>"
                "<tt:EncodingInterval>1</tt:EncodingInterval>"
                f"<tt:BitrateLimit>{p.bitrate_kbps}</tt:BitrateLimit></tt:RateControl>"
                "<tt:H264><tt:GovLength>50</tt:GovLength><tt:H264Profile>Main</tt:H264Profile>"
                "</tt:H264><tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type>"
                "<tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port>"
                "<tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
                "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration>"
            )
        return (
            f'<trt:Profiles token="{escape(p.token)}" fixed="true">'
            f"<tt:Name>{escape(p.name)}</tt:Name>{source}{encoder}</trt:Profiles>"
        )

    def _get_stream_uri(self, base: str, payload: ET.Element | None) -> str:
        token = "" if payload is None else payload.findtext(_q(TRT, "ProfileToken"), default="")
        profile = next((p for p in self.config.profiles if p.token == token), None)
        if profile is None:
            raise _Fault(
                "env:Sender", ("ter:InvalidArgVal", "ter:NoProfile"), "Profile not found", 400
            )
        host = self.config.rtsp_host or base.removeprefix("http://").rsplit(":", 1)[0]
        uri = f"rtsp://{host}:{self.config.rtsp_port}{profile.stream_path}"
        return (
            "<trt:GetStreamUriResponse><trt:MediaUri>"
            f"<tt:Uri>{escape(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>"
            "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout>"
            "</trt:MediaUri></trt:GetStreamUriResponse>"
        )


# -- other servers a probe may meet -------------------------------------------------------

ROUTER_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Router</title></head>'
    "<body><form action=/login><input name=user></form></body></html>"
)


@contextmanager
def plain_http_server(
    body: str = ROUTER_PAGE, status: int = 200, content_type: str = "text/html"
) -> Iterator[tuple[str, int]]:
    """An HTTP server that is not an ONVIF device: every request gets the same page."""

    async def page(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=body, status=status, content_type=content_type)

    def build() -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", page)
        return app

    server = _ThreadedServer(build)
    server.start()
    try:
        yield "127.0.0.1", server.port
    finally:
        server.stop()


@contextmanager
def silent_server() -> Iterator[tuple[str, int]]:
    """A port whose kernel completes the TCP handshake but nobody ever answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # never accept(): requests wait in the backlog, unanswered
        yield "127.0.0.1", sock.getsockname()[1]


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class _ThreadedServer:
    """An aiohttp application on 127.0.0.1 and a free port, on a loop in its own thread."""

    def __init__(self, build: Callable[[], web.Application]) -> None:
        self._build = build
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="onvif-responder", daemon=True)
        self._ready = threading.Event()
        self._runner: web.AppRunner | None = None
        self._error: BaseException | None = None
        self.port = 0

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test server did not start within 10 s")
        if self._error is not None:
            raise RuntimeError("test server failed to start") from self._error

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except Exception as exc:  # handed to start(), which raises it in the test
            self._error = exc
            self._ready.set()
            self._loop.close()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            if self._runner is not None:
                self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self._build(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
