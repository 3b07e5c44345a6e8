// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Confirm destructive actions that ask for it: <form data-confirm="Delete this?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // Copy buttons: <button data-copy="#selector">.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.value || source.textContent).then(function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    });
  });
  // Times written out in full (cacheable pages: <time data-ago>, <span data-ago-of>) read as "3 min ago",
  // in the words of wallet/formatting.py time_ago; without this script the full time shows.
  var UNITS = [[31536000, "year"], [2592000, "month"], [86400, "day"], [3600, "hour"], [60, "min"]];
  function ago(iso) {
    var seconds = Math.floor((Date.now() - Date.parse(iso)) / 1000);
    if (isNaN(seconds)) return null;
    for (var i = 0; i < UNITS.length && seconds >= 0; i++) {
      if (seconds >= UNITS[i][0]) {
        var count = Math.floor(seconds / UNITS[i][0]);
        return count + " " + UNITS[i][1] + (count > 1 && UNITS[i][1] !== "min" ? "s" : "") + " ago";
      }
    }
    return "just now";
  }
  document.querySelectorAll("time[data-ago]").forEach(function (element) {
    var words = ago(element.getAttribute("datetime"));
    if (words) element.textContent = words;
  });
  document.querySelectorAll("[data-ago-of]").forEach(function (element) {
    var words = ago(element.dataset.agoOf);
    if (words) element.textContent = "(" + words + ")";
  });
  // On narrow screens the main navigation scrolls sideways: start with the current page in view.
  var current = document.querySelector('.main-nav [aria-current="page"]');
  if (current && current.scrollIntoView) {
    current.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
})();
