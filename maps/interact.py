"""Map interactions for pages that embed a map in an ``<iframe>``.

:class:`PickPoint` lets a user click the map to choose a point: the map posts
``{type, lat, lon, crs}`` to the embedding page (same origin only), which can
fill a form with it.  The coordinates are those of the display, so on a GCJ-02
basemap (Amap) they are GCJ-02 and the message says so.
"""

from __future__ import annotations

import folium
from branca.element import MacroElement
from folium.template import Template

__all__ = ["PickPoint", "pick_point"]


class PickPoint(MacroElement):
    """Post clicked coordinates to the parent window.

    Parameters
    ----------
    crs : str
        Name of the coordinate system of the display (``"wgs84"`` or ``"gcj02"``).
    message_type : str
        ``type`` field of the posted message.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>.leaflet-container.rg-pick{cursor:crosshair}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            (function (map) {
                map.getContainer().classList.add('rg-pick');
                map.on('click', function (e) {
                    if (window.parent === window) { return; }
                    window.parent.postMessage({type: {{ this.message_type|tojson }}, crs: {{ this.crs|tojson }},
                                               lat: e.latlng.lat, lon: e.latlng.lng}, window.location.origin);
                });
            })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, crs: str = "wgs84", message_type: str = "registry:pick") -> None:
        super().__init__()
        self._name = "PickPoint"
        self.crs = str(crs)
        self.message_type = str(message_type)


def pick_point(m: folium.Map, crs: str = "wgs84", message_type: str = "registry:pick") -> folium.Map:
    """Add :class:`PickPoint` to ``m`` (once) and return ``m``."""
    if "registry_pick_point" not in m._children:
        m.add_child(PickPoint(crs, message_type), name="registry_pick_point")
    return m
