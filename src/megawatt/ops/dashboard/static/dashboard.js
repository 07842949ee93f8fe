// megawatt dashboard: draw the page's charts (plotly.js, served by megawatt serve)
// and refresh live fragments; no other script, nothing from the network.
"use strict";
function drawCharts(root) {
  root.querySelectorAll("div.chart[data-figure]").forEach(function (el) {
    var fig = JSON.parse(el.getAttribute("data-figure"));
    window.Plotly.newPlot(el, fig.data, fig.layout,
      { responsive: true, displaylogo: false });
    el.setAttribute("data-drawn", "1");
  });
}
function refreshLive() {
  document.querySelectorAll("[data-live]").forEach(function (el) {
    var every = parseInt(el.getAttribute("data-every") || "5000", 10);
    setInterval(function () {
      fetch(el.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (r) {
          // The session ended (401) or anything else went wrong: reload the page,
          // which leads to the login form, instead of showing it inside the table.
          if (!r.ok || r.redirected) { window.location.reload(); return null; }
          return r.text();
        })
        .then(function (html) {
          if (html !== null) {
            el.innerHTML = html;
            el.setAttribute("data-refreshed", new Date().toISOString());
          }
        });
    }, every);
  });
}
document.addEventListener("DOMContentLoaded", function () {
  if (window.Plotly) { drawCharts(document); }
  refreshLive();
});
