// The token page: copy the new token, confirm before revoking (no inline script: see the CSP).
(function () {
  var button = document.getElementById("copy-token");
  if (button) {
    var input = document.getElementById("new-token-value");
    var status = document.getElementById("copy-status");
    button.addEventListener("click", function () {
      input.select();
      var done = function () { status.textContent = button.dataset.copied; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  }
  document.querySelectorAll("form.gr-revoke").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
