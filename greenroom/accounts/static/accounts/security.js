// Confirmation prompts and "copy all" on the security pages (no inline script: the CSP forbids it).
(function () {
  "use strict";
  document.querySelectorAll("button.gr-confirm").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.dataset.confirm)) { event.preventDefault(); }
    });
  });
  var copy = document.getElementById("copy-codes");
  if (copy) {
    copy.addEventListener("click", function () {
      var codes = Array.prototype.map.call(
        document.querySelectorAll("#recovery-codes li"), function (li) { return li.textContent.trim(); }
      ).join("\n");
      var status = document.getElementById("copy-codes-status");
      var done = function () { status.textContent = copy.dataset.copied; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(codes).then(done);
      } else {
        var range = document.createRange();
        range.selectNodeContents(document.getElementById("recovery-codes"));
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
        done();
      }
    });
  }
})();
