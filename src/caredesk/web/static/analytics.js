/* CareDesk dashboards: every element with a data-chart specification (web/dashboard_pages.py) becomes an
   Apache ECharts chart (vendored: static/echarts.min.js). Labels come translated from the server; ECharts' own
   words (tooltips, "no data") follow the page language. After an htmx swap (the cockpit's refresh every 30 s)
   the charts of the swapped content are drawn again; the old instances are released first. */
(function () {
  "use strict";

  var PALETTE = ["#2f6fdf", "#b26a00", "#1d8a5b", "#c0352b", "#7a4fc9", "#4a5568"];

  // A "band" chart: each series' expected values as a line, and its interval [lower, upper] as a shaded band
  // (a transparent line at the lower bound with the band's height stacked on it). The tooltip says
  // "expected [lower, upper]" per series, not the stacking helpers' numbers.
  function bandOption(spec) {
    var series = [];
    spec.series.forEach(function (s, i) {
      var colour = PALETTE[i % PALETTE.length];
      var stack = "band" + i;
      series.push({ name: s.name, type: "line", data: s.data, showSymbol: true, z: 3,
                    itemStyle: { color: colour }, lineStyle: { color: colour, width: 2 } });
      series.push({ name: s.name + " ", type: "line", data: s.lower, stack: stack, symbol: "none",
                    lineStyle: { opacity: 0 }, silent: true });
      series.push({ name: s.name + "  ", type: "line", stack: stack, symbol: "none", silent: true,
                    data: s.upper.map(function (u, k) { return Math.max(0, u - s.lower[k]); }),
                    lineStyle: { opacity: 0 }, areaStyle: { color: colour, opacity: 0.18 } });
    });
    return {
      color: PALETTE,
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText", formatter: function (params) {
        var k = params.length ? params[0].dataIndex : 0;
        var lines = [params.length ? params[0].axisValue : ""];
        spec.series.forEach(function (s) {
          lines.push(s.name + ": " + s.data[k] + " [" + s.lower[k] + ", " + s.upper[k] + "]");
        });
        return lines.join("\n");
      } },
      legend: { show: true, top: 0, data: spec.series.map(function (s) { return s.name; }) },
      grid: { left: 48, right: 16, top: 32, bottom: 48 },
      xAxis: { type: "category", data: spec.categories, boundaryGap: false },
      yAxis: { type: "value" },
      series: series
    };
  }

  function option(spec) {
    if (spec.kind === "band") { return bandOption(spec); }
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
        var drawn = { name: s.name, type: spec.kind, data: s.data, connectNulls: false,
                      showSymbol: line && spec.categories.length <= 60, smooth: false };
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
