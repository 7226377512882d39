"""Serve folium's JavaScript and CSS from the app instead of CDNs.

Folium's ``Map`` and its plugins list CDN URLs in ``default_js`` / ``default_css``
and add ``<script src>`` / ``<link href>`` tags for them while rendering.  The
files behind those URLs are vendored under ``registry/static/vendor`` (see
``scripts/vendor_assets.py`` and ``docs/OFFLINE_ASSETS.md``).  This module maps
each CDN URL to its vendored file and offers three ways to use them:

* :func:`use_local_assets` rewrites the URLs of a map and every element in its
  tree to ``<base_url>/<lib>/<file>`` and installs a hook that repeats the
  rewrite right before the header is rendered, so elements added later are
  covered too;
* :func:`inline_assets` turns a rendered page into a single self-contained HTML
  file (scripts and stylesheets inlined, images and fonts as ``data:`` URIs);
* :func:`find_external_requests` lists every http(s) resource a page would
  fetch, for tests and checks.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar, Literal, NamedTuple

from branca.element import CssLink, Element, Figure, JavascriptLink

__all__ = [
    "DEFAULT_BASE_URL",
    "STATIC_VENDOR_DIR",
    "VENDORED_URLS",
    "MapParts",
    "UnvendoredAssetError",
    "find_external_requests",
    "has_local_assets",
    "inline_assets",
    "local_url",
    "render_parts",
    "standalone_html",
    "use_local_assets",
]

#: URL prefix under which a Flask app serves ``registry/static/vendor``.
DEFAULT_BASE_URL = "/static/vendor"

#: Where the vendored files live in the source tree (and in an installed wheel,
#: next to the ``maps`` package).  Only a path: ``maps`` never imports ``registry``.
STATIC_VENDOR_DIR = Path(__file__).resolve().parent.parent / "registry" / "static" / "vendor"

#: CDN URL used by folium 0.20 -> vendored file, relative to ``STATIC_VENDOR_DIR``.
VENDORED_URLS: dict[str, str] = {
    # folium.Map defaults
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
        "bootstrap/js/bootstrap.bundle.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
        "bootstrap3-glyphicons/css/bootstrap-glyphicons.css"
    ),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
        "fontawesome-free/css/all.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        "leaflet.awesome-markers/leaflet.awesome-markers.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        "leaflet.awesome-markers/leaflet.awesome-markers.css"
    ),
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": (
        "folium/leaflet.awesome.rotate.css"
    ),
    # folium.plugins.MarkerCluster / FastMarkerCluster
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
        "leaflet.markercluster/leaflet.markercluster.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css": (
        "leaflet.markercluster/MarkerCluster.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
        "leaflet.markercluster/MarkerCluster.Default.css"
    ),
    # folium.plugins.FeatureGroupSubGroup
    "https://unpkg.com/leaflet.featuregroup.subgroup@1.0.2/dist/leaflet.featuregroup.subgroup.js": (
        "leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js"
    ),
    # folium.plugins.Fullscreen
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
        "leaflet.fullscreen/Control.FullScreen.js"
    ),
    "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
        "leaflet.fullscreen/Control.FullScreen.css"
    ),
    # folium.plugins.MousePosition
    "https://cdn.jsdelivr.net/gh/ardhi/Leaflet.MousePosition/src/L.Control.MousePosition.min.js": (
        "leaflet-mouse-position/L.Control.MousePosition.js"
    ),
    "https://cdn.jsdelivr.net/gh/ardhi/Leaflet.MousePosition/src/L.Control.MousePosition.min.css": (
        "leaflet-mouse-position/L.Control.MousePosition.css"
    ),
}

_HOOK_NAME = "registry_local_assets"
_EXTERNAL = re.compile(r"^(?:https?:)?//", re.IGNORECASE)


class UnvendoredAssetError(LookupError):
    """An element references a CDN file that is not vendored in ``registry/static/vendor``.

    Vendor it (add it to ``scripts/vendor_assets.py`` and :data:`VENDORED_URLS`)
    or drop the element: the maps must open on an intranet without internet.
    """


# --------------------------------------------------------------------------- rewriting


def local_url(url: str, base_url: str = DEFAULT_BASE_URL) -> str | None:
    """Return the vendored replacement of a CDN URL.

    Parameters
    ----------
    url : str
        URL found in an element's ``default_js`` / ``default_css``.
    base_url : str, default "/static/vendor"
        URL (or ``file://`` path) under which ``registry/static/vendor`` is served.

    Returns
    -------
    str or None
        ``url`` itself when it is not external (already local or relative), the
        vendored URL when known, ``None`` when the URL is external and unknown.

    Examples
    --------
    >>> local_url("https://code.jquery.com/jquery-3.7.1.min.js")
    '/static/vendor/jquery/jquery.min.js'
    """
    if not _EXTERNAL.match(url):
        return url
    key = "https:" + url if url.startswith("//") else url
    rel = VENDORED_URLS.get(key) or VENDORED_URLS.get(key.replace("http://", "https://", 1))
    if rel is None:
        return None
    return f"{base_url.rstrip('/')}/{rel}"


def _walk(element: Element) -> Iterator[Element]:
    """Yield ``element`` and every element below it, including Figure/Popup parts."""
    seen: set[int] = set()
    stack = [element]
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        yield el
        stack.extend(getattr(el, "_children", {}).values())
        for part in ("header", "html", "script"):
            sub = getattr(el, part, None)
            if isinstance(sub, Element):
                stack.append(sub)


def _rewrite(root: Element, base_url: str, strict: bool) -> None:
    unknown: list[str] = []

    def convert(url: str, owner: Element) -> str:
        new = local_url(url, base_url)
        if new is None:
            unknown.append(f"{type(owner).__name__}: {url}")
            return url
        return new

    for el in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if links:
                # Assign a new list on the instance: folium's lists are shared
                # class attributes and must stay untouched.
                setattr(el, attr, [(name, convert(url, el)) for name, url in links])
        if isinstance(el, (JavascriptLink, CssLink)):
            el.url = convert(el.url, el)
    if unknown and strict:
        raise UnvendoredAssetError(
            "not vendored (add to scripts/vendor_assets.py and maps.assets.VENDORED_URLS): "
            + "; ".join(sorted(set(unknown)))
        )


class _LocalAssetsHook(Element):
    """Invisible first entry of ``figure.header`` that localises links before they render.

    ``Figure.render`` renders every element (which adds ``<script>``/``<link>``
    entries to the header) and only then renders the header; this hook sits in
    the header ahead of those entries and rewrites them in place.
    """

    def __init__(self, base_url: str, strict: bool) -> None:
        super().__init__()
        self._name = "LocalAssetsHook"
        self.base_url = base_url
        self.strict = strict

    def render(self, **kwargs) -> str:
        _rewrite(self.get_root(), self.base_url, self.strict)
        return ""


def use_local_assets(m: Element, base_url: str = DEFAULT_BASE_URL, *, strict: bool = True) -> None:
    """Point every JS/CSS link of ``m``'s page at the vendored copies.

    Rewrites ``default_js`` / ``default_css`` of ``m`` and of every element in
    its tree now, and installs a hook in the figure header that does it again
    at render time, so plugins added after this call are served locally too.
    Calling it again only changes ``base_url``/``strict``.

    Parameters
    ----------
    m : folium.Map or branca.element.Element
        A map, or any element; the whole page (its root figure) is processed.
    base_url : str, default "/static/vendor"
        Where ``registry/static/vendor`` is served.  In a Flask view use
        ``url_for("static", filename="vendor")``; for a file on disk a
        ``file:///.../registry/static/vendor`` URL works.
    strict : bool, default True
        Raise :class:`UnvendoredAssetError` when an element needs a CDN file that
        is not vendored (at call time and again at render time).  With
        ``strict=False`` such URLs are left as they are.

    Examples
    --------
    >>> import folium
    >>> m = folium.Map(tiles=None)
    >>> use_local_assets(m)
    >>> "cdn.jsdelivr.net" in m.get_root().render()
    False
    """
    root = m.get_root()
    _rewrite(root, base_url, strict)
    if isinstance(root, Figure):
        hook = _LocalAssetsHook(base_url, strict)
        children = root.header._children
        if _HOOK_NAME in children:
            children[_HOOK_NAME] = hook
        else:
            root.header.add_child(hook, name=_HOOK_NAME, index=0)
        hook._parent = root.header


def has_local_assets(m: Element) -> bool:
    """Tell whether :func:`use_local_assets` was applied to ``m``'s page."""
    root = m.get_root()
    return isinstance(root, Figure) and _HOOK_NAME in root.header._children


# --------------------------------------------------------------------------- rendering


class MapParts(NamedTuple):
    """The three pieces of a rendered map, for embedding in a Jinja page.

    ``header`` goes into ``<head>``, ``html`` where the map should appear and
    ``script`` into a ``<script>`` element after it (all already safe HTML/JS).
    """

    header: str
    html: str
    script: str


def render_parts(m: Element) -> MapParts:
    """Render ``m`` and return its header, body and script separately.

    Examples
    --------
    >>> import folium
    >>> m = folium.Map(tiles=None)
    >>> use_local_assets(m)
    >>> parts = render_parts(m)
    >>> "/static/vendor/leaflet/leaflet.js" in parts.header
    True
    """
    fig = m.get_root()
    if not isinstance(fig, Figure):
        raise TypeError("the element is not attached to a Figure")
    fig.render()
    return MapParts(fig.header.render(), fig.html.render(), fig.script.render())


def standalone_html(
    m: Element,
    static_root: Path | str = STATIC_VENDOR_DIR,
    *,
    fonts: Literal["woff2", "all", "omit"] = "woff2",
) -> str:
    """Render ``m`` as one self-contained HTML file that opens offline.

    Parameters
    ----------
    m : folium.Map
        The map (its whole page is exported).
    static_root : path, default ``registry/static/vendor``
        Directory holding the vendored files.
    fonts : {"woff2", "all", "omit"}, default "woff2"
        See :func:`inline_assets`.

    Returns
    -------
    str
        The HTML document; tile layers (if any) are the only remaining network use.
    """
    if not has_local_assets(m):
        use_local_assets(m)
    fig = m.get_root()
    assert isinstance(fig, Figure)
    hook = fig.header._children[_HOOK_NAME]
    assert isinstance(hook, _LocalAssetsHook)
    html = fig.render()
    return inline_assets(html, static_root, base_url=hook.base_url, fonts=fonts)


# --------------------------------------------------------------------------- inlining

_SCRIPT_TAG = re.compile(
    r"<script\b[^>]*\bsrc\s*=\s*([\"'])(?P<url>[^\"']+)\1[^>]*>\s*</script>", re.IGNORECASE
)
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_HREF = re.compile(r"\bhref\s*=\s*([\"'])(?P<url>[^\"']+)\1", re.IGNORECASE)
_CSS_URL = re.compile(
    r"""url\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^)'"]*))\s*\)""", re.IGNORECASE
)
_SOURCEMAP = re.compile(r"(?:/\*# sourceMappingURL=[^*]*\*/|//# sourceMappingURL=\S*)")
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_SRC_DECL = re.compile(r"(?P<prop>\bsrc\s*:)(?P<value>[^;}]*)(?P<end>;?)", re.IGNORECASE)


def _css_url_of(match: re.Match[str]) -> str:
    """The URL inside a ``url(...)`` match, whichever quoting it used."""
    return (match.group("dq") or match.group("sq") or match.group("bare") or "").strip()


_MIME = {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
}


def _resolve(url: str, base_url: str, static_root: Path) -> Path:
    prefix = base_url.rstrip("/") + "/"
    if not url.startswith(prefix):
        raise ValueError(f"cannot inline {url!r}: not under {base_url!r}")
    path = (static_root / url[len(prefix) :].split("?")[0].split("#")[0]).resolve()
    if static_root.resolve() not in path.parents or not path.is_file():
        raise FileNotFoundError(f"cannot inline {url!r}: {path} is not a vendored file")
    return path


def _keep_woff2(css: str) -> str:
    """In each ``@font-face``, keep only the woff2 sources when there is one."""

    def face(match: re.Match[str]) -> str:
        block = match.group(0)
        if "woff2" not in block:
            return block

        def decl(d: re.Match[str]) -> str:
            entries = [e.strip() for e in d.group("value").split(",")]
            woff2 = [e for e in entries if "woff2" in e]
            if not woff2:
                return ""  # e.g. the IE-only ``src: url(x.eot);`` line
            return f"{d.group('prop')}{','.join(woff2)}{d.group('end')}"

        return _SRC_DECL.sub(decl, block)

    return _FONT_FACE.sub(face, css)


def _inline_css(path: Path, static_root: Path, fonts: str) -> str:
    css = _SOURCEMAP.sub("", path.read_text(encoding="utf-8"))
    if fonts == "omit":
        css = _FONT_FACE.sub("", css)
    elif fonts == "woff2":
        css = _keep_woff2(css)

    def data_uri(match: re.Match[str]) -> str:
        url = _css_url_of(match)
        if url.startswith(("data:", "#")):
            return match.group(0)
        if _EXTERNAL.match(url):
            raise ValueError(f"{path.name} references external {url!r}")
        target = (path.parent / url.split("?")[0].split("#")[0]).resolve()
        if static_root.resolve() not in target.parents or not target.is_file():
            raise FileNotFoundError(f"{path.name} references missing {url!r}")
        mime = (
            _MIME.get(target.suffix.lower())
            or mimetypes.guess_type(target.name)[0]
            or "application/octet-stream"
        )
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{payload}")'

    css = _CSS_URL.sub(data_uri, css)
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


def inline_assets(
    html: str,
    static_root: Path | str = STATIC_VENDOR_DIR,
    *,
    base_url: str = DEFAULT_BASE_URL,
    fonts: Literal["woff2", "all", "omit"] = "woff2",
) -> str:
    """Inline the vendored scripts and stylesheets of a rendered page.

    Every ``<script src>`` and ``<link rel=stylesheet href>`` under ``base_url``
    is replaced by an inline ``<script>``/``<style>``; images and fonts that the
    stylesheets reference become base64 ``data:`` URIs.  Source-map comments are
    dropped.  Links to other hosts raise ``ValueError``.

    Parameters
    ----------
    html : str
        A page rendered with :func:`use_local_assets` (same ``base_url``).
    static_root : path, default ``registry/static/vendor``
        Directory served at ``base_url``.
    base_url : str, default "/static/vendor"
        The prefix used when the page was rendered.
    fonts : {"woff2", "all", "omit"}, default "woff2"
        ``"woff2"`` embeds only the WOFF2 font files (every browser that runs
        Leaflet 1.9 reads WOFF2; about 0.4 MB for Font Awesome and Glyphicons),
        ``"all"`` embeds every format the CSS lists (~1.5 MB more), ``"omit"``
        drops ``@font-face`` rules: icon-font glyphs (folium ``Icon`` markers)
        then show as blank, the registry's own markers are SVG and unaffected.

    Returns
    -------
    str
        The self-contained page.
    """
    root = Path(static_root)
    if fonts not in ("woff2", "all", "omit"):
        raise ValueError(f"fonts must be 'woff2', 'all' or 'omit', not {fonts!r}")

    def script(match: re.Match[str]) -> str:
        path = _resolve(match.group("url"), base_url, root)
        code = _SOURCEMAP.sub("", path.read_text(encoding="utf-8"))
        code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE)
        return f"<script>/* {path.relative_to(root.resolve()).as_posix()} */\n{code}\n</script>"

    def link(match: re.Match[str]) -> str:
        tag = match.group(0)
        href = _HREF.search(tag)
        if href is None or "stylesheet" not in tag.lower():
            return tag
        path = _resolve(href.group("url"), base_url, root)
        css = _inline_css(path, root, fonts)
        return f"<style>/* {path.relative_to(root.resolve()).as_posix()} */\n{css}\n</style>"

    html = _SCRIPT_TAG.sub(script, html)
    return _LINK_TAG.sub(link, html)


