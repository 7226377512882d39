#!/usr/bin/env python3
"""Reproduce ``registry/static/vendor/`` from package registries.

Folium pulls Leaflet, jQuery, Bootstrap, Font Awesome, Leaflet.awesome-markers
and the Leaflet plugins from CDNs.  Planners open the maps on an intranet with
no internet access, so every one of those files is vendored into the app and
served from ``/static/vendor``.  This script fetches each file from the npm
registry (``npm pack``) or, for one folium stylesheet that is not on npm, from
folium's source distribution on PyPI (``pip download``), copies the files the
CDN URLs point at, and writes ``MANIFEST.json`` (package, version, source and
SHA-256 of every file).

Usage (from the repository root)::

    python scripts/vendor_assets.py            # (re)write registry/static/vendor
    python scripts/vendor_assets.py --check    # fetch again, compare, exit 1 on drift
    python scripts/vendor_assets.py --verify   # offline: compare files to MANIFEST.json

``--verify`` needs no network and is what the unit tests do as well.  The URL to
file mapping that the maps use lives in :mod:`maps.assets`; keep both in step
when folium is upgraded (``tests/unit/test_maps.py`` fails if a folium default
URL has no vendored file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
VENDOR_DIR = REPO_ROOT / "registry" / "static" / "vendor"
MANIFEST_NAME = "MANIFEST.json"


@dataclass(frozen=True)
class Package:
    """One registry package and the files taken from it.

    Attributes
    ----------
    lib : str
        Folder under ``registry/static/vendor``.
    registry : str
        ``"npm"`` or ``"pypi"``.
    name, version : str
        Package coordinates in that registry.
    files : dict
        Path inside the archive -> path under ``<lib>/``.
    cdn_url : str
        What folium references (documentation only).
    transform : str or None
        Name of a post-processing step (see ``TRANSFORMS``); ``None`` copies bytes.
    """

    lib: str
    registry: str
    name: str
    version: str
    files: dict[str, str]
    cdn_url: str
    transform: str | None = None
    note: str = ""
    licence: str = ""
    extra: dict[str, str] = field(default_factory=dict)


PACKAGES: tuple[Package, ...] = (
    Package(
        lib="leaflet",
        registry="npm",
        name="leaflet",
        version="1.9.3",
        licence="BSD-2-Clause",
        cdn_url="cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/",
        files={
            "package/dist/leaflet.js": "leaflet.js",
            "package/dist/leaflet.css": "leaflet.css",
            "package/dist/images/layers.png": "images/layers.png",
            "package/dist/images/layers-2x.png": "images/layers-2x.png",
            "package/dist/images/marker-icon.png": "images/marker-icon.png",
            "package/dist/images/marker-icon-2x.png": "images/marker-icon-2x.png",
            "package/dist/images/marker-shadow.png": "images/marker-shadow.png",
            "package/LICENSE": "LICENSE",
        },
    ),
    Package(
        lib="jquery",
        registry="npm",
        name="jquery",
        version="3.7.1",
        licence="MIT",
        cdn_url="code.jquery.com/jquery-3.7.1.min.js",
        files={
            "package/dist/jquery.min.js": "jquery.min.js",
            "package/LICENSE.txt": "LICENSE.txt",
        },
    ),
    Package(
        lib="bootstrap",
        registry="npm",
        name="bootstrap",
        version="5.2.2",
        licence="MIT",
        cdn_url="cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/",
        files={
            "package/dist/js/bootstrap.bundle.min.js": "js/bootstrap.bundle.min.js",
            "package/dist/css/bootstrap.min.css": "css/bootstrap.min.css",
            "package/LICENSE": "LICENSE",
        },
    ),
    Package(
        lib="bootstrap3-glyphicons",
        registry="npm",
        name="bootstrap",
        version="3.4.1",
        licence="MIT (Glyphicons Halflings font included with Bootstrap 3 under its licence)",
        cdn_url="netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
        transform="extract_glyphicons",
        note=(
            "Bootstrap 3.0.0 is not on npm and its stand-alone bootstrap-glyphicons.css was a "
            "CDN-only file; the @font-face and .glyphicon* rules are extracted unchanged from "
            "bootstrap@3.4.1 dist/css/bootstrap.css (same class names and code points)."
        ),
        files={
            "package/dist/css/bootstrap.css": "css/bootstrap-glyphicons.css",
            "package/dist/fonts/glyphicons-halflings-regular.eot": "fonts/glyphicons-halflings-regular.eot",
            "package/dist/fonts/glyphicons-halflings-regular.svg": "fonts/glyphicons-halflings-regular.svg",
            "package/dist/fonts/glyphicons-halflings-regular.ttf": "fonts/glyphicons-halflings-regular.ttf",
            "package/dist/fonts/glyphicons-halflings-regular.woff": "fonts/glyphicons-halflings-regular.woff",
            "package/dist/fonts/glyphicons-halflings-regular.woff2": (
                "fonts/glyphicons-halflings-regular.woff2"
            ),
            "package/LICENSE": "LICENSE",
        },
    ),
    Package(
        lib="fontawesome-free",
        registry="npm",
        name="@fortawesome/fontawesome-free",
        version="6.2.0",
        licence="Icons CC-BY-4.0, fonts OFL-1.1, code MIT",
        cdn_url="cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css",
        files={
            "package/css/all.min.css": "css/all.min.css",
            **{
                f"package/webfonts/{stem}.{ext}": f"webfonts/{stem}.{ext}"
                for stem in ("fa-brands-400", "fa-regular-400", "fa-solid-900", "fa-v4compatibility")
                for ext in ("woff2", "ttf")
            },
            "package/LICENSE.txt": "LICENSE.txt",
        },
    ),
    Package(
        lib="leaflet.awesome-markers",
        registry="npm",
        name="leaflet.awesome-markers",
        version="2.0.5",
        licence="MIT",
        cdn_url="cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/",
        note=(
            "npm has no 2.0.2; 2.0.0, 2.0.4 and 2.0.5 on npm ship identical dist files "
            "(L.AwesomeMarkers.version '2.0.1', default prefix 'glyphicon'), i.e. the dist of "
            "upstream tag v2.0.2 that cdnjs serves."
        ),
        files={
            "package/dist/leaflet.awesome-markers.js": "leaflet.awesome-markers.js",
            "package/dist/leaflet.awesome-markers.css": "leaflet.awesome-markers.css",
            "package/dist/images/markers-soft.png": "images/markers-soft.png",
            "package/dist/images/markers-soft@2x.png": "images/markers-soft@2x.png",
            "package/dist/images/markers-shadow.png": "images/markers-shadow.png",
            "package/dist/images/markers-shadow@2x.png": "images/markers-shadow@2x.png",
            "package/LICENSE": "LICENSE",
        },
    ),
    Package(
        lib="folium",
        registry="pypi",
        name="folium",
        version="0.20.0",
        licence="MIT",
        cdn_url=(
            "cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css"
        ),
        note="Only in folium's own repository; taken from the folium sdist on PyPI (unminified).",
        files={
            "folium-0.20.0/folium/templates/leaflet.awesome.rotate.css": "leaflet.awesome.rotate.css",
            "folium-0.20.0/LICENSE.txt": "LICENSE.txt",
        },
    ),
    Package(
        lib="leaflet.markercluster",
        registry="npm",
        name="leaflet.markercluster",
        version="1.1.0",
        licence="MIT",
        cdn_url="cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/",
        files={
            "package/dist/leaflet.markercluster.js": "leaflet.markercluster.js",
            "package/dist/MarkerCluster.css": "MarkerCluster.css",
            "package/dist/MarkerCluster.Default.css": "MarkerCluster.Default.css",
            "package/MIT-LICENCE.txt": "MIT-LICENCE.txt",
        },
    ),
    Package(
        lib="leaflet.featuregroup.subgroup",
        registry="npm",
        name="leaflet.featuregroup.subgroup",
        version="1.0.2",
        licence="BSD-2-Clause",
        cdn_url="unpkg.com/leaflet.featuregroup.subgroup@1.0.2/dist/leaflet.featuregroup.subgroup.js",
        files={
            "package/dist/leaflet.featuregroup.subgroup.js": "leaflet.featuregroup.subgroup.js",
            "package/LICENSE": "LICENSE",
        },
    ),
    Package(
        lib="leaflet.fullscreen",
        registry="npm",
        name="leaflet.fullscreen",
        version="3.0.0",
        licence="MIT",
        cdn_url="cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/",
        note="The npm package has no Control.FullScreen.min.js; the unminified file is served for it.",
        files={
            "package/Control.FullScreen.js": "Control.FullScreen.js",
            "package/Control.FullScreen.css": "Control.FullScreen.css",
            "package/icon-fullscreen.svg": "icon-fullscreen.svg",
            "package/LICENSE": "LICENSE",
        },
    ),
    Package(
        lib="leaflet-mouse-position",
        registry="npm",
        name="leaflet-mouse-position",
        version="1.2.0",
        licence="MIT",
        cdn_url="cdn.jsdelivr.net/gh/ardhi/Leaflet.MousePosition/src/",
        note=(
            "folium points at ardhi/Leaflet.MousePosition on GitHub (unversioned); npm's "
            "leaflet-mouse-position is a wrapper of that plugin with the same L.Control.MousePosition "
            "API (unminified)."
        ),
        files={
            "package/src/L.Control.MousePosition.js": "L.Control.MousePosition.js",
            "package/src/L.Control.MousePosition.css": "L.Control.MousePosition.css",
            "package/MIT-LICENCE.txt": "MIT-LICENCE.txt",
        },
    ),
)


# --------------------------------------------------------------------------- transforms


def _top_level_rules(css: str) -> list[str]:
    """Split a stylesheet into its top-level rules (comments dropped)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    rules: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(css):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                rules.append(css[start : i + 1].strip())
                start = i + 1
    return rules


