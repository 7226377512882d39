/* Radius page: a click on the map (posted by the map iframe, same origin only) fills the
 * coordinate fields with the clicked point in the map's display CRS and runs the search. */
(function () {
  'use strict';
  var form = document.getElementById('radius-form');
  var frame = document.getElementById('radius-map');
  if (!form || !frame) { return; }
  window.addEventListener('message', function (event) {
    if (event.origin !== window.location.origin || event.source !== frame.contentWindow) { return; }
    var msg = event.data;
    if (!msg || msg.type !== 'registry:pick' || typeof msg.lat !== 'number' || typeof msg.lon !== 'number') { return; }
    form.elements.lon.value = msg.lon.toFixed(6);
    form.elements.lat.value = msg.lat.toFixed(6);
    if (msg.crs === 'gcj02' || msg.crs === 'wgs84') { form.elements.crs.value = msg.crs; }
    form.submit();
  });
})();
