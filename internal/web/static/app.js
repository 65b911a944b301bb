// The one script of the interface: it keeps the alert list live over
// Server-Sent Events. Every page reads without it.
(function () {
  "use strict";
  var list = document.getElementById("alert-rows");
  if (!list || !window.EventSource) {
    return;
  }
  var status = document.getElementById("alert-live");
  var src = new EventSource("/alerts/stream");
  src.addEventListener("open", function () {
    if (status) { status.textContent = "Live: new alerts appear here as they are raised."; }
  });
  src.addEventListener("error", function () {
    if (status) { status.textContent = "Live updates paused; reconnecting…"; }
  });
  src.addEventListener("alert", function (ev) {
    // The server sends the row already rendered and escaped.
    var tmp = document.createElement("tbody");
    tmp.innerHTML = ev.data;
    var row = tmp.firstElementChild;
    if (!row || document.getElementById(row.id)) {
      return;
    }
    list.insertBefore(row, list.firstChild);
    var empty = document.getElementById("alert-empty");
    if (empty) { empty.remove(); }
  });
})();
