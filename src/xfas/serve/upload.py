"""Reading an upload from a request, in memory only: the body is read with a byte cap (and
refused from its Content-Length before reading when that is already too large), multipart
forms are parsed here rather than by Starlette (which spools large files to a temporary file
on disk), and the image format is read off the first bytes."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from xfas.serve.errors import ServiceError, TooLarge, UnsupportedFormat

SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}  # the formats accepted
RAW_TYPES = ("image/jpeg", "image/png", "image/webp", "application/octet-stream")
FILE_FIELDS = ("file", "image")
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries, part headers and small fields
MAX_PARTS = 8
MAX_FIELD_BYTES = 4096
MAX_NAME = 100


@dataclass
class Upload:
    """An uploaded image's bytes, its format, its label in messages and the form's text
    fields."""

    data: bytes
    image_format: str
    label: str = "upload"
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def suffix(self) -> str:
        return SUFFIXES[self.image_format]


async def read_upload(request: Request, max_bytes: int) -> Upload:
    """The image of a request: a multipart form with a ``file`` (or ``image``) part, or the
    raw bytes with Content-Type image/jpeg, image/png, image/webp or application/octet-stream.
    """
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    multipart = media_type == b"multipart/form-data"
    if not multipart and media_type.decode("latin-1") not in RAW_TYPES:
        shown = media_type.decode("latin-1")[:MAX_NAME] or "none"
        raise UnsupportedFormat(
            f"Content-Type {shown!r}: send a multipart/form-data form with a 'file' field, or "
            f"the image bytes with Content-Type {', '.join(RAW_TYPES)}")
    limit = max_bytes + (MULTIPART_OVERHEAD if multipart else 0)
    body = await read_body(request, limit)
    if multipart:
        boundary = options.get(b"boundary")
        if not boundary:
            raise ServiceError("multipart/form-data without a boundary in its Content-Type")
        upload = parse_multipart(body, boundary)
    else:
        upload = Upload(body, "")
    if len(upload.data) > max_bytes:
        raise TooLarge(f"{upload.label}: {len(upload.data)} bytes is over the limit of "
                       f"{max_bytes} bytes")
    upload.image_format = sniff_format(upload.data, upload.label)
    return upload


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.strip().isascii() and declared.strip().isdigit()):
            raise ServiceError(f"Content-Length {declared[:MAX_NAME]!r}: not a byte count")
        if int(declared) > limit:
            raise TooLarge(f"request body of {int(declared)} bytes is over the limit of "
                           f"{limit} bytes")
    chunks, total = [], 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise TooLarge(f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ServiceError("the client closed the connection before the upload ended") from None
    return b"".join(chunks)


def parse_multipart(body: bytes, boundary: bytes) -> Upload:
    """The file part and the text fields of a multipart/form-data body."""
    parts: list[dict] = []
    header: dict[str, bytearray] = {}

    def begin_part() -> None:
        if len(parts) >= MAX_PARTS:
            raise ServiceError(f"multipart form: more than {MAX_PARTS} parts")
        parts.append({"headers": {}, "data": bytearray()})

    def header_field(data: bytes, start: int, end: int) -> None:
        header.setdefault("field", bytearray()).extend(data[start:end])

    def header_value(data: bytes, start: int, end: int) -> None:
        header.setdefault("value", bytearray()).extend(data[start:end])

    def header_end() -> None:
        name = bytes(header.pop("field", b"")).decode("latin-1").strip().lower()
        parts[-1]["headers"][name] = bytes(header.pop("value", b""))

    def part_data(data: bytes, start: int, end: int) -> None:
        parts[-1]["data"].extend(data[start:end])

    parser = MultipartParser(boundary, {"on_part_begin": begin_part,
                                        "on_header_field": header_field,
                                        "on_header_value": header_value,
                                        "on_header_end": header_end,
                                        "on_part_data": part_data})
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as error:
        raise ServiceError(f"multipart form: malformed ({str(error)[:200]})") from None
    return _collect(parts)


def _collect(parts: list[dict]) -> Upload:
    """The first part named ``file``/``image`` as the upload, the other parts as text fields."""
    upload: Upload | None = None
    fields: dict[str, str] = {}
    for part in parts:
        disposition = part["headers"].get("content-disposition", b"")
        _, params = parse_options_header(disposition)
        name = params.get(b"name", b"").decode("latin-1")
        if name in FILE_FIELDS and upload is None:
            filename = params.get(b"filename", b"").decode("utf-8", "replace")[:MAX_NAME]
            label = f"upload {filename!r}" if filename else "upload"
            upload = Upload(bytes(part["data"]), "", label)
        elif name and name not in FILE_FIELDS:
            if len(part["data"]) > MAX_FIELD_BYTES:
                raise ServiceError(f"form field {name[:MAX_NAME]!r}: over {MAX_FIELD_BYTES} "
                                   "bytes")
            fields[name[:MAX_NAME]] = bytes(part["data"]).decode("utf-8", "replace")
    if upload is None:
        raise ServiceError("multipart form: no 'file' field with the image")
    upload.fields = fields
    return upload


def sniff_format(data: bytes, label: str = "upload") -> str:
    """"JPEG", "PNG" or "WEBP" from the file's signature; 400 for no bytes, 415 for others."""
    if not data:
        raise ServiceError(f"{label}: empty (0 bytes)")
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise UnsupportedFormat(f"{label}: not a JPEG, PNG or WebP image")



def keep_upload(upload: Upload, folder: Path) -> Path:
    """Write the upload's bytes to ``folder`` under a new unique name (time + random)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.time_ns()}-{uuid.uuid4().hex[:12]}{upload.suffix}"
    with path.open("xb") as handle:
        handle.write(upload.data)
    return path
