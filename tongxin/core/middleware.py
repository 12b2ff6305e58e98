"""Request-scoped context for audit records, and cache headers for pages with personal data."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestContext:
    ip: str
    user_agent: str


_current: ContextVar[RequestContext | None] = ContextVar("tongxin_request", default=None)


def client_ip(request: HttpRequest) -> str:
    # Behind the reverse proxy the real address is the last hop nginx appended; REMOTE_ADDR
    # otherwise. Only the proxy we control writes X-Real-IP, so prefer it.
    return request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR", "") or ""


def current_request_context() -> RequestContext | None:
    return _current.get()


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(
            RequestContext(
                ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:200]
            )
        )
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


class NoStoreMiddleware:
    """Signed-in pages and API answers carry personal data: never let a shared cache keep them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response
