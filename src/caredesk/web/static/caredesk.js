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

  // The customer's chat follows its conversation live: agent replies (each once, by its id), the work order's
  // state, the agent typing. The browser reconnects by itself with Last-Event-ID; after a refusal (the stream
  // answered 204: no conversation yet) it is opened again once a message has been sent.
  function startChatStream(log) {
    var body = document.body;
    var status = document.getElementById("chat-status");
    var typing = document.getElementById("chat-agent-typing");
    var source = null;
    var typingTimer = null;
    body.setAttribute("data-chat-events", "0");

    function lastId() {
      var last = "";
      log.querySelectorAll("[data-id]").forEach(function (el) {
        var id = el.getAttribute("data-id");
        if (id > last) { last = id; }
      });
      return last;
    }
    function append(html) {
      log.insertAdjacentHTML("beforeend", html);
      log.scrollTop = log.scrollHeight;
    }
    function onMessage(event) {
      var data = JSON.parse(event.data);
      body.setAttribute("data-chat-events", String(Number(body.getAttribute("data-chat-events")) + 1));
      if (log.querySelector('[data-id="' + data.id + '"]')) { return; } // already shown: never twice
      if (typing) { typing.hidden = true; }
      append(data.html);
    }
    function onState(event) {
      var data = JSON.parse(event.data);
      var before = status.getAttribute("data-status");
      status.innerHTML = data.html;
      status.setAttribute("data-status", data.status);
      if (before !== data.status && data.note) { append(data.note); } // an agent joined; the case was resolved
    }
    function onTyping() {
      if (!typing) { return; }
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typing.hidden = true; }, 6000);
    }
    function onViewing(event) {
      // while the customer waits in the queue, once: an agent has the case open
      if (status.getAttribute("data-status") === "queued" && !log.querySelector(".chat-viewing")) {
        append(JSON.parse(event.data).html);
      }
    }
    function connect() {
      if (source) { return; }
      var url = log.getAttribute("data-events");
      var after = lastId();
      source = new EventSource(after ? url + "?after=" + encodeURIComponent(after) : url);
      source.addEventListener("message", onMessage);
      source.addEventListener("state", onState);
      source.addEventListener("typing", onTyping);
      source.addEventListener("viewing", onViewing);
      source.onopen = function () { body.setAttribute("data-live", "open"); };
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) { // refused: open again after the next message
          source = null;
          body.setAttribute("data-live", "closed");
        } else {
          body.setAttribute("data-live", "reconnecting"); // the browser retries with Last-Event-ID
        }
      };
    }
    if (log.getAttribute("data-live")) { connect(); }
    document.body.addEventListener("htmx:afterRequest", function (event) {
      if (!event.detail.successful || event.detail.target !== log) { return; }
      var restarted = log.querySelector(".chat-restarted:not([data-seen])");
      if (restarted && source) { // the old conversation had ended: follow the new one
        restarted.setAttribute("data-seen", "1");
        source.close();
        source = null;
      }
      connect();
    });
    window.addEventListener("pagehide", function () { if (source) { source.close(); } });
  }

  // The agent's reply box tells the customer's chat that someone is typing (at most every 3 s).
  var typingSent = 0;
  document.addEventListener("input", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-typing]") : null;
    if (!form || event.target.tagName !== "TEXTAREA" || Date.now() - typingSent < 3000) { return; }
    typingSent = Date.now();
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    fetch(form.getAttribute("data-typing"), { method: "POST", headers: headers, credentials: "same-origin" })
      .catch(function () { /* typing is a courtesy: a lost one is not worth a retry */ });
  });

  function startChat(form) {
    var log = document.getElementById("chat-log");
    if (log.getAttribute("data-events") && window.EventSource) { startChatStream(log); }
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
