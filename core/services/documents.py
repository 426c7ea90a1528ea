"""Document requests on an application: the officer asks, the enterprise uploads, the officer downloads.

Rules (tested in ``tests/integration/review/test_documents.py``):

* **request** — staff of the application's institution family, while the application is open
  (submitted, accepted, due diligence), with a note of 2–500 characters saying what is needed;
* **upload** — the application's own enterprise, while it is open, answers a request with one file:
  PDF, PNG or JPEG only, and the file's first bytes (magic number), its extension and the type the
  browser declared must all name the same one of those three; a PDF carrying JavaScript or a launch
  action is refused; at most ``max_upload_mb`` megabytes (settings, default 10); the filename is
  sanitized (no path, no control or reserved characters, at most 120 characters, the checked
  extension). A new upload replaces the previous file of that request;
* **download** — staff of the family get the bytes with the checked content type and an attachment
  filename; the file is never rendered as HTML nor executed. Every download is audited.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from urllib.parse import quote

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_enterprise, assert_acts_for_institution
from core.config import get_settings
from core.errors import ConflictError, InvalidError, NotFoundError
from core.lending.lifecycle import OPEN_STATUSES
from core.models import Application, ApplicationDocument
from core.models.types import ApplicationStatus, utcnow
from core.services.application_flow import load_application
from core.usecase import use_case

MB = 1024 * 1024
DEFAULT_MAX_UPLOAD_MB = 10
NOTE_MIN, NOTE_MAX = 2, 500
FILENAME_MAX = 120

# kind → (content type, extensions, magic prefixes)
KINDS: dict[str, tuple[str, tuple[str, ...], tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (".pdf",), (b"%PDF-",)),
    "png": ("image/png", (".png",), (b"\x89PNG\r\n\x1a\n",)),
    "jpeg": ("image/jpeg", (".jpg", ".jpeg"), (b"\xff\xd8\xff",)),
}
DECLARED_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile)\b")
_RESERVED = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]')


class DocumentPublic(BaseModel):
    """A document request and its uploaded file's description (never the bytes)."""

    id: int
    application_id: int
    request_note: str
    status: str  # requested, uploaded
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    requested_at: datetime
    uploaded_at: datetime | None


class DocumentFile(BaseModel):
    """A downloaded document: the bytes, their checked type and a safe attachment filename."""

    filename: str
    content_type: str
    content: bytes
    content_disposition: str  # attachment; filename=…; filename*=UTF-8''…


def public_document(row: ApplicationDocument) -> DocumentPublic:
    return DocumentPublic.model_validate(row, from_attributes=True)


def documents_of(session: Session, application_id: int) -> list[DocumentPublic]:
    """The application's document requests, oldest first."""
    rows = session.exec(
        select(ApplicationDocument)
        .where(ApplicationDocument.application_id == application_id)
        .order_by(col(ApplicationDocument.requested_at), col(ApplicationDocument.id))
    )
    return [public_document(r) for r in rows]


def max_upload_bytes() -> int:
    """The upload size limit: settings ``max_upload_mb`` when present, else 10 MB."""
    return int(getattr(get_settings(), "max_upload_mb", DEFAULT_MAX_UPLOAD_MB)) * MB


