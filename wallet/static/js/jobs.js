// Export, import and bulk-import progress pages: ask the small status endpoint how far the job is, and show the
// finished page (the download, or the import's report) when it is done. Without this file the
// page refreshes itself every two seconds.
(function () {
  "use strict";
  var root = document.querySelector("[data-job-status]");
  function open(state) { return state === "running" || state === "queued"; }
  if (!root || !open(root.dataset.jobState)) { return; }
  var bar = root.querySelector("[data-job-progress]");
  var text = root.querySelector("[data-job-text]");

  function poll() {
    fetch(root.dataset.jobStatus, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (job) {
        if (!open(job.state)) { location.reload(); return; }
        if (job.total) {
          bar.max = job.total;
          bar.value = job.done;
          bar.textContent = job.done + " of " + job.total;
          text.textContent = "";
          var strong = document.createElement("strong");
          strong.textContent = String(job.done);
          text.appendChild(strong);
          text.appendChild(document.createTextNode(" of " + job.total + " items"));
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
