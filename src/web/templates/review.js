// 我的评审: the live total of the review form. Sums the score inputs as the expert types
// and marks a score outside 0..max; the server checks and computes the total again on
// every save, and the page works the same without this script.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  var out = document.getElementById("total");
  if (!form || !out) {
    return;
  }
  var inputs = form.querySelectorAll("input.score");
  function update() {
    var sum = 0;
    var bad = false;
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      var text = el.value.trim();
      if (text === "") {
        continue;
      }
      var v = Number(text);
      var max = Number(el.getAttribute("max"));
      if (!isFinite(v) || v < 0 || v > max) {
        bad = true;
        el.setAttribute("aria-invalid", "true");
      } else {
        sum += v;
        if (!el.closest(".has-error")) {
          el.removeAttribute("aria-invalid");
        }
      }
    }
    out.textContent = String(Math.round(sum * 100) / 100);
    out.className = bad ? "bad" : "";
  }
  form.addEventListener("input", update);
  update();
})();
