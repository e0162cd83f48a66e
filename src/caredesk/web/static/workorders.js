/* Work-order page: the transfer dialog (opened by a button with data-dialog, closed by data-dialog-close,
   and closed when its request ends so that a refusal shown above the page is visible). No inline script:
   the page's CSP allows scripts from this origin only. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && dialog.showModal) { dialog.showModal(); }
      return;
    }
    var closer = event.target.closest("[data-dialog-close]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) { open.close(); }
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = event.detail.elt && event.detail.elt.closest ? event.detail.elt.closest("dialog") : null;
    if (dialog && dialog.open && !event.detail.successful) { dialog.close(); }
  });
})();
