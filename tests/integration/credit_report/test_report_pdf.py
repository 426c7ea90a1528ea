"""The credit report's PDF and display tables: real PDFs read back with pypdf, hostile text stays text."""

from __future__ import annotations

import io

import pypdf
import pytest

from core.i18n import translate
from core.services import credit_report, report_pdf, report_view
from tests.integration.credit_report.conftest import add_grant, build_world, dispute

HOSTILE = '<script>alert(1)</script><img src="http://127.0.0.1:9/x">有限公司'


def pdf_text(pdf: bytes) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


def embedded_fonts(reader: pypdf.PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            names.add(str(font.get("/BaseFont")))
            for descendant in font.get("/DescendantFonts") or []:
                descriptor = descendant.get_object().get("/FontDescriptor")
                if descriptor is not None and any(
                    k in descriptor.get_object() for k in ("/FontFile2", "/FontFile3")
                ):
                    names.add("embedded:" + str(descendant.get_object().get("/BaseFont")))
    return names


def report_for(world, scopes=("basic", "gov_records", "financials", "credit")):
    add_grant(world, scopes=list(scopes))
    return credit_report.read_credit_report(
        actor=world.head_officer, enterprise_id=world.enterprise_id, purpose="贷前调查"
    )


@pytest.mark.slow
def test_the_pdf_is_a4_with_the_name_number_on_every_page_and_an_embedded_cjk_font(world):
    dispute(world, "gov_record", world.records["case"])
    report = report_for(world)
    pdf = report_pdf.render_credit_report_pdf(report, locale="zh_CN")
    assert pdf.startswith(b"%PDF-")
    reader, pages = pdf_text(pdf)
    assert len(pages) >= 2
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 portrait in points
    text = "\n".join(pages)
    for expected in (
        "企业信用报告",
        "衡水信用报告测试有限公司",
        "衡水测试银行",
        "异议处理中",
        "130102********1234",
        "贷前调查",
    ):
        assert expected in text, expected
    assert "130102199001011234" not in text and "别家" not in text
    assert all(report.report_number in page and "机密" in page for page in pages)
    assert f"第 {len(pages)} 页 / 共 {len(pages)} 页" in pages[-1]
    assert any(
        n.startswith("embedded:") and "+Noto-Sans-CJK-SC" in n for n in embedded_fonts(reader)
    )  # a subset


@pytest.mark.slow
def test_sections_not_authorised_say_so_in_english(world):
    report = report_for(world, scopes=["basic"])
    _, pages = pdf_text(report_pdf.render_credit_report_pdf(report, locale="en"))
    text = " ".join(" ".join(pages).split())
    assert "Enterprise credit report" in text and "Confidential" in text
    assert text.count("Not authorised") == 4  # basic covers facts and ownership; four sections remain
    assert "Hengshui Test Bank" in text


@pytest.mark.slow
def test_hostile_enterprise_text_is_printed_as_text_and_nothing_is_fetched(db, monkeypatch):
    world = build_world(name=HOSTILE)
    report = report_for(world)
    html = report_pdf.report_html(report, locale="zh_CN")
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    fetched = []
    from weasyprint.urls import URLFetcher

    monkeypatch.setattr(URLFetcher, "fetch", lambda self, url, headers=None: fetched.append(url))
    pdf = report_pdf.render_credit_report_pdf(report, locale="zh_CN")
    _, pages = pdf_text(pdf)
    flat = "".join("".join(pages).split())
    assert "<script>alert(1)</script>" in flat and '<imgsrc="http://127.0.0.1:9/x">' in flat
    assert fetched == []


def test_display_tables_generalize_other_lenders_and_mark_disputes(world):
    dispute(world, "financial_statement", world.records["fin2025"])
    report = report_for(world)
    tables = report_view.report_tables(report, locale="zh_CN")
    loans = tables["loans"]
    assert set(loans["机构"]) == {"衡水测试银行", "其他银行"} and "别家秘密产品" not in set(loans["产品"])
    fin = tables["financials"].set_index("项目")
    assert fin.loc["异议", "2025"].startswith("异议处理中") and fin.loc["异议", "2024"] == ""
    assert fin.loc["资产负债率", "2025"] == "40.0%"
    assert list(tables["reasons"]["扣分"]) == ["18.5"]
    en = report_view.report_tables(report, locale="en")
    assert "Another bank" in set(en["loans"]["Institution"])


def test_reason_codes_read_as_the_catalogs_text():
    key = "RC.ELEC_YOY_6M"
    if translate(key, "zh_CN") == key:
        pytest.skip("the rating catalog has no reason texts yet")
    assert report_view.reason_text({"code": key, "feature": "elec_yoy_6m"}, "en") == translate(key, "en")
    assert report_view.reason_text({"code": "R07", "feature": "elec_yoy_6m"}, "zh_CN") == translate(
        key, "zh_CN"
    )
    assert report_view.reason_text({"code": "R99", "feature": None}, "en") == "R99"


def test_sparkline_draws_one_polyline_per_run_of_known_values():
    svg = str(report_pdf.sparkline_svg([1.0, 2.0, None, 4.0, 5.0]))
    assert svg.count("<polyline") == 2 and svg.startswith("<svg")
    assert "<polyline" not in str(report_pdf.sparkline_svg([None, None]))
    flat = str(report_pdf.sparkline_svg([3.0, 3.0, 3.0]))  # no spread: still a line, no division by zero
    assert flat.count("<polyline") == 1
