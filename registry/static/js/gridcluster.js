/*
 * Registry grid clusters: a Leaflet layer that draws up to hundreds of thousands
 * of facilities of one kind from compact arrays.
 *
 * On every move/zoom the points inside the (padded) view are binned into square
 * screen cells; a cell with several points becomes one cluster marker with its
 * count, a cell with one point becomes the facility marker.  Above
 * `options.maxClusterZoom` every point in view is drawn.  Only what is in view
 * is in the DOM (a few hundred markers), so the layer is ready as soon as the
 * arrays are parsed.
 *
 * Popups: from `data.rows` when the page embeds them (standalone export), else
 * fetched as JSON from `options.popupUrl + id` and written with textContent
 * (never innerHTML of user text).
 *
 * No dependency but Leaflet 1.9.  MIT licence, part of the registry.
 */
(function (L) {
  'use strict';
  if (!L || L.RegistryGridCluster) { return; }

  var LN2PI = 2 * Math.PI;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = (text === null || String(text).trim() === '') ? '—' : String(text); }
    return e;
  }

  /* Popup DOM from plain values (all user text goes through textContent). */
  function popupNode(info, labels) {
    var box = el('div', 'rg-popup');
    box.appendChild(el('div', 'rg-title', info.name));
    var table = el('table');
    var rows = [[labels.kind, info.kind_label], [labels.address, info.address],
                [labels.district, info.district], [labels.status, info.status]];
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('th', null, r[0]));
      tr.appendChild(el('td', null, r[1]));
      table.appendChild(tr);
    });
    var tr = el('tr');
    tr.appendChild(el('th', null, labels.compliance));
    var td = el('td');
    var code = ({compliant: 1, non_compliant: 1, unknown: 1})[info.compliance] ? info.compliance : 'unknown';
    td.appendChild(el('span', 'rg-badge rg-b-' + code, labels[code]));
    tr.appendChild(td);
    table.appendChild(tr);
    box.appendChild(table);
    if (info.href) {
      var a = el('a', 'rg-more', labels.more);
      a.href = info.href;
      a.target = '_top';
      box.appendChild(a);
    }
    return box;
  }

  L.RegistryGridCluster = L.Layer.extend({
    options: {
      cellSize: 80,          // px
      offset: [0, 0],        // px shift of this kind's cluster icons (kinds side by side, not stacked)
      maxClusterZoom: 16,    // above: no clustering
      maxSingles: 3000,      // never more single markers than this in view
      kind: 'other',
      kindLabel: '',
      icons: [],             // inner HTML per compliance index (trusted, built by the server)
      iconSize: 22,
      compliance: ['compliant', 'non_compliant', 'unknown'],
      popupUrl: null,        // JSON popup endpoint prefix (live pages)
      linkPrefix: null,      // detail page prefix for embedded rows
      labels: {}
    },

    /* data: {lat: [int 1e-5 deg], lon: [...], id: [...], c: [compliance index], rows?: [[name, address, district#, status#]],
              districts?: [...], statuses?: [...]} */
    initialize: function (data, options) {
      L.setOptions(this, options);
      var n = data.id.length, x = new Float64Array(n), y = new Float64Array(n);
      var max = L.Projection.SphericalMercator.MAX_LATITUDE;
      for (var i = 0; i < n; i++) {
        var lat = Math.max(Math.min(data.lat[i] / 1e5, max), -max) * Math.PI / 180;
        x[i] = 0.5 + (data.lon[i] / 1e5) / 360;
        y[i] = 0.5 - Math.log(Math.tan(Math.PI / 4 + lat / 2)) / LN2PI;
      }
      this._n = n; this._x = x; this._y = y; this._data = data;
      var size = this.options.iconSize;
      this._icons = this.options.icons.map(function (h) {
        return L.divIcon({html: h, className: 'rg-icon', iconSize: [size, size], iconAnchor: [size / 2, size / 2]});
      });
      this._group = L.layerGroup();
    },

    count: function () { return this._n; },

    onAdd: function (map) {
      this._group.addTo(map);
      map.on('moveend', this._redraw, this);
      this._redraw();
    },

    onRemove: function (map) {
      map.off('moveend', this._redraw, this);
      this._group.clearLayers();
      map.removeLayer(this._group);
    },

    getBounds: function () {
      var d = this._data, b = L.latLngBounds([]);
      if (!this._n) { return b; }
      var minLat = Infinity, maxLat = -Infinity, minLon = Infinity, maxLon = -Infinity;
      for (var i = 0; i < this._n; i++) {
        if (d.lat[i] < minLat) { minLat = d.lat[i]; } if (d.lat[i] > maxLat) { maxLat = d.lat[i]; }
        if (d.lon[i] < minLon) { minLon = d.lon[i]; } if (d.lon[i] > maxLon) { maxLon = d.lon[i]; }
      }
      return L.latLngBounds([minLat / 1e5, minLon / 1e5], [maxLat / 1e5, maxLon / 1e5]);
    },

    _redraw: function () {
      var map = this._map;
      if (!map) { return; }
      var o = this.options, z = map.getZoom(), scale = 256 * Math.pow(2, z);
      var pb = map.getPixelBounds(), pad = o.cellSize;
      var x0 = pb.min.x - pad, x1 = pb.max.x + pad, y0 = pb.min.y - pad, y1 = pb.max.y + pad;
      var cs = o.cellSize, cluster = z <= o.maxClusterZoom;
      var cells = new Map(), singles = [], x = this._x, y = this._y, n = this._n;
      for (var i = 0; i < n; i++) {
        var px = x[i] * scale, py = y[i] * scale;
        if (px < x0 || px > x1 || py < y0 || py > y1) { continue; }
        if (!cluster) { singles.push(i); continue; }
        var key = Math.floor(px / cs) * 1048576 + Math.floor(py / cs);
        var c = cells.get(key);
        if (c === undefined) {
          cells.set(key, {n: 1, sx: px, sy: py, first: i, x0: px, x1: px, y0: py, y1: py});
        } else {
          c.n++; c.sx += px; c.sy += py;
          if (px < c.x0) { c.x0 = px; } if (px > c.x1) { c.x1 = px; }
          if (py < c.y0) { c.y0 = py; } if (py > c.y1) { c.y1 = py; }
        }
      }
      if (!cluster && singles.length > o.maxSingles) { singles = singles.slice(0, o.maxSingles); }
      var layers = [], self = this;
      cells.forEach(function (c) {
        if (c.n === 1) { singles.push(c.first); return; }
        layers.push(self._clusterMarker(c, z));
      });
      singles.forEach(function (i) { layers.push(self._pointMarker(i)); });
      this._group.clearLayers();
      for (var k = 0; k < layers.length; k++) { this._group.addLayer(layers[k]); }
      this._drawn = true;
      this._drawnZoom = z;  // lets tests and bench/map_bench.py see that the view is drawn
      map.fire('rg:layerdrawn', {layer: this, markers: layers.length});
    },

    _clusterMarker: function (c, z) {
      var map = this._map, n = c.n;
      var size = n < 10 ? 26 : n < 100 ? 30 : n < 1000 ? 36 : 42, off = this.options.offset;
      var latlng = map.unproject(L.point(c.sx / n, c.sy / n), z);
      var icon = L.divIcon({
        html: '<div><span>' + n + '</span></div>',
        className: 'rg-gc rg-k-' + this.options.kind,
        iconSize: [size, size],
        iconAnchor: [size / 2 - off[0], size / 2 - off[1]]
      });
      var marker = L.marker(latlng, {icon: icon, title: this.options.kindLabel + ' ' + n, riseOnHover: true});
      marker.on('click', function () {
        var sw = map.unproject(L.point(c.x0, c.y1), z), ne = map.unproject(L.point(c.x1, c.y0), z);
        var bounds = L.latLngBounds(sw, ne);
        var target = Math.min(map.getBoundsZoom(bounds), map.getMaxZoom());
        if (target <= z) { target = Math.min(z + 2, map.getMaxZoom()); }
        map.setView(bounds.getCenter(), target);
      });
      return marker;
    },

    _pointMarker: function (i) {
      var d = this._data, o = this.options, self = this;
      var marker = L.marker([d.lat[i] / 1e5, d.lon[i] / 1e5], {icon: this._icons[d.c[i]] || this._icons[0]});
      var row = d.rows ? d.rows[i] : null;
      if (row) { marker.bindTooltip(el('span', null, row[0])); }
      marker.bindPopup(function () { return self._popup(i, marker); }, {maxWidth: 320});
      return marker;
    },

    _info: function (i) {
      var d = this._data, o = this.options, row = d.rows[i];
      return {
        name: row[0], kind_label: o.kindLabel, address: row[1],
        district: d.districts ? d.districts[row[2]] : null,
        status: d.statuses ? d.statuses[row[3]] : null,
        compliance: o.compliance[d.c[i]],
        href: o.linkPrefix !== null ? o.linkPrefix + d.id[i] : null
      };
    },

    _popup: function (i, marker) {
      var o = this.options, d = this._data;
      if (d.rows) { return popupNode(this._info(i), o.labels); }
      var box = el('div', 'rg-popup', o.labels.loading);
      if (!o.popupUrl) { return box; }
      fetch(o.popupUrl + d.id[i], {headers: {Accept: 'application/json'}, credentials: 'same-origin'})
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (info) {
          var popup = marker.getPopup();
          if (popup) { popup.setContent(popupNode(info, o.labels)); }
        })
        .catch(function () { box.textContent = o.labels.failed; });
      return box;
    }
  });

  L.registryGridCluster = function (data, options) { return new L.RegistryGridCluster(data, options); };
})(window.L);
