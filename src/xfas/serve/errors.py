"""User errors of the service, each with the HTTP status it is answered with. A plain
``XfasError`` (bad or corrupt input) is answered with 400."""

from __future__ import annotations

from xfas.errors import XfasError


class ServiceError(XfasError):
    """An XfasError with an HTTP status."""

    status: int = 400


class TooLarge(ServiceError):
    """The upload is over the byte limit or the image over the pixel limit."""

    status = 413


class UnsupportedFormat(ServiceError):
    """The upload is not JPEG, PNG or WebP (or the request is not an upload at all)."""

    status = 415


class Unprocessable(ServiceError):
    """A decodable image the model cannot use: no face, too small, extreme shape."""

    status = 422


def status_of(error: XfasError) -> int:
    """The HTTP status of a user error."""
    return error.status if isinstance(error, ServiceError) else 400
