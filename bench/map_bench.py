"""Benchmark: the all-kinds map page with 100,000 facilities in headless Chromium.

Starts its OWN throw-away PostGIS cluster (temp dir, free port), migrates it,
loads the 12 district outlines and generates the facilities with SQL (the
generator of ``bench/query_bench.py``: uniform over Zhengzhou's extent, 60 %
elevators, 25 % parking lots, 8 % kindergartens, 4 % study rooms, 3 %
museums), serves the app with gunicorn (one worker, four threads) and opens
``/map`` (the page with the map in its iframe) in the system Chromium
(``/usr/bin/chromium``, Playwright) with every non-local request aborted.

Each run uses a NEW browser context (empty cache: every script, stylesheet,
font and the map document are downloaded again) and measures, from the
navigation start of ``/map`` (``performance.timeOrigin`` of the top page):

``ready_ms``
    the first animation frame in which, inside the map frame, the Leaflet map
    has fired ``load`` (``map._loaded``), no zoom animation runs, and every
    kind layer has drawn its markers for the current view (grid clusters:
    ``layer._drawnZoom === map.getZoom()``; Folium MarkerCluster /
    FastMarkerCluster: markers in the DOM);
``click_ms``
    then a real mouse click (CDP input, at the centre of the largest cluster
    icon) until the map has zoomed in (a ``moveend`` at a new zoom) and the
    layers have drawn the new view (the same drawn check) — the click
    "responds";
``interactive_ms = ready_ms + click_ms``
    what a planner who clicks as soon as the markers show waits before the map
    answers.  **Target: interactive within 3 s.**

and the page weight: bytes on the wire (CDP ``encodedDataLength``: HTML of
the page and the map document, every asset, the data embedded in the map
document), split by type, plus the uncompressed size of the map document.

The map document is built once per data version and cached by the server;
the first request (``cold_build_s``) is timed on its own, the ``--runs``
(default 5) browser runs see the cached document.  The reference, measured in
the same run on the same data, is the same page drawn with Folium's own fast
path (``FastMarkerCluster``, one Leaflet marker per facility built in the
browser; ``MAP_GRID_THRESHOLD`` raised so the grid layers are not used),
``--reference-runs`` (default 2) times.

Run::

    .venv/bin/python bench/map_bench.py                       # 100,000 facilities, 5 runs
    .venv/bin/python bench/map_bench.py --facilities 20000 --runs 3 --reference-runs 1

Prints JSON: medians, every run, the page weight, load averages (the machine
is shared; they are printed at each phase) and the ratio to the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from query_bench import free_port, generate, load_districts, loadavg

from registry import migrate
from registry.localdb import LocalCluster

CHROMIUM = os.environ.get("REGISTRY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
TARGET_MS = 3000.0

#: Polls every animation frame (in the map frame) until the map is loaded, still and drawn.
READY_JS = r"""
() => new Promise((resolve, reject) => {
  const started = performance.now();
  function find() {
    if (!window.L) { return null; }
    for (const k of Object.keys(window)) {
      const v = window[k];
      if (v && v instanceof L.Map) { return v; }
    }
    return null;
  }
  function drawn(map) {
    let grid = 0, gridDrawn = 0;
    map.eachLayer(l => {
      if (L.RegistryGridCluster && l instanceof L.RegistryGridCluster) {
        grid++;
        if (l._drawnZoom === map.getZoom()) { gridDrawn++; }
      }
    });
    if (grid) { return gridDrawn === grid; }
    // Folium MarkerCluster / FastMarkerCluster load their markers in chunks: ready when every
    // facility counted in the layer control ("博物馆（70）") is in a cluster group.
    let total = 0, expected = 0;
    map.eachLayer(l => { if (L.MarkerClusterGroup && l instanceof L.MarkerClusterGroup) { total += l.getLayers().length; } });
    document.querySelectorAll('.leaflet-control-layers-overlays label').forEach(e => {
      const m = e.textContent.match(/（(\d+)）/);
      if (m) { expected += parseInt(m[1], 10); }
    });
    return expected > 0 && total >= expected && document.querySelectorAll('.leaflet-marker-icon').length > 0;
  }
  function tick() {
    const map = find();
    const panning = map && map._panAnim && map._panAnim._inProgress;
    if (map && map._loaded && !map._animatingZoom && !panning && drawn(map)) {
      window.__rgMap = map;
      resolve(performance.timeOrigin + performance.now());
      return;
    }
    if (performance.now() - started > 120000) { reject(new Error('map not ready after 120 s')); return; }
    requestAnimationFrame(tick);
  }
  tick();
})
"""

#: The largest cluster icon's centre (page coordinates of the frame) and its zoom.
CLUSTER_JS = """
() => {
  let best = null, bestN = -1;
  document.querySelectorAll('.rg-gc, .marker-cluster').forEach(e => {
    const n = parseInt(e.textContent, 10) || 0;
    const r = e.getBoundingClientRect();
    const inView = r.left > 60 && r.top > 60 && r.right < innerWidth - 260 && r.bottom < innerHeight - 60;
    if (inView && n > bestN) { bestN = n; best = r; }
  });
  if (!best) { return null; }
  window.__rgZoom0 = window.__rgMap.getZoom();
  window.__rgMoved = new Promise(res => {
    const map = window.__rgMap;
    function moved() { if (map.getZoom() !== window.__rgZoom0) { map.off('moveend', moved); res(); } }
    map.on('moveend', moved);
  });
  return {x: best.left + best.width / 2, y: best.top + best.height / 2, n: bestN, zoom: window.__rgZoom0};
}
"""

#: After the click: the time at which the map has moved to a new zoom and the layers are drawn again.
CLICKED_JS = """
() => Promise.race([
  new Promise((_, reject) => setTimeout(() => reject(new Error('the click did not zoom the map within 60 s')), 60000)),
  window.__rgMoved.then(() => new Promise(resolve => {
  const map = window.__rgMap;
  function drawn() {
    let ok = true;
    map.eachLayer(l => {
      if (L.RegistryGridCluster && l instanceof L.RegistryGridCluster && l._drawnZoom !== map.getZoom()) { ok = false; }
    });
    return ok && !map._animatingZoom;
  }
  function tick() {
    if (drawn()) { resolve({t: performance.timeOrigin + performance.now(), zoom: map.getZoom()}); return; }
    requestAnimationFrame(tick);
  }
  tick();
}))])
"""


def start_server(url: str, port: int, config: dict[str, Any]) -> subprocess.Popen[bytes]:
    """gunicorn (1 worker, 4 threads) serving ``create_app(config)`` against ``url``."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which("gunicorn")
    if gunicorn is None:
        raise SystemExit("gunicorn is not installed (pip install gunicorn)")
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "REGISTRY_ANONYMOUS_READ": "1"}
    app = f"registry:create_app({config!r})"
    cmd = [gunicorn, "--workers", "1", "--worker-class", "gthread", "--threads", "4", "--bind",
           f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "600", app]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/kinds", timeout=5) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("gunicorn did not come up")


