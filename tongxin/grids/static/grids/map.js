/* 网格分布图: grids drawn with Leaflet from the page's JSON config, coloured by a measure.
 *
 * Works without any base map: when no tile URL is configured the polygons are drawn on a plain
 * background and the view fits their bounds. Coordinates arrive already in the base map's
 * coordinate system (the server converts WGS-84 to GCJ-02 for GCJ-02 tiles).
 */
(function () {
  "use strict";
  var configNode = document.getElementById("grid-map-config");
  var mapNode = document.getElementById("grid-map");
  if (!configNode || !mapNode || typeof L === "undefined") { return; }
  var cfg = JSON.parse(configNode.textContent);
  var tiles = cfg.tiles || {};
  var map = L.map(mapNode, { attributionControl: Boolean(tiles.url), zoomSnap: 0.25 });
  if (tiles.url) {
    L.tileLayer(tiles.url, {
      attribution: tiles.attribution || "",
      subdomains: tiles.subdomains || "abc",
      maxZoom: 19
    }).addTo(map);
  }

  var PALETTE = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"];
  var NO_DATA = "#d9d9d9";
  var values = cfg.values || {};
  var classes = [];

  function computeClasses() {
    // Quantile breaks over the distinct values: readable whatever the distribution.
    var list = Object.keys(values).map(function (k) { return Number(values[k]); })
      .filter(function (v) { return isFinite(v); });
    (cfg.features || []).forEach(function (f) { if (!(String(f.id) in values)) { list.push(0); } });
    list.sort(function (a, b) { return a - b; });
    var distinct = list.filter(function (v, i) { return i === 0 || v !== list[i - 1]; });
    var n = Math.min(PALETTE.length, distinct.length);
    classes = [];
    for (var i = 0; i < n; i++) {
      var lo = distinct[Math.floor(i * distinct.length / n)];
      var hiIndex = Math.floor((i + 1) * distinct.length / n) - 1;
      classes.push({ lo: lo, hi: distinct[hiIndex], colour: PALETTE[Math.round(i * (PALETTE.length - 1) / Math.max(1, n - 1))] });
    }
  }

  function valueOf(id) {
    var v = values[String(id)];
    return v === undefined ? 0 : Number(v);
  }

  function colourOf(id) {
    if (cfg.mode === "detail") { return id === cfg.selected ? "#de2d26" : "#fcbba1"; }
    var v = valueOf(id);
    for (var i = 0; i < classes.length; i++) { if (v <= classes[i].hi) { return classes[i].colour; } }
    return classes.length ? classes[classes.length - 1].colour : NO_DATA;
  }

  var selectedLayer = null;
  function style(feature) {
    var selected = feature.id === cfg.selected;
    return {
      color: selected ? "#111" : "#7a1010",
      weight: selected ? 3 : 1,
      fillColor: colourOf(feature.id),
      fillOpacity: 0.7
    };
  }

  function tooltip(feature) {
    var p = feature.properties || {};
    var text = p.name + (p.community ? "（" + p.community + "）" : "");
    if (cfg.mode !== "detail") { text += "：" + valueOf(feature.id) + (cfg.unit || ""); }
    return text;
  }

  var layer = L.geoJSON({ type: "FeatureCollection", features: cfg.features || [] }, {
    style: style,
    onEachFeature: function (feature, item) {
      item.bindTooltip(function () { return tooltip(feature); }, { sticky: true });
      item.on("click", function () {
        if (cfg.mode === "detail") {
          if (feature.id !== cfg.selected && cfg.detailUrl) {
            window.location.href = cfg.detailUrl.replace("/0/", "/" + feature.id + "/");
          }
          return;
        }
        if (selectedLayer) { selectedLayer.setStyle({ weight: 1, color: "#7a1010" }); }
        selectedLayer = item;
        item.setStyle({ weight: 3, color: "#111" });
        if (window.htmx && cfg.cardUrl) {
          window.htmx.ajax("GET", cfg.cardUrl.replace("/0/", "/" + feature.id + "/"), { target: "#grid-card", swap: "innerHTML" });
        }
      });
    }
  }).addTo(map);

  var legend = null;
  function drawLegend() {
    if (cfg.mode === "detail") { return; }
    if (legend) { map.removeControl(legend); }
    legend = L.control({ position: "bottomright" });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", "tx-legend");
      var title = document.createElement("div");
      title.className = "fw-semibold mb-1";
      title.textContent = (cfg.label || "") + (cfg.unit ? "（" + cfg.unit + "）" : "");
      div.appendChild(title);
      classes.forEach(function (c) {
        var row = document.createElement("div");
        var swatch = document.createElement("i");
        swatch.style.background = c.colour;
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(c.lo === c.hi ? String(c.lo) : c.lo + " – " + c.hi));
        div.appendChild(row);
      });
      return div;
    };
    legend.addTo(map);
  }

  function fit() {
    var b = cfg.bounds;
    if (cfg.mode === "detail") {
      var target = null;
      layer.eachLayer(function (item) { if (item.feature && item.feature.id === cfg.selected) { target = item; } });
      if (target) { map.fitBounds(target.getBounds().pad(0.6)); return; }
    }
    if (b) {
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [12, 12] });
    } else if ((cfg.features || []).length) {
      map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    } else {
      map.setView([35.0, 105.0], 4);  // nothing drawn yet: show the country
    }
  }

  computeClasses();
  layer.setStyle(style);
  drawLegend();
  fit();

  var measureSelect = document.getElementById("id_measure");
  if (measureSelect && cfg.valuesUrl) {
    measureSelect.addEventListener("change", function () {
      var params = new URLSearchParams({ measure: measureSelect.value });
      if (cfg.within) { params.set("within", cfg.within); }
      fetch(cfg.valuesUrl + "?" + params.toString(), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) {
          values = data.values || {};
          cfg.label = data.label;
          cfg.unit = data.unit;
          computeClasses();
          layer.setStyle(style);
          drawLegend();
          var url = new URL(window.location.href);
          url.searchParams.set("measure", data.measure);
          window.history.replaceState(null, "", url.toString());
        })
        .catch(function () { measureSelect.form.submit(); });
    });
  }
})();
