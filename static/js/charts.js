// Trend charts on the staff patient page (Chart.js from the npm registry, served locally).
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var labels = data.labels.map(function (t) { return new Date(t).toLocaleString([], {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"}); });
    function line(id, datasets, extra) {
      var canvas = document.getElementById(id);
      if (!canvas) { return; }
      new Chart(canvas, {type: "line", data: {labels: labels, datasets: datasets},
        options: Object.assign({animation: false, spanGaps: true, responsive: true, plugins: {legend: {display: datasets.length > 1}}}, extra || {})});
    }
    line("chart-temperature", [
      {label: "Temperature °C", data: data.temperature, borderColor: "#b00020"},
      {label: "Fever 38.0 °C", data: labels.map(function () { return 38.0; }), borderColor: "#555", borderDash: [6, 4], pointRadius: 0}
    ]);
    line("chart-heart_rate", [{label: "Heart rate", data: data.heart_rate, borderColor: "#0b5cad"}]);
    line("chart-spo2", [{label: "SpO2 %", data: data.spo2, borderColor: "#1b6e35"}]);
    line("chart-bp", [{label: "Systolic", data: data.systolic, borderColor: "#8a5300"}, {label: "Diastolic", data: data.diastolic, borderColor: "#c25400"}]);
    line("chart-ice", [{label: "ICE", data: data.ice, borderColor: "#6a1b9a"}], {scales: {y: {min: 0, max: 10}}});
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
