/* Phone width (static/css/app.css, "Narrow screens"): a list's table turns into cards, one per row, each cell
 * led by its column's name from `data-label`. The server writes that name on the rows it renders for live
 * updates (calls/_call_row.html); for every other list it is copied here from the table's header, when the
 * page loads and after each htmx swap. Without script the cards simply have no names. */
(function () {
  "use strict";

  function headings(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return null;
    var names = [];
    Array.prototype.forEach.call(head.cells, function (th) {
      for (var i = 0; i < (th.colSpan || 1); i++) names.push(th.textContent.replace(/\s+/g, " ").trim());
    });
    return names;
  }

  function label() {
    document.querySelectorAll(".table-wrap > table").forEach(function (table) {
      var names = headings(table);
      if (!names) return;
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            if (!cell.hasAttribute("data-label") && names[column]) cell.setAttribute("data-label", names[column]);
            column += cell.colSpan || 1;
          });
        });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", label);
  else label();
  document.addEventListener("htmx:afterSettle", label);
})();
