"""No hook (called by ``worksheets.collect_pages``): IMS Common Cartridge 1.1: a chapter (or the whole book) as one file a teacher imports.

Written while the sheets are collected (``worksheets.collect_pages``) as ``questions/<chapter>.imscc`` and
``questions/defection-explained.imscc``. Canvas, Moodle, Blackboard, Schoology and
D2L all import Common Cartridge. Each chapter becomes a module holding:

* a web link to every section a question refers to, and to the chapter itself
  (absolute URLs from ``html.baseurl``);
* the chapter's quiz as CC QTI 1.2 (the Common Cartridge profile of QTI: multiple
  choice, multiple response, true/false, fill-in-the-blank for numbers, essay), with
  unlimited attempts, the options in the bank's seeded order and the LMS's shuffling on,
  and per-option and general feedback that names the section;
* the worksheet and the answer key as web content (self-contained HTML);
* the chapter's discussion questions as discussion topics.

Written by hand with ElementTree because no maintained Python library writes Common
Cartridge (the PyPI packages found read content packages, or are unmaintained); the
format is a zip of a manifest and small XML files, specified at
https://www.imsglobal.org/cc/index.html. The zip is reproducible (``lms.reproducible_zip``).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

from .lms import general_feedback_html, reproducible_zip
from .questions import Chapter, inline, options_of

NS = {
    "": "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1",
    "lomimscc": "http://ltsc.ieee.org/xsd/imsccv1p1/LOM/manifest",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
QTI_NS = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
WL_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imswl_v1p1"
DT_NS = "http://www.imsglobal.org/xsd/imsccv1p1/imsdt_v1p1"
PROFILE = {"single": "cc.multiple_choice.v0p1", "multiple": "cc.multiple_response.v0p1",
           "true_false": "cc.true_false.v0p1", "numeric": "cc.fib.v0p1", "short": "cc.essay.v0p1"}


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8")


def _field(parent, label, entry):
    field = ET.SubElement(parent, "qtimetadatafield")
    ET.SubElement(field, "fieldlabel").text = label
    ET.SubElement(field, "fieldentry").text = entry


def _mat(parent, html: str):
    ET.SubElement(ET.SubElement(parent, "material"), "mattext", {"texttype": "text/html"}).text = html


def _feedback(item, ident, html):
    fb = ET.SubElement(item, "itemfeedback", {"ident": ident})
    _mat(ET.SubElement(fb, "flow_mat"), html)


def qti_assessment(chapter: Chapter, ident: str) -> bytes:
    """The chapter's questions in the Common Cartridge profile of QTI 1.2."""
    root = ET.Element("questestinterop", {"xmlns": QTI_NS})
    test = ET.SubElement(root, "assessment", {"ident": ident, "title": f"{chapter.title}: check your understanding"})
    meta = ET.SubElement(test, "qtimetadata")
    _field(meta, "cc_profile", "cc.exam.v0p1")
    _field(meta, "qmd_assessmenttype", "Examination")
    _field(meta, "qmd_scoretype", "Percentage")
    _field(meta, "cc_maxattempts", "unlimited")
    section = ET.SubElement(test, "section", {"ident": "root_section"})
    for q in chapter.questions:
        item = ET.SubElement(section, "item", {"ident": q["id"], "title": q["id"]})
        item_meta = ET.SubElement(ET.SubElement(item, "itemmetadata"), "qtimetadata")
        _field(item_meta, "cc_profile", PROFILE[q["type"]])
        _field(item_meta, "cc_weighting", "1")
        presentation = ET.SubElement(item, "presentation")
        _mat(presentation, f"<p>{inline(q['prompt'])}</p>")
        processing = ET.SubElement(item, "resprocessing")
        outcomes = ET.SubElement(processing, "outcomes")
        ET.SubElement(outcomes, "decvar", {"varname": "SCORE", "vartype": "Decimal", "minvalue": "0",
                                           "maxvalue": "100"})
        general = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
        ET.SubElement(ET.SubElement(general, "conditionvar"), "other")
        ET.SubElement(general, "displayfeedback", {"feedbacktype": "Response", "linkrefid": "general_fb"})
        if q["type"] in ("single", "multiple", "true_false"):
            options = options_of(q)
            multiple = q["type"] == "multiple"
            lid = ET.SubElement(presentation, "response_lid",
                                {"ident": "response1", "rcardinality": "Multiple" if multiple else "Single"})
            choice = ET.SubElement(lid, "render_choice",
                                   {"shuffle": "No" if q.get("fixed_order") or q["type"] == "true_false" else "Yes"})
            for i, o in enumerate(options):
                label = ET.SubElement(choice, "response_label", {"ident": f"{q['id']}-{i}"})
                _mat(label, inline(o["text"]))
                cond = ET.SubElement(processing, "respcondition", {"continue": "Yes"})
                ET.SubElement(ET.SubElement(cond, "conditionvar"), "varequal",
                              {"respident": "response1"}).text = f"{q['id']}-{i}"
                ET.SubElement(cond, "displayfeedback", {"feedbacktype": "Response", "linkrefid": f"{q['id']}-{i}_fb"})
            right = ET.SubElement(processing, "respcondition", {"continue": "No"})
            conditions = ET.SubElement(right, "conditionvar")
            if multiple:
                both = ET.SubElement(conditions, "and")
                for i, o in enumerate(options):
                    test_el = both if o["correct"] else ET.SubElement(both, "not")
                    ET.SubElement(test_el, "varequal", {"respident": "response1"}).text = f"{q['id']}-{i}"
            else:
                i = next(i for i, o in enumerate(options) if o["correct"])
                ET.SubElement(conditions, "varequal", {"respident": "response1"}).text = f"{q['id']}-{i}"
            ET.SubElement(right, "setvar", {"varname": "SCORE", "action": "Set"}).text = "100"
            _feedback(item, "general_fb", general_feedback_html(q))
            for i, o in enumerate(options):
                _feedback(item, f"{q['id']}-{i}_fb", f"<p>{inline(o['feedback'])}</p>")
        elif q["type"] == "numeric":
            response = ET.SubElement(presentation, "response_str", {"ident": "response1", "rcardinality": "Single"})
            ET.SubElement(response, "render_fib", {"prompt": "Box", "fibtype": "String"})
            right = ET.SubElement(processing, "respcondition", {"continue": "No"})
            cond = ET.SubElement(right, "conditionvar")
            for shown in dict.fromkeys((str(q["answer"]), f"{q['answer']:,}")):
                ET.SubElement(cond, "varequal", {"respident": "response1", "case": "No"}).text = shown
            ET.SubElement(right, "setvar", {"varname": "SCORE", "action": "Set"}).text = "100"
            _feedback(item, "general_fb", f"<p>{inline(q['feedback'])}</p>{general_feedback_html(q)}")
        else:
            response = ET.SubElement(presentation, "response_str", {"ident": "response1", "rcardinality": "Single"})
            ET.SubElement(response, "render_fib")
            _feedback(item, "general_fb", general_feedback_html(q))
    return _xml(root)


