// Trend charts on the staff patient page (Chart.js with the Luxon date adapter, from the npm registry, served
// locally). Readings sit on a real time axis in the center's time zone (`zone` in the page's chart data), on a
// 24-hour clock; each vital has its own y-axis starting where its readings live; a vital without readings
// gets no chart at all (the page says "No readings yet" instead of drawing an empty one). Check-in readings are
// points; a connected device's readings (`device` in the chart data: per series {t: epoch ms, v: values}, the last
// 72 hours, at most one a minute, clinical-rules §10) are a continuous line, broken where the device sent nothing
// for more than 10 minutes.
(function () {
  "use strict";
  var HOUR = 3600 * 1000;
  var FORMATS = {millisecond: "HH:mm:ss", second: "HH:mm:ss", minute: "HH:mm", hour: "HH:mm", day: "d LLL",
                 week: "d LLL", month: "LLL yyyy", quarter: "LLL yyyy", year: "yyyy"};

  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined" || typeof luxon === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var times = data.labels.map(function (t) { return Date.parse(t); });
    var device = data.device || {};
    var allTimes = times.slice();
    Object.keys(device).forEach(function (name) {
      var t = device[name].t;
      if (t.length) { allTimes.push(t[0], t[t.length - 1]); }
    });
    if (!allTimes.length) { return; }
    // One time range for every chart, so readings of the same check-in line up from one chart to the next.
    var start = Math.min.apply(null, allTimes), end = Math.max.apply(null, allTimes);
    var pad = Math.max((end - start) * 0.03, HOUR);
    start -= pad; end += pad;
    var locale = document.documentElement.lang || "en";
    var zoneName = luxon.DateTime.fromMillis(end, {zone: data.zone}).toFormat("ZZZZ");

    function points(values) {
      var out = [];
      values.forEach(function (value, i) { if (value !== null && value !== undefined) { out.push({x: times[i], y: value}); } });
      return out;
    }
    function level(label, y, color) {
      return {label: label, data: [{x: start, y: y}, {x: end, y: y}], borderColor: color, borderDash: [6, 4],
              borderWidth: 2, pointRadius: 0, pointHitRadius: 0};
    }
    // A check-in's reading: a point (with a white ring, so it stands out on the device line under it).
    function series(label, values, color) {
      return {label: label + (device_text ? " (" + t.checkin + ")" : ""), data: points(values), borderColor: "#fff",
              backgroundColor: color, borderWidth: 1.5, pointRadius: 5, pointHoverRadius: 7, showLine: false,
              pointStyle: "circle"};
    }
    // A device's readings: a thin continuous line, no points, broken over a gap of more than 10 minutes.
    function stream(label, name, color) {
      var source = device[name];
      if (!source) { return null; }
      var out = source.t.map(function (x, i) { return {x: x, y: source.v[i]}; });
      return {label: label + " (" + t.device + ")", data: out, borderColor: color, backgroundColor: color,
              borderWidth: 1.5, pointRadius: 0, pointHitRadius: 4, spanGaps: 10 * 60 * 1000};
    }
    function deviceValues(name) { return device[name] ? device[name].v : []; }
    function present(list) { return list.filter(function (d) { return d && d.data.length; }); }
    // A y-axis that always shows its usual range (and the reference line in it), widened to fit every reading.
    function range(lists, low, high) {
      var values = [].concat.apply([], lists).filter(function (v) { return v !== null && v !== undefined; });
      return {min: Math.floor(Math.min.apply(null, values.concat([low]))),
              max: Math.ceil(Math.max.apply(null, values.concat([high])))};
    }
    function line(id, datasets, y) {
      var canvas = document.getElementById(id);
      if (!canvas) { return; }
      new Chart(canvas, {
        type: "line",
        data: {datasets: datasets},
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
          interaction: {mode: "nearest", intersect: false},
          plugins: {legend: {display: datasets.length > 1, labels: {boxWidth: 24}},
                    tooltip: {callbacks: {title: function (items) {
                      return items.length ? luxon.DateTime.fromMillis(items[0].parsed.x, {zone: data.zone, locale: locale})
                        .toFormat("d LLL HH:mm") + " " + zoneName : "";
                    }}}},
          scales: {
            x: {type: "time", min: start, max: end, adapters: {date: {zone: data.zone, locale: locale}},
                time: {displayFormats: FORMATS, tooltipFormat: "d LLL HH:mm"},
                ticks: {maxRotation: 0, autoSkip: true, autoSkipPadding: 12, major: {enabled: true},
                        font: function (context) { return context.tick && context.tick.major ? {weight: "bold"} : {}; }},
                title: {display: true, text: zoneName}},
            y: y
          }
        }
      });
    }
    var t = Object.assign({device: "device", checkin: "check-in"}, data.text || {});  // the reader's language
    var device_text = Object.keys(device).length > 0;  // name each series' source only when there are two kinds
    line("chart-temperature", present([
      stream(t.temperature || "Temperature °C", "temperature", "#e0707f"),
      series(t.temperature || "Temperature °C", data.temperature, "#b00020"),
      level((t.fever || "Fever") + " " + data.fever_c.toFixed(1) + " °C", data.fever_c, "#555")
    ]), Object.assign(range([data.temperature, deviceValues("temperature")], 35, 41), {ticks: {stepSize: 1}}));
    line("chart-heart_rate", present([
      stream(t.heart_rate || "Heart rate", "heart_rate", "#6d9fd6"),
      series(t.heart_rate || "Heart rate", data.heart_rate, "#0b5cad")
    ]), Object.assign(range([data.heart_rate, deviceValues("heart_rate")], 40, 160), {ticks: {stepSize: 20}}));
    var spo2 = range([data.spo2, deviceValues("spo2")], 80, 100);
    line("chart-spo2", present([
      stream("SpO2 %", "spo2", "#6fae84"),
      series("SpO2 %", data.spo2, "#1b6e35"),
      level((t.limit || "Center limit") + " " + data.spo2_min + " %", data.spo2_min, "#555")
    ]), {min: spo2.min, max: 100, ticks: {stepSize: 5}});
    line("chart-bp", present([
      stream(t.systolic || "Systolic", "systolic", "#c08a3e"),
      stream(t.diastolic || "Diastolic", "diastolic", "#e59a5e"),
      series(t.systolic || "Systolic", data.systolic, "#8a5300"),
      series(t.diastolic || "Diastolic", data.diastolic, "#c25400"),
      level((t.limit || "Center limit") + " " + data.systolic_min, data.systolic_min, "#555")
    ]), Object.assign(range([data.systolic, data.diastolic, deviceValues("systolic"), deviceValues("diastolic")], 40, 180),
                      {ticks: {stepSize: 20}}));
    line("chart-ice", [series("ICE", data.ice, "#6a1b9a")], {min: 0, max: 10, ticks: {stepSize: 2}});
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
