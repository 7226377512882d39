"""HTML/JS helpers: escaping, popups, the registry stylesheet and legend controls."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.template import Template

from maps.styles import COMPLIANCE_LABELS, COMPLIANCE_STYLES, KIND_STYLES, KindStyle

MISSING = "—"

_JS_UNSAFE = str.maketrans(
    {"`": "&#96;", "$": "&#36;", "\\": "&#92;", "\u2028": "&#8232;", "\u2029": "&#8233;"}
)


def esc(value: object) -> str:
    """Escape user text for HTML *and* for folium's JS template literals.

    ``html.escape`` handles ``& < > " '``; folium puts tooltip and popup HTML in
    JavaScript template literals, so backtick, ``$`` (``${...}``) and backslash
    are turned into character references too.  Missing values become "—".

    Examples
    --------
    >>> esc('<img src=x onerror=alert(1)>')
    '&lt;img src=x onerror=alert(1)&gt;'
    >>> esc("`${alert(1)}`")
    '&#96;&#36;{alert(1)}&#96;'
    """
    if is_missing(value):
        return MISSING
    return html.escape(str(value), quote=True).translate(_JS_UNSAFE)


def is_missing(value: object) -> bool:
    """True for ``None``, NaN/NaT-like floats and empty strings."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if isinstance(value, str) and not value.strip():
        return True
    try:  # pandas NA / NaT
        import pandas as pd

        return bool(pd.isna(value)) if not isinstance(value, (str, bytes)) else False
    except (TypeError, ValueError):
        return False


