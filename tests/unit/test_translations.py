"""The Chinese catalogue covers every message of the interface and is compiled."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "registry" / "translations"


def test_every_message_has_a_chinese_translation() -> None:
    with (ROOT / "messages.pot").open("rb") as fh:
        template = read_po(fh)
    with (ROOT / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    missing = [m.id for m in template if m.id and not (catalogue.get(m.id) and catalogue.get(m.id).string)]
    assert missing == []


def test_compiled_catalogue_matches_the_po_file() -> None:
    with (ROOT / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with (ROOT / "zh" / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert mo == po


def test_template_is_up_to_date_with_the_sources() -> None:
    """Every _() message in code and templates is in messages.pot (run `make translations`)."""
    from babel.messages.extract import extract_from_dir

    project = ROOT.parent.parent
    method_map = [("registry/**.py", "python"), ("templates/**.html", "jinja2")]
    found = {msg[2] if isinstance(msg[2], str) else msg[2][0]
             for msg in extract_from_dir(str(project), method_map, keywords={"_": None, "_l": None, "gettext": None,
                                                                           "ngettext": (1, 2), "lazy_gettext": None})}
    with (ROOT / "messages.pot").open("rb") as fh:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    assert sorted(found - known) == []
