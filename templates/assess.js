// Live total on the assessment form: the same arithmetic as the server
// (sum of 12 scores of 0–4, normalised to 0–100, rounded); the server's
// "计算" button remains the authority for risk and service type.
(function () {
  var form = document.querySelector("form.assess-form");
  var out = document.getElementById("live-total");
  if (!form || !out) return;
  var max = Number(out.getAttribute("data-max")) || 48;
  var above = Number(out.getAttribute("data-priority-above")) || 70;
  function update() {
    var sum = 0, scored = 0;
    form.querySelectorAll("input[type=radio]:checked").forEach(function (r) {
      sum += Number(r.value); scored += 1;
    });
    var total = Math.floor((sum * 100 + max / 2) / max);
    out.textContent = "当前总分 " + total + " / 100" + (total > above ? "（超过 " + above + " 分，优先）" : "") +
      (scored < 12 ? "，还有 " + (12 - scored) + " 个维度未评分" : "");
  }
  form.addEventListener("change", update);
  update();
})();
