"""Colours, symbols and Chinese labels shared by the map builders.

Everything here is plain data: the registry's kind modules stay the source of
truth for kinds and statuses, these tables only decide how they look on a map.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "COMPLIANCE_LABELS",
    "COMPLIANCE_STYLES",
    "DEFAULT_STATUS_LABELS",
    "FALLBACK_KIND_STYLE",
    "KIND_STYLES",
    "KindStyle",
    "compliance_code",
    "kind_style",
    "status_label",
]


@dataclass(frozen=True)
class KindStyle:
    """How one facility kind is drawn.

    Attributes
    ----------
    kind : str
        The ``FacilityKind`` value (``"museum"``, ...).
    label : str
        Chinese name shown in legends, popups and the layer control.
    color : str
        Fill colour of the marker and of its clusters (CSS hex).
    glyph : str
        SVG content (``viewBox="0 0 24 24"``, drawn white) identifying the kind.
    """

    kind: str
    label: str
    color: str
    glyph: str

    def svg(self, size: int = 14) -> str:
        """The glyph as a complete inline ``<svg>`` element."""
        return (
            f'<svg viewBox="0 0 24 24" width="{size}" height="{size}" aria-hidden="true" '
            f'focusable="false">{self.glyph}</svg>'
        )


# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
KIND_STYLES: dict[str, KindStyle] = {
    "museum": KindStyle(
        "museum",
        "博物馆",
        "#D55E00",
        '<path d="M12 2.5 2.5 8v2h19V8z"/><path d="M4.5 11.5h3v6.5h-3zM10.5 11.5h3v6.5h-3zM16.5 11.5h3v6.5h-3z"/>'
        '<path d="M2.5 19.5h19v2h-19z"/>',
    ),
    "study_room": KindStyle(
        "study_room",
        "城市书房",
        "#0072B2",
        '<path d="M2.5 5.5c3.3-1.3 6.5-1 9 1v14c-2.5-1.8-5.7-2-9-.8z"/>'
        '<path d="M21.5 5.5c-3.3-1.3-6.5-1-9 1v14c2.5-1.8 5.7-2 9-.8z"/>',
    ),
    "parking_lot": KindStyle(
        "parking_lot",
        "停车场",
        "#009E73",
        '<path fill-rule="evenodd" d="M6.5 2.5h7a6 6 0 0 1 0 12h-3v7h-4zm4 3.5v5h3a2.5 2.5 0 0 0 0-5z"/>',
    ),
    "elevator": KindStyle(
        "elevator",
        "电梯",
        "#CC79A7",
        '<path d="M12 2 5.5 10h13z"/><path d="M12 22l-6.5-8h13z"/>',
    ),
    "kindergarten": KindStyle(
        "kindergarten",
        "幼儿园",
        "#E69F00",
        '<circle cx="12" cy="5" r="3"/><path d="M4.5 9.5h15v3h-4.5v9h-2.5v-5h-1v5H9v-9H4.5z"/>',
    ),
}

#: Style for a kind missing from :data:`KIND_STYLES` (its label is the raw kind).
FALLBACK_KIND_STYLE = KindStyle("other", "其他", "#6B7280", '<circle cx="12" cy="12" r="5"/>')

#: Compliance code -> Chinese label; ``None`` and anything unknown read 未知.
COMPLIANCE_LABELS: dict[str, str] = {
    "compliant": "合规",
    "non_compliant": "不合规",
    "unknown": "未知",
}

#: Compliance code -> (ring colour, ring width in px) of the marker.
COMPLIANCE_STYLES: dict[str, tuple[str, int]] = {
    "compliant": ("#FFFFFF", 2),
    "non_compliant": ("#C62828", 3),
    "unknown": ("#9E9E9E", 2),
}

#: Default Chinese labels of the stored ``status`` values, per kind (mirrors
#: ``registry.kinds``; pass ``status_labels=`` to the builders to override).
DEFAULT_STATUS_LABELS: dict[str, dict[str, str]] = {
    "museum": {"planned": "谋划", "building": "在建", "open": "开放", "renovating": "提升改造"},
    "study_room": {
        "planned": "规划",
        "building": "在建",
        "trial": "试运行",
        "open": "开放",
        "closed": "闭馆",
    },
    "parking_lot": {"planned": "规划", "building": "在建", "open": "运营", "closed": "停业"},
    "elevator": {"in_use": "在用", "suspended": "停用", "scrapped": "报废"},
    "kindergarten": {"planned": "规划", "building": "在建", "open": "开办", "closed": "停办"},
}


def kind_style(kind: str) -> KindStyle:
    """Return the style of ``kind``; unknown kinds get a grey style labelled with the raw kind."""
    style = KIND_STYLES.get(kind)
    if style is not None:
        return style
    return KindStyle(str(kind), str(kind), FALLBACK_KIND_STYLE.color, FALLBACK_KIND_STYLE.glyph)


def compliance_code(value: object) -> str:
    """Normalise a compliance value to ``compliant``/``non_compliant``/``unknown``.

    Missing values (``None``, NaN, empty) and unexpected strings are ``unknown``:
    a gap is never shown as compliant.

    Examples
    --------
    >>> compliance_code(None), compliance_code("compliant"), compliance_code(float("nan"))
    ('unknown', 'compliant', 'unknown')
    """
    if isinstance(value, str) and value in COMPLIANCE_LABELS:
        return value
    return "unknown"


def status_label(
    kind: str,
    status: object,
    overrides: Mapping[str, Mapping[str, str]] | None = None,
) -> str | None:
    """Chinese label of a stored status; the raw value when no label is known, ``None`` when missing."""
    if status is None or (isinstance(status, float) and math.isnan(status)) or status == "":
        return None
    text = str(status)
    for table in (overrides or {}, DEFAULT_STATUS_LABELS):
        label = table.get(kind, {}).get(text)
        if label:
            return label
    return text
