/* Behaviour every page shares, kept out of the markup: the Content-Security-Policy allows no inline script
 * and no on*= handler attribute.
 *
 * <form data-confirm="Release +14155550100?">: the browser asks first, and the form is sent only on OK. */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
