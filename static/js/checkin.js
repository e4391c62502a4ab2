/* The check-in form, enhanced (it works without this file): focus goes to the list of problems after a failed
 * send; a temperature that fits the other unit gets a one-tap switch (°C/°F) before sending; the word and
 * memory screen shows its running score and can be cleared. The server still checks and scores everything.
 * No inline code: the words come from data-t-* attributes, translated by the server.
 */
(function () {
  "use strict";

  const summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
    summary.scrollIntoView({ block: "start" });
  }

  // --- °C / °F -------------------------------------------------------------------------------------------
  const temperature = document.getElementById("temperature");
  const warning = document.querySelector("[data-unit-warning]");
  if (temperature && warning) {
    const radios = Array.from(document.querySelectorAll('input[name="temperature_unit"]'));
    const chosen = () => (radios.find((r) => r.checked) || {}).value || "C";
    const choose = (unit) => {
      const radio = radios.find((r) => r.value === unit);
      if (radio) { radio.checked = true; radio.focus(); }
      check();
    };
    function check() {
      const value = parseFloat(temperature.value.trim().replace(",", "."));
      warning.textContent = "";
      warning.hidden = true;
      if (Number.isNaN(value)) return;
      const unit = chosen();
      let other = null;
      if (unit === "F" && value >= 30 && value <= 45) other = "C";
      if (unit === "C" && value >= 86 && value <= 113) other = "F";
      if (!other) return;
      warning.append(warning.dataset[other === "C" ? "tLooksC" : "tLooksF"] + " ");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = warning.dataset[other === "C" ? "tSwitchC" : "tSwitchF"];
      button.addEventListener("click", () => choose(other));
      warning.append(button);
      warning.hidden = false;
    }
    temperature.addEventListener("input", check);
    for (const radio of radios) radio.addEventListener("change", check);
    check();
  }

  // --- Word and memory screen ----------------------------------------------------------------------------
  const screen = document.querySelector("[data-ice-screen]");
  if (screen) {
    const total = screen.querySelector("[data-ice-total]");
    const clear = screen.querySelector("[data-ice-clear]");
    const names = new Set(Array.from(screen.querySelectorAll("input[data-ice-part]")).map((input) => input.name));
    function update() {
      const answered = Array.from(screen.querySelectorAll("input[data-ice-part]:checked"));
      const score = answered.filter((input) => input.value === "1").length;
      if (total) {
        total.hidden = answered.length === 0;
        total.textContent = (total.dataset.t || "")
          .replace("{score}", String(score)).replace("{answered}", String(answered.length))
          .replace("{items}", String(names.size));
      }
      if (clear) clear.hidden = answered.length === 0;
    }
    screen.addEventListener("change", (event) => {
      // An item answered now: its "not answered yet" from the last send no longer applies.
      const item = event.target.closest("fieldset.yesno");
      if (item) {
        item.classList.remove("has-error");
        item.removeAttribute("aria-describedby");
        for (const error of item.querySelectorAll(".error")) error.remove();
      }
      update();
    });
    if (clear) {
      clear.addEventListener("click", () => {
        for (const input of screen.querySelectorAll("input[data-ice-part]")) input.checked = false;
        update();
      });
    }
    update();
  }
})();
