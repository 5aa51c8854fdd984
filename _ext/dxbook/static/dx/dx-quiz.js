/* Defection Explained: "Check your understanding".
 *
 * Each question is a <form class="dx-q"> with native controls inside a
 * fieldset. Answers and feedback are not in the page: the build moves them to a
 * JSON file named in the quiz's data-dx-keys (base64-encoded JSON per question,
 * written from questions/*.yml), fetched when the reader first presses Check. Checking shows right or wrong and why in the
 * form's live region. Nothing is sent anywhere.
 */
(function () {
  "use strict";

  function decode(key) {
    var bytes = Uint8Array.from(atob(key), function (c) { return c.charCodeAt(0); });
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function show(form, ok, html) {
    var box = form.querySelector(".dx-q-feedback");
    form.classList.remove("dx-q-right", "dx-q-wrong", "dx-q-shown");
    form.classList.add(ok === null ? "dx-q-shown" : ok ? "dx-q-right" : "dx-q-wrong");
    var verdict = ok === null ? "" : "<strong>" + (ok ? "Right." : "Not quite.") + "</strong> ";
    box.innerHTML = verdict + html;  // html comes from the build, already escaped
  }

  function choice(form, key, multiple) {
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input"));
    var chosen = inputs.filter(function (i) { return i.checked; }).map(function (i) { return Number(i.value); });
    if (!chosen.length) { show(form, null, "Choose " + (multiple ? "one or more answers" : "an answer") + " first."); return; }
    var right = key.correct;
    var ok = chosen.length === right.length && chosen.every(function (i) { return right.indexOf(i) >= 0; });
    inputs.forEach(function (input) {
      var label = input.closest("label");
      var i = Number(input.value);
      label.classList.toggle("dx-q-correct", input.checked && right.indexOf(i) >= 0);
      label.classList.toggle("dx-q-incorrect", input.checked && right.indexOf(i) < 0);
    });
    var notes = chosen.map(function (i) { return key.feedback[i]; });
    if (multiple && !ok) {
      var missed = right.filter(function (i) { return chosen.indexOf(i) < 0; }).length;
      if (missed) notes.push(missed === 1 ? "One right answer is still unticked." : missed + " right answers are still unticked.");
    }
    show(form, ok, notes.join(" "));
  }

  function numeric(form, key) {
    var raw = form.querySelector("input").value.replace(/[,\s]/g, "");
    var value = Number(raw);
    if (raw === "" || isNaN(value)) { show(form, null, "Type a number first."); return; }
    var ok = Math.abs(value - key.answer) <= key.tolerance;
    show(form, ok, (ok ? "" : "The data gives " + key.shown + ". ") + key.feedback);
  }

  var files = {};
  function keysFor(form) {
    var url = form.closest(".dx-quiz").dataset.dxKeys;
    // The offline site ZIP (tools/editions.py) also has each keys file as a script, since a
    // page opened from disk (file://) cannot fetch: it sets window.dxQuizKeys[file name].
    var offline = window.dxQuizKeys && window.dxQuizKeys[url.split("/").pop()];
    if (!files[url] && offline) files[url] = Promise.resolve(offline);
    if (!files[url]) {
      files[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + ": " + r.status);
        return r.json();
      });
    }
    return files[url];
  }

  document.querySelectorAll("form.dx-q").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      keysFor(form).then(function (keys) { check(form, decode(keys[form.id])); }, function () {
        show(form, null, "The answers could not be loaded; they are also on the chapter's answer page.");
      });
    });
  });

  function check(form, key) {
    var type = form.dataset.dxType;
    if (type === "numeric") numeric(form, key);
    else if (type === "short") show(form, null, "<strong>Model answer:</strong> " + key.model + (key.feedback ? " " + key.feedback : ""));
    else choice(form, key, type === "multiple");
  }
})();
