/* Behaviour every page shares, kept out of the markup: the Content-Security-Policy allows no inline script
 * and no on*= handler attribute.
 *
 * <form data-confirm="Release +14155550100?">: the browser asks first, and the form is sent only on OK,
 * with confirmed=yes (a view that asks first itself, wordcab_admin/kernel/confirm.py, then acts at once;
 * without JavaScript that view answers its own question page).
 *
 * <form class="picker" data-number="…" data-holder="Billing Support">, a number's agent picker: choosing
 * another agent (or none) for a number an agent holds asks first, naming who loses it; on Cancel the
 * picker goes back to the holder and nothing is sent. */
(function () {
  "use strict";

  function markConfirmed(form) {
    var field = form.querySelector("input[name=confirmed]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "confirmed";
      form.appendChild(field);
    }
    field.value = "yes";
  }

  /* The question a picker asks before its number leaves the agent holding it; "" when it takes nothing. */
  function moveQuestion(form) {
    var select = form.querySelector("select[name=agent]");
    var seen = form.querySelector("input[name=seen]");
    var holder = form.getAttribute("data-holder");
    if (!select || !seen || !seen.value || !holder || select.value === seen.value) return "";
    var number = form.getAttribute("data-number");
    if (!select.value) {
      return "Unassign " + number + " from " + holder + "?\n\n" + holder +
        " loses it: calls to it will hear a polite message and be hung up.";
    }
    var chosen = select.options[select.selectedIndex].text.replace(/ \(disabled\)$/, "");
    return "Move " + number + " from " + holder + " to " + chosen + "?\n\n" + holder +
      " loses it: calls to it will reach " + chosen + " instead.";
  }

  function restorePicker(form) {
    var select = form.querySelector("select[name=agent]");
    Array.prototype.forEach.call(select.options, function (option) { option.selected = option.defaultSelected; });
  }

  function isPicker(form) {
    return form instanceof HTMLFormElement && form.classList.contains("picker");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.hasAttribute("data-confirm") ? form.getAttribute("data-confirm")
      : isPicker(form) ? moveQuestion(form) : "";
    if (!question) return;
    if (window.confirm(question)) {
      markConfirmed(form);
    } else {
      if (isPicker(form)) restorePicker(form);
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* htmx sends a picker on "change": it asks here, before the request, and goes on only on OK. */
  /* A number shown for reading (<span class="phone" data-e164="+14155550123">(415) 555-0123</span>) is
   * copied as E.164, the form every other system takes. */
  document.addEventListener("copy", function (event) {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !event.clipboardData) return;
    var node = selection.anchorNode && selection.anchorNode.parentElement;
    var phone = node && node.closest("[data-e164]");
    if (!phone || phone !== (selection.focusNode.parentElement || {}).closest("[data-e164]")) return;
    event.clipboardData.setData("text/plain", phone.dataset.e164);
    event.preventDefault();
  });

  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target;
    if (!isPicker(form)) return;
    var question = moveQuestion(form);
    if (!question) return;
    event.preventDefault();
    if (window.confirm(question)) {
      markConfirmed(form);
      event.detail.issueRequest(true);
    } else {
      restorePicker(form);
    }
  });
})();