def js_json(obj: object) -> str:
    """JSON for embedding in a ``<script>`` element (``<``, ``>``, ``&``, ``'`` escaped)."""
    return (
        json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def marker_html(style: KindStyle, compliance: str) -> str:
    """Inner HTML of a facility marker: kind colour and glyph, compliance ring."""
    return f'<div class="rg-mk rg-c-{compliance}" style="background:{style.color}">{style.svg(13)}</div>'


def facility_popup_html(
    *,
    name: object,
    kind_label: str,
    address: object,
    district: object,
    status: object,
    compliance: str,
    href: str | None,
) -> str:
    """The popup of one facility; every argument except ``compliance`` is escaped here."""
    rows = [
        ("类型", esc(kind_label)),
        ("地址", esc(address)),
        ("所在区", esc(district)),
        ("状态", esc(status)),
        ("合规", f'<span class="rg-badge rg-b-{compliance}">{COMPLIANCE_LABELS[compliance]}</span>'),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    link = f'<a class="rg-more" href="{esc(href)}" target="_top">查看详情 »</a>' if href else ""
    return f'<div class="rg-popup"><div class="rg-title">{esc(name)}</div><table>{body}</table>{link}</div>'


# JS twin of facility_popup_html / esc, used by the FastMarkerCluster path.
POPUP_JS = r"""
function rgEsc(s) {
    if (s === null || s === undefined || String(s).trim() === '') { return '—'; }
    return String(s).replace(/[&<>"'`$\\\u2028\u2029]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; });
}
function rgPopup(name, kindLabel, address, district, status, compliance, href) {
    var labels = {compliant: '合规', non_compliant: '不合规', unknown: '未知'};
    var rows = [['类型', rgEsc(kindLabel)], ['地址', rgEsc(address)], ['所在区', rgEsc(district)],
                ['状态', rgEsc(status)],
                ['合规', '<span class="rg-badge rg-b-' + compliance + '">' + labels[compliance] + '</span>']];
    var body = rows.map(function (r) { return '<tr><th>' + r[0] + '</th><td>' + r[1] + '</td></tr>'; }).join('');
    var link = href ? '<a class="rg-more" href="' + rgEsc(href) + '" target="_top">查看详情 »</a>' : '';
    return '<div class="rg-popup"><div class="rg-title">' + rgEsc(name) + '</div><table>' + body + '</table>' + link + '</div>';
}
"""


def _ring_css() -> str:
    out = []
    for code, (colour, width) in COMPLIANCE_STYLES.items():
        out.append(f".rg-mk.rg-c-{code}{{border:{width}px solid {colour}}}")
    return "".join(out)


def _cluster_css() -> str:
    out = []
    for style in KIND_STYLES.values():
        r, g, b = (int(style.color[i : i + 2], 16) for i in (1, 3, 5))
        out.append(
            f".marker-cluster.rg-k-{style.kind}{{background-color:rgba({r},{g},{b},.35)}}"
            f".marker-cluster.rg-k-{style.kind} div{{background-color:rgba({r},{g},{b},.9)}}"
        )
    return "".join(out)


REGISTRY_CSS = (
    ".rg-icon{background:none;border:none}"
    ".rg-mk{box-sizing:border-box;width:22px;height:22px;border-radius:50%;display:flex;"
    "align-items:center;justify-content:center;box-shadow:0 1px 3px rgba(0,0,0,.45)}"
    ".rg-mk svg{fill:#fff;display:block}"
    + _ring_css()
    + ".marker-cluster.rg-k-other{background-color:rgba(107,114,128,.35)}"
    ".marker-cluster.rg-k-other div{background-color:rgba(107,114,128,.9)}"
    + _cluster_css()
    + ".marker-cluster.rg-cluster div{color:#fff;font-weight:600}"
    ".rg-popup{font:13px/1.45 system-ui,'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;"
    "min-width:200px}"
    ".rg-popup .rg-title{font-weight:700;font-size:14px;margin-bottom:4px;word-break:break-all}"
    ".rg-popup table{border-collapse:collapse;width:100%}"
    ".rg-popup th{color:#666;font-weight:400;white-space:nowrap;padding:1px 8px 1px 0;vertical-align:top;"
    "text-align:left}"
    ".rg-popup td{padding:1px 0;word-break:break-all}"
    ".rg-popup .rg-more{display:inline-block;margin-top:6px}"
    ".rg-badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff}"
    ".rg-b-compliant{background:#2E7D32}.rg-b-non_compliant{background:#C62828}.rg-b-unknown{background:#757575}"
    ".rg-legend{background:rgba(255,255,255,.92);padding:8px 10px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.5 system-ui,'Microsoft YaHei','PingFang SC',"
    "'Noto Sans CJK SC',sans-serif;color:#333;max-width:240px}"
    ".rg-legend .rg-legend-title{font-weight:700;margin-bottom:4px}"
    ".rg-legend .rg-row{display:flex;align-items:center;gap:6px;margin:2px 0}"
    ".rg-legend .rg-mk{width:18px;height:18px;flex:none}"
    ".rg-legend .rg-swatch{width:18px;height:12px;flex:none;border:1px solid #8a8a8a}"
    ".rg-district-label{background:none;border:none}"
    ".rg-district-label span{position:absolute;left:0;top:0;transform:translate(-50%,-50%);white-space:nowrap;"
    "font:600 13px/1.2 system-ui,'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;color:#37474F;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}"
    ".rg-center{background:none;border:none}"
    ".rg-center div{width:14px;height:14px;border-radius:50%;background:#fff;border:4px solid #1565C0;"
    "box-sizing:border-box;box-shadow:0 1px 3px rgba(0,0,0,.4)}"
)


class RegistryCss(MacroElement):
    """The registry's map stylesheet (one per page; added by every builder)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        """
    )

    def __init__(self, extra_css: str = "") -> None:
        super().__init__()
        self._name = "RegistryCss"
        self.css = REGISTRY_CSS + extra_css


class LegendControl(MacroElement):
    """A Leaflet control holding static legend HTML (stays inside the map div when embedded).

    Parameters
    ----------
    html : str
        Legend content; must already be escaped.
    position : str, default "bottomleft"
        Leaflet control corner.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function () {
                var div = L.DomUtil.create('div', 'rg-legend');
                div.innerHTML = {{ this.html|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, position: str = "bottomleft") -> None:
        super().__init__()
        self._name = "LegendControl"
        self.html = html
        self.position = position


def facility_legend_html(entries: Sequence[tuple[KindStyle, int]]) -> str:
    """Legend rows for the facility kinds shown, with counts and the compliance rings."""
    rows = [
        f'<div class="rg-row">{marker_html(style, "compliant")}<span>{esc(style.label)}（{count}）</span></div>'
        for style, count in entries
    ]
    grey = KindStyle("legend", "", "#9E9E9E", "")
    rows.append(f'<div class="rg-row">{marker_html(grey, "non_compliant")}<span>红圈：不合规</span></div>')
    rows.append(f'<div class="rg-row">{marker_html(grey, "unknown")}<span>灰圈：合规情况未知</span></div>')
    return '<div class="rg-legend-title">设施图例</div>' + "".join(rows)


def add_css(m: folium.Map) -> None:
    """Add the registry stylesheet to ``m`` once."""
    if "registry_css" not in m._children:
        m.add_child(RegistryCss(), name="registry_css")
