// Haven: behaviour shared by every page. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  // Break reminder: after the user's chosen minutes of work in this browser tab (0 = off).
  function startBreakReminder() {
    var body = document.body;
    var minutes = parseInt(body.getAttribute("data-break-minutes") || "0", 10);
    var box = document.getElementById("break-reminder");
    if (!box || !(minutes > 0)) { return; }
    var key = "haven.workStartedAt";
    var started = parseInt(window.sessionStorage.getItem(key) || "0", 10);
    if (!started) { started = Date.now(); window.sessionStorage.setItem(key, String(started)); }
    var due = started + minutes * 60 * 1000;
    function check() {
      if (Date.now() >= due) { box.hidden = false; }
    }
    var dismiss = box.querySelector("[data-dismiss-break]");
    if (dismiss) {
      dismiss.addEventListener("click", function () {
        box.hidden = true;
        started = Date.now();
        due = started + minutes * 60 * 1000;
        window.sessionStorage.setItem(key, String(started));
      });
    }
    check();
    window.setInterval(check, 30 * 1000);
  }

  // A request that comes back 401 (session ended) or 403 with HX-Redirect sends the page to log in again.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.status === 401) { window.location.assign("/login"); }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startBreakReminder);
  } else {
    startBreakReminder();
  }
})();