def _weblink(title: str, url: str) -> bytes:
    root = ET.Element("webLink", {"xmlns": WL_NS})
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "url", {"href": url, "target": "_blank"})
    return _xml(root)


def _topic(title: str, html: str) -> bytes:
    root = ET.Element("topic", {"xmlns": DT_NS})
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "text", {"texttype": "text/html"}).text = html
    return _xml(root)


class Cartridge:
    def __init__(self, title: str):
        self.title = title
        self.files: dict[str, bytes] = {}
        self.resources: list[tuple[str, str, str]] = []  # identifier, type, href
        self.organization = ET.Element("item", {"identifier": "root"})

    def _add(self, parent, ident: str, kind: str, href: str, payload: bytes, title: str):
        self.files[href] = payload
        self.resources.append((ident, kind, href))
        item = ET.SubElement(parent, "item", {"identifier": f"item-{ident}", "identifierref": ident})
        ET.SubElement(item, "title").text = title

    def add_chapter(self, chapter: Chapter, number: int, sheets: dict[str, str], discussion: list[str]):
        """The chapter's reading link, quiz, ``sheets`` (its worksheet and key, pages that stand
        alone: ``worksheets.page`` with their stylesheet inlined) and discussion topics."""
        module = ET.SubElement(self.organization, "item", {"identifier": f"module-{number}"})
        ET.SubElement(module, "title").text = f"Chapter {number}: {chapter.title}"
        base = f"ch{number}"
        self._add(module, f"{base}-read", "imswl_xmlv1p1", f"{base}/links/chapter.xml",
                  _weblink(f"Read: {chapter.title}", chapter.url), f"Read chapter {number}: {chapter.title}")
        sections = dict.fromkeys((q["section_title"], q["section_url"]) for q in chapter.questions)
        for i, (title, url) in enumerate(sections, start=1):
            self._add(module, f"{base}-sec{i}", "imswl_xmlv1p1", f"{base}/links/section-{i}.xml",
                      _weblink(title, url), f"Section: {title}")
        self._add(module, f"{base}-quiz", "imsqti_xmlv1p2/imscc_xmlv1p1/assessment", f"{base}/quiz/assessment.xml",
                  qti_assessment(chapter, f"{base}-quiz"), f"Check your understanding: chapter {number} (practice)")
        for name, label in (("worksheet", "Worksheet"), ("answers", "Answer key (teachers)")):
            if name in sheets:
                self._add(module, f"{base}-{name}", "webcontent", f"{base}/web/{name}.html",
                          sheets[name].encode("utf-8"), f"{label}: chapter {number}")
        for i, prompt in enumerate(discussion, start=1):
            self._add(module, f"{base}-discuss{i}", "imsdt_xmlv1p1", f"{base}/discussion/topic-{i}.xml",
                      _topic(f"Chapter {number} discussion {i}", f"<p>{inline(prompt)}</p>"),
                      f"Discussion {i}: chapter {number}")

    def manifest(self) -> bytes:
        for prefix, uri in NS.items():
            ET.register_namespace(prefix, uri)
        m = ET.Element(f"{{{NS['']}}}manifest", {
            "identifier": "defection-explained-cc",
            f"{{{NS['xsi']}}}schemaLocation": (
                "http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1 "
                "http://www.imsglobal.org/profile/cc/ccv1p1/ccv1p1_imscp_v1p2_v1p0.xsd")})
        meta = ET.SubElement(m, f"{{{NS['']}}}metadata")
        ET.SubElement(meta, f"{{{NS['']}}}schema").text = "IMS Common Cartridge"
        ET.SubElement(meta, f"{{{NS['']}}}schemaversion").text = "1.1.0"
        lom = ET.SubElement(meta, f"{{{NS['lomimscc']}}}lom")
        title = ET.SubElement(ET.SubElement(ET.SubElement(lom, f"{{{NS['lomimscc']}}}general"),
                                            f"{{{NS['lomimscc']}}}title"), f"{{{NS['lomimscc']}}}string",
                              {"language": "en"})
        title.text = self.title
        orgs = ET.SubElement(m, f"{{{NS['']}}}organizations")
        org = ET.SubElement(orgs, f"{{{NS['']}}}organization",
                            {"identifier": "org", "structure": "rooted-hierarchy"})
        org.append(_qualify(self.organization))
        resources = ET.SubElement(m, f"{{{NS['']}}}resources")
        for ident, kind, href in self.resources:
            attrs = {"identifier": ident, "type": kind}
            if kind == "webcontent":
                attrs["href"] = href
            res = ET.SubElement(resources, f"{{{NS['']}}}resource", attrs)
            ET.SubElement(res, f"{{{NS['']}}}file", {"href": href})
        return _xml(m)

    def bytes(self) -> bytes:
        return reproducible_zip({"imsmanifest.xml": self.manifest(), **self.files})


def _qualify(el: ET.Element) -> ET.Element:
    """A copy of an organization tree in the manifest's namespace."""
    copy = ET.Element(f"{{{NS['']}}}{el.tag}", el.attrib)
    copy.text = el.text
    for child in el:
        copy.append(_qualify(child))
    return copy


def write(chapters: list[Chapter], sheets: dict[str, dict[str, str]], discussion: dict[str, list[str]],
          target: Path, book_title: str) -> list[Path]:
    """One cartridge per chapter and one for the book, in ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    whole, written = Cartridge(book_title), []
    for chapter in chapters:
        name, number = Path(chapter.docname).name, int(Path(chapter.docname).name[:2])
        one = Cartridge(f"{book_title}: chapter {number}, {chapter.title}")
        for cc in (one, whole):
            cc.add_chapter(chapter, number, sheets.get(chapter.docname, {}), discussion.get(chapter.docname, []))
        path = target / f"{name}.imscc"
        path.write_bytes(one.bytes())
        written.append(path)
    path = target / "defection-explained.imscc"
    path.write_bytes(whole.bytes())
    return written + [path]


__all__ = ["qti_assessment", "Cartridge", "write", "escape"]
