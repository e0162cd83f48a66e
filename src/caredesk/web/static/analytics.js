/* CareDesk dashboards: every element with a data-chart specification (web/dashboard_pages.py) becomes an
   Apache ECharts chart (vendored: static/echarts.min.js). Labels come translated from the server; ECharts' own
   words (tooltips, "no data") follow the page language. After an htmx swap (the cockpit's refresh every 30 s)
   the charts of the swapped content are drawn again; the old instances are released first. */
(function () {
  "use strict";

  var PALETTE = ["#2f6fdf", "#b26a00", "#1d8a5b", "#c0352b", "#7a4fc9", "#4a5568"];

  function option(spec) {
    var line = spec.kind === "line";
    return {
      color: PALETTE,
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText" },  // rich text: no inline HTML styles (CSP)
      legend: { show: spec.series.length > 1, top: 0 },
      grid: { left: 48, right: 16, top: spec.series.length > 1 ? 32 : 16, bottom: 48 },
      xAxis: { type: "category", data: spec.categories, boundaryGap: !line,
               axisLabel: { rotate: spec.categories.length > 12 && !line ? 30 : 0, hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: spec.series.map(function (s) {
        var drawn = { name: s.name, type: spec.kind, data: s.data, connectNulls: false, showSymbol: line,
                      smooth: false };
        if (s.dashed) { drawn.lineStyle = { type: "dashed" }; }  // an expected level beside the observed
        return drawn;
      })
    };
  }

  function draw(root) {
    var locale = document.documentElement.lang.indexOf("zh") === 0 ? "ZH" : "EN";
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var old = echarts.getInstanceByDom(element);
      if (old) { old.dispose(); }
      var chart = echarts.init(element, null, { locale: locale, renderer: "canvas" });
      chart.setOption(option(JSON.parse(element.getAttribute("data-chart"))));
      element.setAttribute("data-drawn", "1");
    });
  }

  function release(root) {
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = echarts.getInstanceByDom(element);
      if (chart) { chart.dispose(); }
      // htmx's settle copies an old element's attributes onto its namesake in the new content with
      // setAttribute; a style attribute (ECharts sets one on its container) would be an inline style,
      // which the Content-Security-Policy refuses.
      element.removeAttribute("style");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    draw(document);
    document.body.addEventListener("htmx:beforeSwap", function (event) { release(event.detail.target); });
    document.body.addEventListener("htmx:afterSwap", function (event) { draw(event.detail.target); });
    window.addEventListener("resize", function () {
      document.querySelectorAll("[data-chart]").forEach(function (element) {
        var chart = echarts.getInstanceByDom(element);
        if (chart) { chart.resize(); }
      });
    });
  });
})();