def sanitize_filename(name: str, extension: str) -> str:
    """A filename safe to store and offer back: no path, no control or reserved characters, ``extension``.

    Args:
        name: what the browser sent.
        extension: the checked extension (with its dot) the result must end with.
    """
    base = unicodedata.normalize("NFKC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    base = _RESERVED.sub("", base)
    stem = base[: -len(extension)] if base.lower().endswith(extension) else base.rsplit(".", 1)[0]
    stem = " ".join(stem.split()).strip(" .")[: FILENAME_MAX - len(extension)]
    return (stem or "document") + extension


def detect_kind(*, filename: str, content: bytes, declared_type: str | None) -> str:
    """The one kind (pdf, png, jpeg) that the magic bytes, extension and declared type all name.

    Raises:
        InvalidError: they disagree, or name no allowed kind, or the PDF is active.
    """
    by_magic = next((k for k, (_, _, magic) in KINDS.items() if content.startswith(magic)), None)
    lower = str(filename or "").lower().strip()
    by_extension = next((k for k, (_, exts, _) in KINDS.items() if lower.endswith(exts)), None)
    declared = str(declared_type or "").split(";")[0].strip().lower()
    declared = DECLARED_ALIASES.get(declared, declared)
    by_declared = next((k for k, (ctype, _, _) in KINDS.items() if ctype == declared), None)
    if by_magic is None or by_extension != by_magic or by_declared != by_magic:
        raise InvalidError("review.error.file_type", field="content")
    if by_magic == "pdf" and ACTIVE_PDF.search(content):
        raise InvalidError("review.error.file_active", field="content")
    return by_magic


def _open_application(session: Session, application_id: int) -> Application:
    row = load_application(session, application_id)
    if ApplicationStatus(row.status) not in OPEN_STATUSES:
        raise ConflictError("review.error.application_closed")
    return row


def _document(session: Session, document_id: object) -> ApplicationDocument:
    try:
        row = session.get(ApplicationDocument, int(document_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFoundError("review.error.document_not_found")
    return row


@use_case(permission=Permission.applications_institution, write=True)
def request_document(uow, *, actor: Actor, application_id: int, note: str) -> DocumentPublic:
    """Ask the enterprise for a document (staff of the application's institution family).

    Args:
        application_id: an open application.
        note: what is needed (2–500 characters), shown to the enterprise.

    Raises:
        ForbiddenError: not staff of the application's institution.
        ConflictError: the application is closed.
        InvalidError: the note is empty or too long.
    """
    session = uow.session
    row = load_application(session, application_id)
    assert_acts_for_institution(session, actor, row.institution_id)
    _open_application(session, int(row.id))
    text = " ".join(str(note or "").split())
    if not NOTE_MIN <= len(text) <= NOTE_MAX:
        raise InvalidError("review.error.request_note", field="note", min=NOTE_MIN, max=NOTE_MAX)
    doc = ApplicationDocument(
        application_id=int(row.id), requested_by_id=actor.user_id, request_note=text, requested_at=utcnow()
    )
    session.add(doc)
    session.flush()
    uow.audit("application.document.request", entity_type="application_document", entity_id=doc.id,
              after={"application_id": row.id})
    return public_document(doc)


@use_case(permission=Permission.applications_own, write=True)
def upload_document(
    uow,
    *,
    actor: Actor,
    document_id: int,
    filename: str,
    content: bytes,
    declared_type: str | None,
) -> DocumentPublic:
    """Answer a document request with one PDF, PNG or JPEG file (the application's own enterprise).

    Args:
        document_id: the request.
        filename: the file's name as uploaded (sanitized before it is stored).
        content: the file's bytes.
        declared_type: the content type the browser declared (``UploadedFile.type``).

    Raises:
        ForbiddenError: another enterprise's application.
        ConflictError: the application is closed.
        InvalidError: not a PDF, PNG or JPEG by content, extension and declared type; empty; too large.
    """
    session = uow.session
    doc = _document(session, document_id)
    app = load_application(session, doc.application_id)
    assert_acts_for_enterprise(actor, app.enterprise_id)
    _open_application(session, int(app.id))
    if not isinstance(content, bytes | bytearray) or not content:
        raise InvalidError("review.error.file_empty", field="content")
    limit = max_upload_bytes()
    if len(content) > limit:
        raise InvalidError("review.error.file_size", field="content", max=limit // MB)
    kind = detect_kind(filename=filename, content=bytes(content), declared_type=declared_type)
    ctype, extensions, _ = KINDS[kind]
    lower = str(filename).lower()
    extension = next(e for e in extensions if lower.endswith(e))
    doc.filename = sanitize_filename(filename, extension)
    doc.content_type = ctype
    doc.content = bytes(content)
    doc.size_bytes = len(content)
    doc.sha256 = hashlib.sha256(content).hexdigest()
    doc.status = "uploaded"
    doc.uploaded_at = utcnow()
    session.add(doc)
    session.flush()
    uow.audit("application.document.upload", entity_type="application_document", entity_id=doc.id,
              after={"filename": doc.filename, "size_bytes": doc.size_bytes, "sha256": doc.sha256})
    return public_document(doc)


@use_case(permission=Permission.applications_institution)
def download_document(uow, *, actor: Actor, document_id: int) -> DocumentFile:
    """An uploaded document's bytes for staff of the application's institution family (audited).

    Raises:
        ForbiddenError: not staff of the application's institution.
        NotFoundError: no such document, or nothing uploaded yet.
    """
    session = uow.session
    doc = _document(session, document_id)
    app = load_application(session, doc.application_id)
    assert_acts_for_institution(session, actor, app.institution_id)
    if doc.content is None or doc.content_type not in {c for c, _, _ in KINDS.values()}:
        raise NotFoundError("review.error.document_not_uploaded")
    name = doc.filename or "document"
    ascii_name = name.encode("ascii", "ignore").decode() or "document"
    ascii_name = re.sub(r"[^A-Za-z0-9._ -]", "_", ascii_name)
    if "." not in ascii_name:
        ascii_name = "document" + name[name.rfind("."):]
    uow.audit("application.document.download", entity_type="application_document", entity_id=doc.id)
    return DocumentFile(
        filename=name,
        content_type=doc.content_type,
        content=bytes(doc.content),
        content_disposition=f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
    )
