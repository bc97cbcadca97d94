/* Live status of a queued or running submission: polls the API and reloads the page once the
 * submission is scored, failed or cancelled (the page then shows the scores or the reason). */
(function () {
  "use strict";
  var card = document.getElementById("status-card");
  if (!card || !window.fetch) return;
  var text = document.getElementById("status-text");
  var bar = document.getElementById("status-progress");
  var numbers = document.getElementById("status-numbers");
  var badge = document.getElementById("status-badge");
  var delay = 1500;

  function poll() {
    fetch(card.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        var evaluation = data.evaluation || {};
        if (data.status !== "queued" && data.status !== "running") {
          window.location.reload();
          return;
        }
        badge.textContent = data.status === "queued" ? "Queued" : "Running";
        badge.className = "badge big status-" + data.status;
        if (evaluation.progress) {
          bar.max = evaluation.progress.total;
          bar.value = evaluation.progress.done;
          numbers.textContent =
            evaluation.progress.done + " of " + evaluation.progress.total + " " + (numbers.dataset.unit || "images");
          text.textContent = "Scoring…";
        } else if (data.status === "queued") {
          text.textContent = evaluation.retrying_after_platform_error
            ? "Waiting to be retried after a platform error (this does not count against you)…"
            : "Waiting for an evaluation worker…";
        }
      })
      .catch(function () { /* keep polling: the connection may come back */ })
      .then(function () {
        delay = Math.min(delay * 1.2, 10000);
        setTimeout(poll, delay);
      });
  }
  setTimeout(poll, delay);
})();
