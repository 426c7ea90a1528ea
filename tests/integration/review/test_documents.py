"""Document requests and uploads: only real PDF, PNG and JPEG files, checked three ways, sized, sanitized."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from core.models import ApplicationDocument
from core.services import applications, documents
from tests.integration.review.conftest import submit

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture
def requested(world):
    app = submit(world)
    doc = documents.request_document(actor=world.officer, application_id=app.id, note="近 6 个月银行流水")
    return app, doc


def stored(document_id: int) -> ApplicationDocument:
    with session_scope() as s:
        return s.get(ApplicationDocument, document_id)


def upload(world, doc, content, filename, declared, who=None):
    return documents.upload_document(actor=who or world.owner, document_id=doc.id, filename=filename,
                                     content=content, declared_type=declared)


def test_a_png_is_accepted_and_the_officer_downloads_it_as_an_attachment(world, requested):
    _, doc = requested
    done = upload(world, doc, PNG, "../../流水 截图.PNG", "image/png")
    assert (done.status, done.content_type, done.size_bytes) == ("uploaded", "image/png", len(PNG))
    assert done.filename == "流水 截图.png"
    got = documents.download_document(actor=world.manager, document_id=doc.id)
    assert got.content == PNG and got.content_type == "image/png"
    assert got.content_disposition.startswith("attachment;") and "filename*=UTF-8''" in got.content_disposition


BAD_FILES = [
    (HTML, "statement.pdf", "application/pdf"),  # a .pdf that is really HTML
    (HTML, "statement.html", "text/html"),
    (PDF, "statement.png", "image/png"),  # the extension and declared type lie
    (PNG, "photo.png", "application/pdf"),  # the declared type disagrees
    (JPEG, "photo.jpg", None),  # no declared type
    (b"MZ\x90\x00" + b"\x00" * 20, "setup.exe", "application/octet-stream"),
    (PDF + b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "x.pdf", "application/pdf"),
]


def test_anything_but_a_real_pdf_png_or_jpeg_is_refused_and_nothing_is_stored(world, requested):
    _, doc = requested
    for content, filename, declared in BAD_FILES:
        with pytest.raises(InvalidError) as caught:
            upload(world, doc, content, filename, declared)
        assert caught.value.field == "content", filename
        row = stored(doc.id)
        assert (row.status, row.content, row.filename) == ("requested", None, None)


def test_an_oversized_file_is_refused(world, requested, monkeypatch):
    _, doc = requested
    monkeypatch.setattr(documents, "max_upload_bytes", lambda: 1024)
    with pytest.raises(InvalidError) as caught:
        upload(world, doc, PDF + b"0" * 2000, "big.pdf", "application/pdf")
    assert caught.value.key == "review.error.file_size"
    assert stored(doc.id).content is None


def test_the_default_limit_is_ten_megabytes(world, requested):
    _, doc = requested
    assert documents.max_upload_bytes() == 10 * 1024 * 1024
    with pytest.raises(InvalidError):
        upload(world, doc, PDF + b"0" * (10 * 1024 * 1024), "big.pdf", "application/pdf")


def test_a_jpeg_and_a_pdf_are_accepted_and_a_new_upload_replaces_the_old(world, requested):
    _, doc = requested
    upload(world, doc, JPEG, "photo.jpeg", "image/jpg")
    done = upload(world, doc, PDF, "流水.pdf", "application/pdf")
    assert (done.content_type, done.filename) == ("application/pdf", "流水.pdf")


def test_another_enterprise_cannot_upload_and_another_bank_cannot_download(world, requested):
    _, doc = requested
    with pytest.raises(ForbiddenError):
        upload(world, doc, PNG, "a.png", "image/png", who=world.stranger)
    upload(world, doc, PNG, "a.png", "image/png")
    with pytest.raises(ForbiddenError):
        documents.download_document(actor=world.outsider, document_id=doc.id)


def test_nothing_to_download_before_the_upload(world, requested):
    _, doc = requested
    with pytest.raises(NotFoundError):
        documents.download_document(actor=world.officer, document_id=doc.id)


def test_requests_need_words_and_an_open_application(world, requested):
    app, doc = requested
    with pytest.raises(InvalidError):
        documents.request_document(actor=world.officer, application_id=app.id, note=" ")
    applications.withdraw_application(actor=world.owner, application_id=app.id, expected_version=app.version)
    with pytest.raises(ConflictError):
        documents.request_document(actor=world.officer, application_id=app.id, note="营业执照")
    with pytest.raises(ConflictError):
        upload(world, doc, PNG, "a.png", "image/png")
    with session_scope() as s:
        assert len(s.exec(select(ApplicationDocument)).all()) == 1


@pytest.mark.parametrize(
    ("name", "extension", "expected"),
    [
        ("C:\\Users\\x\\bank.PDF", ".pdf", "bank.pdf"),
        ("<script>a.pdf", ".pdf", "scripta.pdf"),
        ("..", ".png", "document.png"),
        ("a\x00b\nc.jpg", ".jpg", "abc.jpg"),
        ("x" * 300 + ".pdf", ".pdf", "x" * 116 + ".pdf"),
    ],
)
def test_filenames_are_sanitized(name, extension, expected):
    assert documents.sanitize_filename(name, extension) == expected
