/* Organizer console: upload a phase's organizer pairs (a zip) with a progress bar; the API checks the
 * whole set and names every bad file, and nothing is stored then (docs/platform.md). */
(function () {
  "use strict";
  function csrf() {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  document.querySelectorAll("form.phase-data-form").forEach(function (form) {
    var progress = form.querySelector(".upload-progress");
    var bar = progress.querySelector("progress");
    var label = progress.querySelector(".bar-label span");
    var numbers = progress.querySelector(".numbers");
    var errors = form.querySelector(".errors");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = form.querySelector("input[type=file]").files[0];
      if (!file) return;
      var data = new FormData();
      data.append("file", file);
      var request = new XMLHttpRequest();
      request.open("POST", form.dataset.url);
      request.setRequestHeader("X-CSRFToken", csrf());
      request.setRequestHeader("Accept", "application/json");
      progress.hidden = false;
      errors.hidden = true;
      label.textContent = "Uploading " + file.name + "…";
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        bar.max = e.total;
        bar.value = e.loaded;
        numbers.textContent = Math.round((100 * e.loaded) / e.total) + " %";
      });
      request.upload.addEventListener("load", function () { label.textContent = "Checking every pair…"; });
      request.addEventListener("load", function () {
        var body = {};
        try { body = JSON.parse(request.responseText); } catch (ignored) { body = {}; }
        if (request.status >= 200 && request.status < 300) {
          label.textContent = file.name + ": installed (" + (body.image_count || 0) + " images).";
          bar.value = bar.max;
          return;
        }
        progress.hidden = true;
        errors.hidden = false;
        errors.textContent = body.detail || ("The upload failed (HTTP " + request.status + ").");
      });
      request.addEventListener("error", function () {
        progress.hidden = true;
        errors.hidden = false;
        errors.textContent = "The connection failed; nothing was changed. Try again.";
      });
      request.send(data);
    });
  });
})();