def extract_glyphicons(data: bytes) -> bytes:
    """Keep the Glyphicons ``@font-face`` and ``.glyphicon*`` rules of Bootstrap 3's CSS.

    Parameters
    ----------
    data : bytes
        ``bootstrap.css`` (unminified) of Bootstrap 3.

    Returns
    -------
    bytes
        A stylesheet equivalent to the old ``bootstrap-glyphicons.css``.
    """
    text = data.decode("utf-8")
    banner = re.match(r"\s*/\*!.*?\*/", text, flags=re.DOTALL)
    kept = []
    for rule in _top_level_rules(text):
        head = rule.split("{", 1)[0].strip()
        if (
            head == "@font-face"
            and "Glyphicons Halflings" in rule
            or all(sel.strip().startswith(".glyphicon") for sel in head.split(","))
        ):
            kept.append(rule)
    if len(kept) < 200:
        raise RuntimeError(f"glyphicons extraction found only {len(kept)} rules")
    header = (banner.group(0).strip() + "\n" if banner else "") + (
        "/* Glyphicons Halflings rules extracted from Bootstrap's dist/css/bootstrap.css by\n"
        "   scripts/vendor_assets.py (stand-in for bootstrap-glyphicons.css). */\n"
    )
    return (header + "\n".join(kept) + "\n").encode("utf-8")


