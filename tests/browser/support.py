"""What the browser tests share: signing in as a person does, and a log of what the
browser fetched and complained about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, WebError
from sqlalchemy import Select

from safecity.web.platform import Platform

DEFAULT_PURPOSE = "Control-room monitoring"


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    platform: Platform
    admin_password: str
    operator: str
    operator_password: str

    def scalar(self, stmt: Select[Any]) -> Any:
        """One value read straight from the server's database (the oracle for the pages)."""
        with self.platform.transaction() as session:
            return session.scalar(stmt)

    def scalars(self, stmt: Select[Any]) -> list[Any]:
        with self.platform.transaction() as session:
            return list(session.scalars(stmt))


@dataclass
class BrowserLog:
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @classmethod
    def attach(cls, context: BrowserContext) -> BrowserLog:
        # Context-level events cover every page, including a second tab a test opens.
        log = cls()
        context.on("request", log._on_request)
        context.on("console", log._on_console)
        context.on("weberror", log._on_weberror)
        return log

    def _on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        # CSP violations, failed loads and script errors all arrive as console errors.
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _on_weberror(self, error: WebError) -> None:
        self.page_errors.append(str(error.error))

    def unexpected(self) -> list[str]:
        """Problems no page may ever have (error statuses of documents are expected)."""
        policy = [e for e in self.console_errors if "Content Security Policy" in e]
        return self.page_errors + policy + self.foreign_requests()

    def foreign_requests(self) -> list[str]:
        """Requests that left loopback (tiles, CDNs, fonts, telemetry...)."""
        return [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1"]


def sign_in(page: Page, username: str, password: str, *, purpose: str = DEFAULT_PURPOSE) -> None:
    """Fill in and submit the sign-in form the way a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Purpose of this session").select_option(purpose)
    page.get_by_role("button", name="Sign in").click()