def stop_server(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def cold_build(base: str) -> dict[str, Any]:
    """First request of the map document (the server builds and caches it), then a cached one."""
    out: dict[str, Any] = {}
    for name in ("cold_build_s", "cached_s"):
        req = urllib.request.Request(base + "/map/frame", headers={"Accept-Encoding": "gzip"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=600) as resp:
            body = resp.read()
        out[name] = round(time.perf_counter() - t0, 3)
        out["map_document_gzip_bytes"] = len(body)
    with urllib.request.urlopen(base + "/map/frame", timeout=600) as resp:
        doc = resp.read()
    out["map_document_bytes"] = len(doc)
    out["layers"] = ("grid clusters" if b"L.registryGridCluster" in doc
                     else "FastMarkerCluster/MarkerCluster" if b"markerClusterGroup" in doc else "other")
    return out


def one_run(browser: Any, base: str) -> dict[str, Any]:
    """One visit of ``/map`` in a fresh context: ready, click response and bytes on the wire."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base) or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    types: dict[str, str] = {}
    cdp.on("Network.responseReceived", lambda e: types.__setitem__(e["requestId"], e.get("type", "Other")))
    cdp.on("Network.loadingFinished",
           lambda e: sizes.__setitem__(e["requestId"], int(e.get("encodedDataLength", 0))))
    try:
        page.goto(base + "/map", wait_until="commit")
        origin = page.evaluate("() => performance.timeOrigin")
        frame = None
        deadline = time.time() + 120
        while frame is None and time.time() < deadline:
            frame = next((f for f in page.frames if "/map/frame" in f.url), None)
            if frame is None:
                page.wait_for_timeout(5)
        if frame is None:
            raise RuntimeError("the map frame never appeared")
        frame.wait_for_function("() => document.readyState !== 'loading' || !!window.L", timeout=120_000)
        ready_at = frame.evaluate(READY_JS)
        print(f"  ready {ready_at - origin:.0f} ms", file=sys.stderr)
        target = frame.evaluate(CLUSTER_JS)
        if target is None:
            raise RuntimeError("no cluster icon in view to click")
        box = frame.frame_element().bounding_box()
        click_at = page.evaluate("() => performance.timeOrigin + performance.now()")
        page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
        try:
            done = frame.evaluate(CLICKED_JS)
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            print(f"  click on a cluster of {target['n']}: {exc}", file=sys.stderr)
            done = {"t": float("nan"), "zoom": None}
        print(f"  click on a cluster of {target['n']} answered in {done['t'] - click_at:.0f} ms", file=sys.stderr)
        page.wait_for_load_state("load")
        by_type: dict[str, int] = {}
        for rid, n in sizes.items():
            key = types.get(rid, "Other")
            by_type[key] = by_type.get(key, 0) + n
        markers = frame.evaluate("() => document.querySelectorAll('.leaflet-marker-icon').length")
        return {
            "ready_ms": round(ready_at - origin, 1),
            "click_ms": round(done["t"] - click_at, 1),
            "interactive_ms": round(ready_at - origin + done["t"] - click_at, 1),
            "clicked_cluster": target["n"],
            "zoom": [target["zoom"], done["zoom"]],
            "markers_in_dom_after_click": markers,
            "bytes": sum(sizes.values()),
            "requests": len(sizes),
            "bytes_by_type": by_type,
            "blocked": blocked,
            "console_errors": errors,
        }
    finally:
        cdp.detach()
        context.close()


def browser_runs(base: str, runs: int) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            one_run(browser, base)  # browser warm-up (process start, font cache), not counted
            out = []
            for _ in range(runs):
                out.append(one_run(browser, base))
            return out
        finally:
            browser.close()


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float | None:
        values = [r[key] for r in runs if r[key] == r[key]]  # NaN: the click did not answer
        return round(statistics.median(values), 1) if values else None

    med = {k: median(k) for k in ("ready_ms", "click_ms", "interactive_ms")}
    return {
        **{f"median_{k}": v for k, v in med.items()},
        "clicks_not_answered": sum(1 for r in runs if r["click_ms"] != r["click_ms"]),
        "page_weight_bytes": runs[-1]["bytes"],
        "page_weight_by_type": runs[-1]["bytes_by_type"],
        "requests": runs[-1]["requests"],
        "runs": [{k: r[k] for k in ("ready_ms", "click_ms", "interactive_ms", "clicked_cluster", "zoom")}
                 for r in runs],
        "blocked_requests": sorted({u for r in runs for u in r["blocked"]}),
        "console_errors": sorted({e for r in runs for e in r["console_errors"]}),
    }


def measure(url: str, config: dict[str, Any], runs: int) -> dict[str, Any]:
    port = free_port()
    server = start_server(url, port, config)
    try:
        base = f"http://127.0.0.1:{port}"
        load0 = loadavg()
        build = cold_build(base)
        result = summarise(browser_runs(base, runs))
        return {**build, **result, "load_average": [load0, loadavg()]}
    finally:
        stop_server(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--facilities", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5, help="browser runs of the registry's map (median)")
    parser.add_argument("--reference-runs", type=int, default=2,
                        help="browser runs of the FastMarkerCluster reference (0: skip)")
    parser.add_argument("--grid-threshold", type=int, default=None,
                        help="MAP_GRID_THRESHOLD of the measured app (default: the app's own)")
    parser.add_argument("--database-url", help="reuse a database this script generated (no cluster, no data)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    var = Path(tempfile.mkdtemp(prefix="registry-map-bench-"))
    var.chmod(0o755)
    cluster: LocalCluster | None = None
    report: dict[str, Any] = {"load_average_at_start": loadavg(), "cpus": os.cpu_count()}
    try:
        if args.database_url:
            url = args.database_url
        else:
            cluster = LocalCluster(var_dir=var / "db", port=free_port(), dbname="bench")
            cluster.start()
            url = cluster.url
            migrate.upgrade(url)
            load_districts(url)
            gen_s = generate(url, args.facilities)
            print(f"generated {args.facilities:,} facilities in {gen_s:.1f} s", file=sys.stderr)
        report["facilities"] = args.facilities
        config = {} if args.grid_threshold is None else {"MAP_GRID_THRESHOLD": args.grid_threshold}
        report["registry_map"] = measure(url, config, args.runs)
        if args.reference_runs:
            report["reference_fastmarkercluster"] = measure(url, {"MAP_GRID_THRESHOLD": 10**9},
                                                            args.reference_runs)
            ref = report["reference_fastmarkercluster"]
            ours = report["registry_map"]
            for key in ("ready_ms", "interactive_ms"):
                if ref[f"median_{key}"] and ours[f"median_{key}"]:
                    report[f"ratio_{key}_vs_reference"] = round(ours[f"median_{key}"] / ref[f"median_{key}"], 3)
        med = report["registry_map"]["median_interactive_ms"]
        report["target_interactive_ms"] = TARGET_MS
        report["target_met"] = med is not None and med <= TARGET_MS
        report["load_average_at_end"] = loadavg()
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        if cluster is not None:
            cluster.destroy()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
