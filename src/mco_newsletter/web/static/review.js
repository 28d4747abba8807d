// The review page without reloads: each decision is sent in the background and only its piece, the
// progress line and the preview are renewed. Without this script the same forms work as plain POSTs.
// Ctrl+Enter (⌘+Enter) in a text box approves that piece and goes on to the next one.
"use strict";

(function () {
  function pieces() {
    return Array.prototype.slice.call(document.querySelectorAll("article.piece"));
  }

  function focusPiece(article) {
    if (!article) return;
    var details = article.closest("details");
    if (details) details.open = true;
    var box = article.querySelector("textarea");
    article.scrollIntoView({ block: "start" });
    if (box) box.focus({ preventScroll: true });
  }

  function following(article) {
    var all = pieces();
    var at = all.indexOf(article);
    for (var i = at + 1; i < all.length; i++) {
      if (!all[i].classList.contains("approved")) return all[i];
    }
    return null;
  }

  function send(form, action) {
    var article = form.closest("article.piece");
    var body = new URLSearchParams(new FormData(form));
    body.set("action", action);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    // form.action would be the buttons named "action": the address is the attribute.
    return fetch(form.getAttribute("action"), {
      method: "POST", body: body, credentials: "same-origin", redirect: "error",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    }).then(function (answer) {
      var next = following(article);
      if (answer.piece) article.outerHTML = answer.piece;
      var progress = document.getElementById("progress");
      if (progress && answer.progress) progress.outerHTML = answer.progress;
      var preview = document.getElementById("preview");
      if (preview && answer.preview) preview.src = answer.preview;
      if (answer.result === "approved" && (action === "approve" || action === "override")) {
        focusPiece(next || (answer.next && document.getElementById(answer.next)));
      } else {
        var renewed = document.getElementById(article.id);
        var alert = renewed && renewed.querySelector("[role=alert], .outcome");
        if (alert) renewed.querySelector("textarea").focus();
      }
    }).catch(function () {
      // Not answered as expected (a form key that expired, the server away): the plain form says why.
      var plain = document.createElement("input");
      plain.type = "hidden"; plain.name = "action"; plain.value = action;
      form.appendChild(plain);
      HTMLFormElement.prototype.submit.call(form);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("decide")) return;
    event.preventDefault();
    var action = event.submitter ? event.submitter.value : "approve";
    if (action === "skip") {
      focusPiece(following(form.closest("article.piece")));
      return;
    }
    send(form, action);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var box = event.target;
    if (!box.matches || !box.matches("form.decide textarea")) return;
    event.preventDefault();
    var form = box.form;
    form.requestSubmit(form.querySelector("button[value=approve]"));
  });
})();
