/* Settings → Time zone (templates/accounts/_time_zone.html): offer the zone this browser's clock is set to,
 * when it is not the one chosen. */
(function () {
  "use strict";

  function offerBrowserTimeZone() {
    var select = document.querySelector("[data-time-zone-select]");
    var hint = document.querySelector("[data-browser-time-zone]");
    if (!select || !hint || !window.Intl) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
    if (!zone || !known || select.value === zone) return;
    hint.querySelector("[data-browser-time-zone-name]").textContent = zone;
    hint.hidden = false;
    hint.querySelector("[data-use-browser-time-zone]").addEventListener("click", function () {
      select.value = zone;
      select.form.requestSubmit();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", offerBrowserTimeZone);
  else offerBrowserTimeZone();
})();
