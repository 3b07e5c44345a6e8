// Add-credential page: tabs, and one uploaded file checked with its result shown on the page (several
// files or a ZIP go to the background import's progress page).
// Without this file the page still works: three plain forms, and a results page after an upload.
(function () {
  "use strict";
  // The state words and chip classes come from the page (a JSON data block rendered from the one table of
  // states, services/verification/states.py), so the script says what every page says.
  var STATES = readJSON("state-words");
  // What each file's import came to, in the words the server's pages use (services/importing.py RESULT_WORDS).
  var RESULT_WORDS = readJSON("result-words");

  function setupTabs(root) {
    var tabs = root.querySelectorAll("[data-tab]");
    function show(name) {
      tabs.forEach(function (tab) {
        var active = tab.dataset.tab === name;
        if (active) { tab.setAttribute("aria-current", "true"); } else { tab.removeAttribute("aria-current"); }
      });
      root.querySelectorAll("[data-panel]").forEach(function (panel) {
        panel.hidden = panel.dataset.panel !== name;
      });
    }
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        show(tab.dataset.tab);
        history.replaceState(null, "", tab.getAttribute("href"));
        var panel = root.querySelector('[data-panel="' + tab.dataset.tab + '"]');
        var field = panel && panel.querySelector("input:not([type=hidden]), textarea");
        if (field) { field.focus(); }
      });
    });
    var fromHash = location.hash.replace("#", "");
    show(["link", "files", "paste"].indexOf(fromHash) >= 0 ? fromHash : root.dataset.initial || "link");
  }

  function readJSON(id) {
    var block = document.getElementById(id);
    try { return block ? JSON.parse(block.textContent) : {}; } catch (error) { return {}; }
  }

  function stateOf(status) {
    return STATES[status] || STATES.error || { label: "", chip: "state-error" };
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function renderResult(list, item) {
    var row = el("li", "result result-" + item.state);
    row.appendChild(el("span", "result-file", item.filename || ""));
    row.appendChild(el("span", "result-state", RESULT_WORDS[item.state] || item.state));
    if (item.state === "kept") {
      // The file was not stored: say why, and link the copy the wallet keeps.
      row.appendChild(el("span", "result-message", item.message || ""));
      var kept = el("a", "", item.name || "Open");
      kept.href = item.url;
      row.appendChild(kept);
    } else if (item.url) {
      var link = el("a", "", item.name || "Open");
      link.href = item.url;
      row.appendChild(link);
      var state = stateOf(item.status);
      row.appendChild(el("span", "state " + state.chip, state.label));
    } else {
      row.appendChild(el("span", "result-message", item.message || ""));
    }
    list.appendChild(row);
  }

  function readLines(response, onItem) {
    if (!response.body || !response.body.getReader) {
      return response.text().then(function (text) {
        text.split("\n").forEach(function (line) { if (line.trim()) { onItem(JSON.parse(line)); } });
      });
    }
    var reader = response.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.value) { buffer += decoder.decode(chunk.value, { stream: !chunk.done }); }
        var lines = buffer.split("\n");
        buffer = lines.pop();
        lines.forEach(function (line) { if (line.trim()) { onItem(JSON.parse(line)); } });
        if (chunk.done) {
          if (buffer.trim()) { onItem(JSON.parse(buffer)); }
          return null;
        }
        return pump();
      });
    }
    return pump();
  }

  function setupUpload(form) {
    var input = form.querySelector('input[type="file"]');
    var token = form.querySelector('input[name="csrf_token"]');
    var progress = form.querySelector("[data-progress]");
    var results = document.querySelector("[data-results]");
    var list = document.querySelector("[data-result-list]");
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !input.files.length) { return; }
      // Several files or a ZIP are imported as a background job: the form goes to its progress page.
      var single = input.files.length === 1 && !/\.zip$/i.test(input.files[0].name) &&
        input.files[0].type !== "application/zip" && input.files[0].type !== "application/x-zip-compressed";
      if (!single) { return; }
      event.preventDefault();
      var files = Array.prototype.slice.call(input.files);
      var counts = { imported: 0, replaced: 0, duplicate: 0, kept: 0, rejected: 0 };
      var button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      results.hidden = false;
      progress.hidden = false;
      var chain = Promise.resolve();
      files.forEach(function (file, index) {
        chain = chain.then(function () {
          progress.textContent = "Checking " + (index + 1) + " of " + files.length + ": " + file.name + "…";
          var body = new FormData();
          body.append("csrf_token", token ? token.value : "");
          body.append("files", file, file.name);
          return fetch(form.action, {
            method: "POST", body: body, credentials: "same-origin",
            headers: { "Accept": "application/x-ndjson, application/json;q=0.9", "X-CSRFToken": token ? token.value : "" }
          }).then(function (response) {
            var onItem = function (item) { counts[item.state] = (counts[item.state] || 0) + 1; renderResult(list, item); };
            if (response.ok) { return readLines(response, onItem); }
            return response.json().catch(function () { return {}; }).then(function (error) {
              onItem({ state: "rejected", filename: file.name, message: error.message || "The upload failed." });
            });
          }).catch(function () {
            counts.rejected += 1;
            renderResult(list, { state: "rejected", filename: file.name, message: "The upload was interrupted. Try again." });
          });
        });
      });
      chain.then(function () {
        progress.textContent = "Done: " + (counts.imported + counts.replaced) + " added, " + counts.duplicate +
          " already in your wallet, " + (counts.rejected + counts.kept) + " not added.";
        button.disabled = false;
        input.value = "";
      });
    });
  }

  document.querySelectorAll("[data-tabs]").forEach(setupTabs);
  document.querySelectorAll("form[data-stream-upload]").forEach(setupUpload);
})();
