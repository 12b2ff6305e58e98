"""Shared REST plumbing: pagination and an exception handler that never leaks a 500 as HTML."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tongxin.core.errors import ConflictError


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map service-layer errors to HTTP: validation → 400 with field errors, conflicts → 409."""
    if isinstance(exc, DjangoValidationError):
        detail = serializers.as_serializer_error(exc)
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ConflictError):
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return drf_exception_handler(exc, context)
