/* CareDesk web UI: the workbench queue refreshed on server-sent events, and the customer chat form.
   No framework beyond the vendored htmx; nothing is loaded from elsewhere. */
(function () {
  "use strict";

  function startLiveQueue(queue) {
    var body = document.body;
    var source = new EventSource(queue.getAttribute("data-events"));
    body.setAttribute("data-live-events", "0");
    var alarms = document.getElementById("alarms"); // the open-alarm panel refreshes on the same events
    source.onopen = function () {
      body.setAttribute("data-live", "open");
      htmx.trigger(queue, "refresh"); // catch up on anything published while (re)connecting
      if (alarms) { htmx.trigger(alarms, "refresh"); }
    };
    source.onmessage = function () {
      body.setAttribute("data-live-events", String(Number(body.getAttribute("data-live-events")) + 1));
      htmx.trigger(queue, "refresh");
      if (alarms) { htmx.trigger(alarms, "refresh"); }
    };
    source.onerror = function () {
      body.setAttribute("data-live", "closed"); // the browser reconnects by itself; polling covers the gap
    };
    window.addEventListener("pagehide", function () { source.close(); });
  }

  function startChat(form) {
    var log = document.getElementById("chat-log");
    var error = document.getElementById("chat-error");
    var input = form.querySelector("[name=text]");
    log.scrollTop = log.scrollHeight;
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) {
        form.reset();
        error.textContent = "";
      }
      input.focus();
    });
    form.addEventListener("htmx:responseError", function (event) {
      if (event.detail.xhr.status !== 400) { error.textContent = form.getAttribute("data-failed"); }
    });
    form.addEventListener("htmx:sendError", function () { error.textContent = form.getAttribute("data-failed"); });
    document.body.addEventListener("htmx:afterSwap", function () { log.scrollTop = log.scrollHeight; });
    // A clarifying question's option buttons answer it once: anything new said in the chat retires them.
    document.body.addEventListener("htmx:beforeSwap", function (event) {
      if (event.detail.target === log && event.detail.shouldSwap) {
        log.querySelectorAll(".chat-options button").forEach(function (b) { b.disabled = true; });
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var queue = document.getElementById("queue");
    if (queue && queue.getAttribute("data-events") && window.EventSource) { startLiveQueue(queue); }
    var chat = document.getElementById("chat-form");
    if (chat) { startChat(chat); }
  });
})();
