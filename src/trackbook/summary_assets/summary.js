// trackbook's exported summary: draws the charts, sorts tables, enlarges thumbnails.
// Runs as a classic script after the inlined vega bundle (window.trackbookVega); every handler
// is attached here, none sits in the HTML. Data comes from <script type="application/json">.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("tb-data").textContent);

  // -- charts -----------------------------------------------------------------------------------

  // A dataset stored by column (see summarycharts.by_column) back into records.
  function records(stored) {
    if (!stored || typeof stored.tb_columns !== "number") return stored;
    var n = stored.tb_columns;
    var names = Object.keys(stored.fields);
    var rows = new Array(n);
    for (var i = 0; i < n; i++) rows[i] = {};
    names.forEach(function (name) {
      var column = stored.fields[name];
      var i;
      if (Array.isArray(column)) {
        for (i = 0; i < n; i++) rows[i][name] = column[i];
      } else {
        for (i = 0; i < n; i++) rows[i][name] = column.levels[column.codes[i]];
      }
    });
    return rows;
  }

  function withRecords(spec) {
    var copy = Object.assign({}, spec);
    if (spec.datasets) {
      copy.datasets = {};
      Object.keys(spec.datasets).forEach(function (name) {
        copy.datasets[name] = records(spec.datasets[name]);
      });
    }
    if (spec.data && spec.data.values) {
      copy.data = Object.assign({}, spec.data, { values: records(spec.data.values) });
    }
    return copy;
  }

  var views = [];

  function drawCharts() {
    var vega = window.trackbookVega;
    var charts = data.charts || [];
    views.forEach(function (result) { result.finalize(); });
    views = [];
    if (!vega) {
      charts.forEach(function (chart) {
        var el = document.getElementById(chart.id);
        if (el) el.textContent = "The chart library did not load, so charts cannot be drawn.";
      });
      return Promise.resolve();
    }
    return Promise.all(charts.map(function (chart) {
      var el = document.getElementById(chart.id);
      if (!el) return null;
      el.textContent = "";
      return vega.render(el, withRecords(chart.spec), { renderer: "svg" })
        .then(function (result) {
          views.push(result);
          el.dataset.rendered = "yes";
        })
        .catch(function (error) {
          el.classList.add("chart-error");
          el.textContent = "This chart could not be drawn: " + error.message;
          throw error;
        });
    })).then(function () {
      document.body.dataset.charts = "done";
    }, function (error) {
      document.body.dataset.charts = "failed";
      console.error(error);
    });
  }

  // The chart theme is read from the page's colours when drawn: redraw when they change.
  if (window.matchMedia) {
    var scheme = window.matchMedia("(prefers-color-scheme: dark)");
    var onScheme = function () { drawCharts(); };
    if (scheme.addEventListener) scheme.addEventListener("change", onScheme);
  }

  // -- sortable tables --------------------------------------------------------------------------

  // A cell's sort key: data-v when given (raw numbers), else its text; "" means missing.
  function cellKey(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    return v !== null ? v : cell.textContent.trim();
  }

  function sortBy(table, th) {
    var index = th.cellIndex;
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index);
      var y = cellKey(b, index);
      // Missing values go last whichever way the column sorts.
      if (x === "" || y === "") return (x === "") - (y === "");
      var order;
      if (numeric) {
        var nx = Number(x);
        var ny = Number(y);
        order = nx < ny ? -1 : nx > ny ? 1 : 0;
      } else {
        order = x.localeCompare(y, undefined, { numeric: true, sensitivity: "base" });
      }
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (other) {
      if (other !== th) other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var button = th.querySelector("button");
      if (button) button.addEventListener("click", function () { sortBy(table, th); });
    });
  });

  // Long tables show their first rows (in the current order) and a button for the rest.
  Array.prototype.forEach.call(document.querySelectorAll("table[data-cap]"), function (table) {
    var cap = Number(table.getAttribute("data-cap"));
    var total = table.tBodies[0].rows.length;
    if (!(cap > 0) || total <= cap + 3) return;
    table.classList.add("capped");
    var hide = document.createElement("style");
    hide.textContent = "#" + table.id + ".capped tbody tr:nth-child(n+" + (cap + 1) + ")" +
      " { display: none; }";
    document.head.appendChild(hide);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "show-all";
    button.textContent = "Show all " + total + " rows";
    button.addEventListener("click", function () {
      var capped = table.classList.toggle("capped");
      button.textContent = capped ? "Show all " + total + " rows" : "Show the first " + cap;
    });
    table.parentNode.insertAdjacentElement("afterend", button);
  });

  // -- thumbnails and printing ------------------------------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll("figure.thumb img"), function (img) {
    img.addEventListener("click", function () { img.parentNode.classList.toggle("big"); });
  });

  // Printing shows every run's details, then puts back what the reader had open.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details.run"), function (d) {
      return !d.open;
    });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });

  drawCharts();
})();
