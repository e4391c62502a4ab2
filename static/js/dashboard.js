// The staff dashboard polls its rows (htmx, every DASHBOARD_POLL_SECONDS). A poll replaces the rows, so it
// would throw away a resolve note being written: hold the poll while a row's "Resolve…" is open or a field in
// the rows has focus; it resumes on the next tick after.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var rows = document.getElementById("rows");
    if (!rows || event.detail.elt !== rows) { return; }
    var busy = rows.querySelector("details[open]") || rows.contains(document.activeElement) &&
      /^(TEXTAREA|INPUT|SELECT)$/.test(document.activeElement.tagName);
    if (busy) { event.preventDefault(); }
  });
})();
