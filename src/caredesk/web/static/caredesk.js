/* CareDesk web UI: the workbench queue refreshed on server-sent events, and the customer chat form.
   No framework beyond the vendored htmx; nothing is loaded from elsewhere. */
(function () {
  "use strict";

  function startLiveQueue(queue) {
    var body = document.body;
    var source = new EventSource(queue.getAttribute("data-events"));
    body.setAttribute("data-live-events", "0");
    // the open-alarm panel and this person's meeting invitations refresh on the same events
    var panels = [queue, document.getElementById("alarms"), document.getElementById("invitations")]
      .filter(function (panel) { return panel; });
    function refresh() { panels.forEach(function (panel) { htmx.trigger(panel, "refresh"); }); }
    source.onopen = function () {
      body.setAttribute("data-live", "open");
      refresh(); // catch up on anything published while (re)connecting
    };
    source.onmessage = function () {
      body.setAttribute("data-live-events", String(Number(body.getAttribute("data-live-events")) + 1));
      refresh();
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

  // Knowledge at hand: "insert" puts the entry's answer into the reply box (after what is typed there, if
  // anything), for the agent to edit before sending; the button's own hx-post records which entry it was.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".kb-insert") : null;
    if (!button) { return; }
    var box = document.getElementById(button.getAttribute("data-target"));
    if (!box) { return; }
    var answer = button.getAttribute("data-answer") || "";
    box.value = box.value.trim() ? box.value.replace(/\s+$/, "") + "\n\n" + answer : answer;
    box.dispatchEvent(new Event("input", { bubbles: true }));
    box.focus();
    button.setAttribute("data-inserted", "1");
    button.title = button.getAttribute("data-done") || "";
  });

  document.addEventListener("DOMContentLoaded", function () {
    var queue = document.getElementById("queue");
    if (queue && queue.getAttribute("data-events") && window.EventSource) { startLiveQueue(queue); }
    var chat = document.getElementById("chat-form");
    if (chat) { startChat(chat); }
  });
})();
