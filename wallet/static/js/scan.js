// Scan a QR code into a form field with the device camera: a progressive enhancement.
// The field always takes a pasted link; the Scan button appears only where the browser can scan
// (BarcodeDetector with QR codes, and a camera through getUserMedia). No inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("[data-scan]");
  if (!box) return;
  var field = box.closest("form").querySelector("input[name=offer], textarea[name=offer]");
  var start = box.querySelector("[data-scan-start]");
  var stop = box.querySelector("[data-scan-stop]");
  var video = box.querySelector("[data-scan-video]");
  var status = box.querySelector("[data-scan-status]");
  var stream = null;
  var timer = null;

  function canScan() {
    return "BarcodeDetector" in window && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) &&
      typeof window.BarcodeDetector.getSupportedFormats === "function";
  }

  function finish(message) {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
    status.textContent = message || "";
  }

  function scan(detector) {
    detector.detect(video).then(function (codes) {
      if (!stream) return;
      if (codes.length && codes[0].rawValue) {
        field.value = codes[0].rawValue;
        finish("Scanned. Check the link, then receive the credentials.");
        field.focus();
        return;
      }
      timer = window.setTimeout(function () { scan(detector); }, 250);
    }, function () {
      timer = window.setTimeout(function () { scan(detector); }, 250);
    });
  }

  start.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = false;
      start.hidden = true;
      stop.hidden = false;
      status.textContent = "Point the camera at the QR code.";
      return video.play().then(function () { scan(detector); });
    }).catch(function () {
      finish("The camera could not be used. Paste the link instead.");
    });
  });
  stop.addEventListener("click", function () { finish(""); });

  if (!canScan()) return;
  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    // Only where QR codes can be read and a camera exists: otherwise pasting is the way.
    if (formats.indexOf("qr_code") === -1 || !navigator.mediaDevices.enumerateDevices) return null;
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      if (devices.some(function (device) { return device.kind === "videoinput"; })) box.hidden = false;
    });
  }).catch(function () { /* no scanning: the field still takes a pasted link */ });
})();
