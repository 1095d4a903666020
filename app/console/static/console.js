// Progressive enhancement only: every page works without this file.
document.addEventListener("change", function (ev) {
  var el = ev.target;
  if (el && el.dataset && el.dataset.reload) {
    var btn = document.getElementById(el.dataset.reload);
    if (btn && el.form) { el.form.requestSubmit(btn); }
  }
});
document.addEventListener("click", function (ev) {
  var el = ev.target;
  if (el && el.dataset && el.dataset.copy) {
    var src = document.getElementById(el.dataset.copy);
    if (src && navigator.clipboard) {
      navigator.clipboard.writeText(src.textContent.trim()).then(function () {
        el.textContent = "已复制";
      }, function () {});
    }
  }
});