# --------------------------------------------------------------------------- checking


class _RequestFinder(HTMLParser):
    """Collect URLs the browser would fetch: src/href of resources, CSS url()/@import."""

    _SRC_TAGS: ClassVar[frozenset[str]] = frozenset(
        {"script", "img", "iframe", "embed", "source", "audio", "video", "input", "track"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag in self._SRC_TAGS and values.get("src"):
            self.urls.append(values["src"])
        if tag == "link" and values.get("href"):
            self.urls.append(values["href"])
        if tag == "object" and values.get("data"):
            self.urls.append(values["data"])
        if values.get("style"):
            self._css(values["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._css(data)

    def _css(self, css: str) -> None:
        self.urls.extend(_css_url_of(m) for m in _CSS_URL.finditer(css))
        self.urls.extend(re.findall(r"@import\s+[\"']([^\"']+)[\"']", css))


def find_external_requests(html: str) -> list[str]:
    """List the http(s) resources a page would load.

    Looks at ``src`` of scripts, images and frames, ``href`` of ``<link>``,
    ``url()`` and ``@import`` in ``<style>`` blocks and ``style`` attributes.
    Hyperlinks (``<a href>``, e.g. attribution text) and strings inside scripts
    are not requests and are ignored; so are tile URL templates, which the user
    chose explicitly.

    Parameters
    ----------
    html : str
        A rendered page.

    Returns
    -------
    list of str
        The external URLs, in document order (empty for an offline page).
    """
    finder = _RequestFinder()
    finder.feed(html)
    finder.close()
    return [u for u in finder.urls if _EXTERNAL.match(u)]