TRANSFORMS = {"extract_glyphicons": extract_glyphicons}


# --------------------------------------------------------------------------- fetching


def _fetch_archive(pkg: Package, workdir: Path) -> Path:
    """Download the package archive with the registry's ordinary client."""
    dest = workdir / f"{pkg.registry}-{pkg.lib}"
    dest.mkdir(parents=True, exist_ok=True)
    if pkg.registry == "npm":
        cmd = [
            "npm",
            "pack",
            "--loglevel=error",
            f"{pkg.name}@{pkg.version}",
            "--pack-destination",
            str(dest),
        ]
        pattern = "*.tgz"
    elif pkg.registry == "pypi":
        cmd = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--no-binary", ":all:", f"{pkg.name}=={pkg.version}", "-d", str(dest),
        ]  # fmt: skip
        pattern = "*.tar.gz"
    else:  # pragma: no cover - programming error
        raise ValueError(pkg.registry)
    done = subprocess.run(cmd, cwd=dest, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr}")
    archives = sorted(dest.glob(pattern))
    if len(archives) != 1:
        raise RuntimeError(f"expected one archive for {pkg.name}, got {archives}")
    return archives[0]


def build(target: Path, workdir: Path) -> dict:
    """Fetch every package and write its files under ``target``.

    Returns
    -------
    dict
        The manifest that was written to ``target / MANIFEST.json``.
    """
    manifest: dict = {
        "generated_by": "scripts/vendor_assets.py",
        "packages": [],
    }
    for pkg in PACKAGES:
        archive = _fetch_archive(pkg, workdir)
        lib_dir = target / pkg.lib
        if lib_dir.exists():
            shutil.rmtree(lib_dir)
        entry = {
            "lib": pkg.lib,
            "registry": pkg.registry,
            "package": pkg.name,
            "version": pkg.version,
            "licence": pkg.licence,
            "replaces_cdn": pkg.cdn_url,
            "note": pkg.note,
            "files": {},
        }
        with tarfile.open(archive) as tar:
            for member, rel in pkg.files.items():
                fh = tar.extractfile(member)
                if fh is None:
                    raise RuntimeError(f"{member} missing from {archive.name}")
                data = fh.read()
                if pkg.transform and not rel.startswith(("LICENSE", "MIT-")) and rel.endswith(".css"):
                    data = TRANSFORMS[pkg.transform](data)
                out = lib_dir / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(data)
                entry["files"][rel] = hashlib.sha256(data).hexdigest()
        manifest["packages"].append(entry)
        print(f"  {pkg.lib:32s} {pkg.registry}:{pkg.name}@{pkg.version} ({len(pkg.files)} files)")
    (target / MANIFEST_NAME).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def verify(target: Path) -> list[str]:
    """Compare the files under ``target`` with its ``MANIFEST.json`` (no network).

    Returns
    -------
    list of str
        One message per missing or altered file; empty when all match.
    """
    manifest = json.loads((target / MANIFEST_NAME).read_text(encoding="utf-8"))
    problems = []
    for entry in manifest["packages"]:
        for rel, digest in entry["files"].items():
            path = target / entry["lib"] / rel
            if not path.is_file():
                problems.append(f"missing: {path.relative_to(target)}")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                problems.append(f"altered: {path.relative_to(target)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fetch again and compare with the tree")
    mode.add_argument("--verify", action="store_true", help="compare the tree with MANIFEST.json only")
    parser.add_argument("--target", type=Path, default=VENDOR_DIR)
    args = parser.parse_args(argv)

    if args.verify:
        problems = verify(args.target)
        for p in problems:
            print(p, file=sys.stderr)
        print("vendor assets: OK" if not problems else f"vendor assets: {len(problems)} problem(s)")
        return 1 if problems else 0

    with tempfile.TemporaryDirectory(prefix="vendor-assets-") as tmp:
        tmpdir = Path(tmp)
        if args.check:
            fresh = tmpdir / "fresh"
            build(fresh, tmpdir / "work")
            old = json.loads((args.target / MANIFEST_NAME).read_text(encoding="utf-8"))
            new = json.loads((fresh / MANIFEST_NAME).read_text(encoding="utf-8"))
            same = old["packages"] == new["packages"] and not verify(args.target)
            print(
                "vendor assets match the registries" if same else "vendor assets DIFFER from the registries"
            )
            return 0 if same else 1
        args.target.mkdir(parents=True, exist_ok=True)
        build(args.target, tmpdir / "work")
    print(f"wrote {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
