/* The new-campaign page (templates/campaigns/new.html): drop or choose a CSV, see its header and first rows
 * with a phone-column picker, then upload it with a progress bar and watch the validation count the rows.
 *
 * Without this script the form is a plain multipart post and works the same, with the phone column typed.
 * With it:
 *  - choosing a file posts its first bytes (cut after the last whole line) to the preview endpoint, which
 *    answers the header, a few rows and the guessed phone column (or why the file cannot be read);
 *  - submitting uploads the form with XMLHttpRequest (upload progress), then polls the import's progress
 *    (the form's random `progress_token`; the server counts the rows read into Redis) until the answer:
 *    the campaign's page, or the errors by field, shown beside their fields with everything typed kept. */
(function () {
  "use strict";

  var PREVIEW_BYTES = 256 * 1024;
  var POLL_MS = 400;
  var NEWLINE = 10;

  function start() {
    var form = document.getElementById("campaign-form");
    if (!form || !window.FormData || !window.XMLHttpRequest) return;
    var fileInput = form.querySelector('input[type="file"][name="file"]');
    var dropzone = form.querySelector("[data-dropzone]");
    var title = form.querySelector("[data-dropzone-title]");
    var nameInput = form.querySelector("[data-name]");
    var phoneSelect = form.querySelector("[data-phone-select]");
    var phoneText = form.querySelector("[data-phone-text]");
    var previewBox = form.querySelector("[data-preview]");
    var note = form.querySelector("[data-preview-note]");
    var submit = form.querySelector("[data-submit]");
    var uploadBox = form.querySelector("[data-upload]");
    var uploadBar = form.querySelector("[data-upload-progress]");
    var uploadPercent = form.querySelector("[data-upload-percent]");
    var validating = form.querySelector("[data-validating]");
    var rowsRead = form.querySelector("[data-rows]");
    var namedByFile = !nameInput.value;
    var previewed = 0; // the latest preview asked for: an older answer arriving late is dropped

    function csrfToken() { return form.querySelector('input[name="csrfmiddlewaretoken"]').value; }

    function showError(field, message) {
      var el = form.querySelector('[data-error-for="' + field + '"]') || form.querySelector('[data-error-for="form"]');
      el.textContent = message;
      el.hidden = false;
    }

    function clearErrors() {
      Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (el) {
        el.textContent = "";
        el.hidden = true;
      });
    }

    nameInput.addEventListener("input", function () { namedByFile = !nameInput.value; });

    ["dragenter", "dragover"].forEach(function (type) {
      dropzone.addEventListener(type, function (event) {
        event.preventDefault();
        dropzone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      dropzone.addEventListener(type, function () { dropzone.classList.remove("dragging"); });
    });
    dropzone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      fileInput.files = event.dataTransfer.files;
      chosen();
    });
    fileInput.addEventListener("change", chosen);

    function chosen() {
      var file = fileInput.files[0];
      clearErrors();
      if (!file) return;
      title.textContent = file.name + " (" + size(file.size) + ")";
      dropzone.classList.add("chosen");
      if (namedByFile) nameInput.value = file.name.replace(/\.[^.]+$/, "");
      var ticket = ++previewed;
      head(file).then(function (blob) { return preview(blob, file.name); }).then(function (answer) {
        if (ticket !== previewed) return;
        if (answer.ok) showPreview(answer.body);
        else {
          hidePreview();
          showError("file", (answer.body.error && answer.body.error.message) || "This file cannot be read.");
        }
      }).catch(function () {
        if (ticket === previewed) hidePreview(); // no preview; the upload still validates the whole file
      });
    }

    function size(bytes) {
      if (bytes < 1024) return bytes + " B";
      if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
      return (bytes / 1024 / 1024).toFixed(1) + " MB";
    }

    /* The file's first bytes, cut after their last newline: a line is never cut in two, nor a UTF-8
     * character (a newline byte is never part of one). */
    function head(file) {
      if (file.size <= PREVIEW_BYTES) return Promise.resolve(file);
      return file.slice(0, PREVIEW_BYTES).arrayBuffer().then(function (buffer) {
        var bytes = new Uint8Array(buffer), end = bytes.lastIndexOf(NEWLINE);
        return new Blob([end > 0 ? bytes.subarray(0, end + 1) : bytes]);
      });
    }

    function preview(blob, name) {
      var data = new FormData();
      data.append("file", blob, name);
      return fetch(form.dataset.previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      }).then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      });
    }

    function showPreview(p) {
      var table = previewBox.querySelector("table");
      var headRow = table.querySelector("thead tr"), body = table.querySelector("tbody");
      headRow.replaceChildren();
      body.replaceChildren();
      p.columns.forEach(function (column) {
        var th = document.createElement("th");
        th.textContent = column;
        th.dataset.column = column;
        headRow.appendChild(th);
      });
      p.sample.forEach(function (row) {
        var tr = document.createElement("tr");
        p.columns.forEach(function (column, i) {
          var td = document.createElement("td");
          td.textContent = row[i] === undefined ? "" : row[i];
          td.dataset.column = column;
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      var delimiter = { ",": "comma", ";": "semicolon", "\t": "tab" }[p.delimiter] || JSON.stringify(p.delimiter);
      note.textContent = p.columns.length + " columns, " + delimiter + "-separated, " + p.encoding +
        ". The first rows of the file:";

      phoneSelect.replaceChildren();
      if (!p.phone_column) phoneSelect.appendChild(option("", "Choose the column holding the numbers…"));
      p.columns.forEach(function (column) { phoneSelect.appendChild(option(column, column)); });
      phoneSelect.value = p.phone_column || "";
      phoneSelect.hidden = false;
      phoneSelect.disabled = false;
      phoneText.hidden = true;
      phoneText.disabled = true;
      previewBox.hidden = false;
      markPhoneColumn();
    }

    function option(value, label) {
      var o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      return o;
    }

    function hidePreview() {
      previewBox.hidden = true;
      phoneSelect.hidden = true;
      phoneSelect.disabled = true;
      phoneText.hidden = false;
      phoneText.disabled = false;
    }

    function markPhoneColumn() {
      Array.prototype.forEach.call(previewBox.querySelectorAll("[data-column]"), function (cell) {
        cell.classList.toggle("phone-column", cell.dataset.column === phoneSelect.value);
      });
    }
    phoneSelect.addEventListener("change", markPhoneColumn);

    /* ---- the upload ------------------------------------------------------------------------------- */

    var polling = null;

    function poll() {
      var token = form.querySelector('input[name="progress_token"]').value;
      var url = form.dataset.progressUrl.replace("TOKEN", encodeURIComponent(token));
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (body) {
        if (body && body.rows != null && polling) rowsRead.textContent = Number(body.rows).toLocaleString();
      }).catch(function () { /* the next poll */ }).then(function () {
        if (polling) polling = setTimeout(poll, POLL_MS);
      });
    }

    function stopPolling() {
      clearTimeout(polling);
      polling = null;
    }

    function finished(xhr) {
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if (xhr.status >= 200 && xhr.status < 300 && body && body.redirect) {
        rowsRead.textContent = Number(body.validation.rows).toLocaleString();
        window.location.assign(body.redirect);
        return;
      }
      stopPolling();
      uploadBox.hidden = true;
      submit.disabled = false;
      submit.removeAttribute("aria-busy");
      if (body && body.errors) {
        Object.keys(body.errors).forEach(function (field) { showError(field, body.errors[field]); });
      } else if (body && body.error) {
        showError(body.error.field || "form", body.error.message);
      } else {
        showError("form", "The campaign could not be created (HTTP " + xhr.status + "). Try again.");
      }
      var first = form.querySelector("[data-error-for]:not([hidden])");
      if (first) first.scrollIntoView({ block: "center" });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearErrors();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.round(e.loaded / e.total * 100);
        uploadBar.value = percent;
        uploadPercent.textContent = percent + " %";
      });
      xhr.upload.addEventListener("load", function () {
        uploadBar.value = 100;
        uploadPercent.textContent = "100 %";
        validating.hidden = false;
        if (!polling) polling = setTimeout(poll, 0);
      });
      xhr.addEventListener("load", function () { finished(xhr); });
      xhr.addEventListener("error", function () {
        stopPolling();
        uploadBox.hidden = true;
        submit.disabled = false;
        submit.removeAttribute("aria-busy");
        showError("form", "The upload failed: check the connection and try again.");
      });
      uploadBar.value = 0;
      uploadPercent.textContent = "0 %";
      rowsRead.textContent = "0";
      validating.hidden = true;
      uploadBox.hidden = false;
      submit.disabled = true;
      submit.setAttribute("aria-busy", "true");
      xhr.send(new FormData(form));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
