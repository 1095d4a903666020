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
// 名册导入: the upload's progress while a large file goes up (htmx reports it).
document.addEventListener("htmx:xhr:progress", function (ev) {
  var form = ev.target && ev.target.closest ? ev.target.closest("form") : null;
  var bar = form ? form.querySelector("progress") : null;
  if (bar && ev.detail && ev.detail.lengthComputable) {
    bar.parentElement.hidden = false;
    bar.value = Math.round((ev.detail.loaded / ev.detail.total) * 100);
  }
});
// A refused form (4xx problem) is a page to show next to its fields, not a failure.
document.addEventListener("htmx:beforeSwap", function (ev) {
  var status = ev.detail.xhr ? ev.detail.xhr.status : 0;
  if (status >= 400 && status < 500) {
    ev.detail.shouldSwap = true;
    ev.detail.isError = false;
  }
});
