// The composer: live counters, previews and the channel picker.
//
// Counting is never done here: every count comes from the server's `count` endpoint (the rule
// table and greenroom.networks.text), called a moment after typing stops. Changing channels,
// placements, media, the link or the time asks the server for the whole variants panel again.
// A redraw is drawn from the form as it was sent: whatever the person typed while it was on its
// way is kept (see `swapPanel`), and only the newest redraw is drawn.
// Without JavaScript the page still works: "Update the previews" posts the form.
(function () {
  "use strict";

  const DEBOUNCE_MS = 300;

  function debounce(fn, ms) {
    let timer = null;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => fn.apply(this, args), ms);
    };
  }

  function csrf(form) {
    const input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function init(form) {
    const panel = document.getElementById("composer-panel");
    const panelUrl = form.dataset.panelUrl;
    const countUrl = form.dataset.countUrl;
    const master = form.querySelector("textarea[name=text]");
    let panelRequest = 0;

    // Every edit of a field is numbered, so a redraw knows what changed after it was sent.
    let editSeq = 0;
    const editedAt = new WeakMap();
    function noteEdit(event) {
      if (event.target instanceof Element && event.target.matches("input, textarea, select")) {
        editedAt.set(event.target, ++editSeq);
      }
    }
    form.addEventListener("input", noteEdit, true);
    form.addEventListener("change", noteEdit, true);
    // An input method (Korean, Japanese...) composing a syllable must not have its field moved.
    let composing = false;
    let afterComposing = null;
    form.addEventListener("compositionstart", () => (composing = true), true);
    form.addEventListener("compositionend", () => {
      composing = false;
      const run = afterComposing;
      afterComposing = null;
      if (run) run();
    }, true);

    function variants() {
      return Array.from(panel.querySelectorAll("[data-variant]"));
    }

    function masterValue(name) {
      const field = form.elements.namedItem(name);
      if (!field) return "";
      if (field.type === "checkbox") return field.checked ? "1" : "0";
      return field.value || "";
    }

    // --- Counting: one request per variant whose text changed ---------------------------------
    const pending = new Map();

    async function countVariant(section) {
      const id = section.dataset.variant;
      const text = section.querySelector("[data-variant-text]");
      const comment = section.querySelector("[data-first-comment]");
      const placement = section.querySelector("select[name$=placement]");
      const body = new URLSearchParams();
      body.set("channel", id);
      body.set("placement", placement ? placement.value : "feed");
      body.set("text", text ? text.value : "");
      body.set("link", masterValue("link"));
      body.set("utm", masterValue("add_utm"));
      body.set("utm_medium", masterValue("utm_medium"));
      body.set("utm_campaign", masterValue("utm_campaign"));
      body.set("campaign", masterValue("campaign"));
      body.set("sponsored", masterValue("sponsored"));
      if (comment) body.set("first_comment", comment.value);
      section.querySelectorAll("[data-option]").forEach((el) => {
        if (el.type !== "checkbox" || el.checked) body.append(el.name, el.type === "checkbox" ? "on" : el.value);
      });
      form.querySelectorAll("input[name=assets]:checked").forEach((m) => body.append("media", m.value));
      const ticket = (pending.get(id) || 0) + 1;
      pending.set(id, ticket);
      let data;
      try {
        const response = await fetch(countUrl, {
          method: "POST",
          headers: { "X-CSRFToken": csrf(form), "Content-Type": "application/x-www-form-urlencoded" },
          body: body.toString(),
          credentials: "same-origin",
        });
        if (!response.ok) return;
        data = await response.json();
      } catch (error) {
        return; // the next keystroke tries again; the server checks everything on save anyway
      }
      if (pending.get(id) !== ticket || !section.isConnected) return; // a newer answer is coming
      show(section, data);
    }

    function show(section, data) {
      const counter = section.querySelector("[data-counter]");
      if (counter) {
        counter.classList.toggle("gr-counter-over", data.over);
        counter.querySelector("[data-counter-length]").textContent = data.counter_label;
        counter.querySelector("[data-counter-caps]").textContent = data.caps_label;
      }
      section.classList.toggle("gr-variant-bad", data.problems.length > 0);
      const blocking = panel.querySelector("[data-blocking]");
      if (blocking) blocking.hidden = !panel.querySelector(".gr-variant-bad");
      const box = section.querySelector("[data-problems]");
      box.replaceChildren();
      if (data.problems.length) {
        const list = document.createElement("ul");
        list.className = "gr-problems";
        for (const problem of data.problems) {
          const item = document.createElement("li");
          item.textContent = problem;
          list.appendChild(item);
        }
        box.appendChild(list);
      }
      const policy = section.querySelector("[data-policy]");
      if (policy && data.policy) {
        policy.replaceChildren();
        if (data.policy.length) {
          const list = document.createElement("ul");
          list.className = "gr-policy list-unstyled small mb-1";
          for (const finding of data.policy) {
            const item = document.createElement("li");
            item.className = finding.blocks ? "text-danger-emphasis" : "text-warning-emphasis";
            const label = document.createElement("strong");
            label.textContent = finding.blocks ? policy.dataset.blockLabel : policy.dataset.warnLabel;
            item.append(label, " ", finding.message);
            list.appendChild(item);
          }
          policy.appendChild(list);
        }
      }
      section.querySelectorAll("[data-preview-text]").forEach((el) => (el.textContent = data.text));
      section.querySelectorAll("[data-preview-link]").forEach((el) => (el.textContent = data.link));
      const comment = section.querySelector("[data-first-comment]");
      section.querySelectorAll("[data-preview-comment]").forEach((el) => {
        el.textContent = comment ? comment.value : "";
      });
      // The comment's place in the preview is there from the start, shown once it has words.
      section.querySelectorAll("[data-preview-comment-box]").forEach((el) => {
        el.hidden = !(comment && comment.value.trim());
      });
    }

    // Debounced per channel; the section is looked up when the timer fires, because the panel
    // may have been rendered again in between.
    const countLater = new Map();
    function scheduleCount(section) {
      const id = section.dataset.variant;
      if (!countLater.has(id)) {
        countLater.set(
          id,
          debounce(() => {
            const current = panel.querySelector(`[data-variant="${id}"]`);
            if (current) countVariant(current);
          }, DEBOUNCE_MS),
        );
      }
      countLater.get(id)();
    }

    // --- Inherit or override the master text ---------------------------------------------------
    function setOverridden(section, on) {
      section.querySelector("[data-overridden]").value = on ? "1" : "0";
      section.querySelector("[data-inherit-note]").hidden = on;
      section.querySelector("[data-override-note]").hidden = !on;
    }

    if (master) {
      master.addEventListener("input", () => {
        for (const section of variants()) {
          const flag = section.querySelector("[data-overridden]");
          const text = section.querySelector("[data-variant-text]");
          if (!flag || !text || flag.value === "1") continue;
          text.value = master.value;
          scheduleCount(section);
        }
      });
    }

    panel.addEventListener("input", (event) => {
      if (event.target.matches("[data-alt-for]")) {
        const missing = event.target.parentElement.querySelector("[data-alt-missing]");
        if (missing) missing.hidden = event.target.value.trim() !== "";
      }
      const section = event.target.closest("[data-variant]");
      if (!section) return;
      if (event.target.matches("[data-variant-text]")) {
        setOverridden(section, event.target.value !== (master ? master.value : ""));
      }
      if (event.target.matches("[data-variant-text], [data-first-comment], [data-option]")) scheduleCount(section);
    });

    panel.addEventListener("click", (event) => {
      const reset = event.target.closest("[data-reset]");
      if (!reset) return;
      event.preventDefault();
      const section = reset.closest("[data-variant]");
      const text = section.querySelector("[data-variant-text]");
      text.value = master ? master.value : "";
      editedAt.set(text, ++editSeq); // a redraw on its way must not bring the old text back
      setOverridden(section, false);
      scheduleCount(section);
    });

    // --- Re-render the variants panel when the shape of the post changes ------------------------
    // Only the newest redraw is drawn (an older answer arriving late is dropped). The answer was
    // made from the form as it was sent, so the fields the person edited since then, and the one
    // they are in, are not replaced: the live element is moved into the new panel in place of
    // its stale twin (with moveBefore where the browser has it, keeping focus and selection),
    // and its channel is counted again so counters and previews follow what was typed.
    async function refreshPanel() {
      const ticket = ++panelRequest;
      const sentAt = editSeq;
      const data = new FormData(form);
      data.delete("action");
      panel.setAttribute("aria-busy", "true");
      let html = null;
      try {
        const response = await fetch(panelUrl, {
          method: "POST",
          headers: { "X-CSRFToken": csrf(form) },
          body: data,
          credentials: "same-origin",
        });
        if (response.ok && ticket === panelRequest) html = await response.text();
      } catch (error) {
        // The panel stays as it was; saving checks everything again.
      }
      if (html === null || ticket !== panelRequest) {
        if (ticket === panelRequest) {
          panel.removeAttribute("aria-busy");
          updateChosenCount();
        }
        return;
      }
      const draw = () => {
        if (ticket !== panelRequest) return; // a newer redraw was asked for meanwhile
        swapPanel(html, sentAt);
        panel.removeAttribute("aria-busy");
        updateChosenCount();
      };
      if (composing) afterComposing = draw;
      else draw();
    }

    function isField(el) {
      return el instanceof Element && el.matches("input, textarea, select") && el.name;
    }

    function swapPanel(html, sentAt) {
      const active = document.activeElement;
      const keep = Array.from(panel.querySelectorAll("input, textarea, select")).filter(
        (el) => el.name && ((editedAt.get(el) || 0) > sentAt || el === active),
      );
      const template = document.createElement("template");
      template.innerHTML = html;
      const fresh = template.content;
      // Pair each kept field with its twin in the new panel (same name; a field the new panel no
      // longer has, such as an option of a placement no longer chosen, goes with the old one).
      const pairs = [];
      for (const live of keep) {
        const twin = Array.from(fresh.querySelectorAll("input, textarea, select")).find(
          (el) => el.name === live.name && el.tagName === live.tagName && el.type === live.type,
        );
        if (twin) pairs.push([live, twin]);
      }
      const selection = isField(active) && "selectionStart" in active && active.selectionStart !== null
        ? [active.selectionStart, active.selectionEnd, active.selectionDirection, active.scrollTop]
        : null;
      const old = Array.from(panel.childNodes);
      panel.append(fresh);
      for (const [live, twin] of pairs) {
        // The new panel's attributes (ids, descriptions, limits), the person's value.
        for (const attr of Array.from(twin.attributes)) {
          if (attr.name !== "value" && attr.name !== "checked") live.setAttribute(attr.name, attr.value);
        }
        for (const attr of Array.from(live.attributes)) {
          if (!twin.hasAttribute(attr.name) && attr.name !== "value" && attr.name !== "checked") {
            live.removeAttribute(attr.name);
          }
        }
        try {
          twin.parentNode.moveBefore(live, twin);
        } catch (error) {
          twin.parentNode.insertBefore(live, twin); // no moveBefore: focus is put back below
        }
        twin.remove();
      }
      old.forEach((node) => node.remove());
      if (isField(active) && active.isConnected && document.activeElement !== active) {
        active.focus({ preventScroll: true });
        if (selection) {
          try {
            active.setSelectionRange(selection[0], selection[1], selection[2]);
          } catch (error) {
            // Not a text field (a date, a number): there is no caret to put back.
          }
          active.scrollTop = selection[3];
        }
      }
      // The new panel shows the post's text as it was sent: channels that use it follow the
      // text as it is now, and a channel text typed since is "edited for this channel" again.
      const recount = new Set();
      for (const section of variants()) {
        const flag = section.querySelector("[data-overridden]");
        const text = section.querySelector("[data-variant-text]");
        if (!flag || !text) continue;
        const masterText = master ? master.value : "";
        if (pairs.some(([live]) => live === text)) setOverridden(section, text.value !== masterText);
        if (flag.value !== "1" && text.value !== masterText) {
          text.value = masterText;
          recount.add(section);
        }
      }
      for (const [live] of pairs) {
        if (live.matches("[data-alt-for]")) {
          const missing = live.parentElement.querySelector("[data-alt-missing]");
          if (missing) missing.hidden = live.value.trim() !== "";
        }
        const section = live.closest("[data-variant]");
        if (section) recount.add(section);
      }
      recount.forEach(scheduleCount);
    }
    const refreshSoon = debounce(refreshPanel, 150);

    form.addEventListener("change", (event) => {
      const target = event.target;
      if (target.matches("[data-refresh], select[name$=placement], input[name=publish_at], select[name=campaign], input[name=add_utm]")) {
        refreshSoon();
      }
    });
    // The link and UTM fields change every variant's text: recount all of them.
    form.querySelectorAll("input[name=link], input[name=utm_medium], input[name=utm_campaign]").forEach((field) => {
      field.addEventListener("input", () => variants().forEach(scheduleCount));
      field.addEventListener("change", refreshSoon);
    });

    // --- Pick channels by brand, region, network or saved group ---------------------------------
    function updateChosenCount() {
      const badge = form.querySelector("[data-chosen-count]");
      if (badge) badge.textContent = form.querySelectorAll("input[name=channels]:checked").length;
    }

    form.addEventListener("click", (event) => {
      const pick = event.target.closest("[data-pick]");
      const none = event.target.closest("[data-pick-none]");
      if (!pick && !none) return;
      event.preventDefault();
      const ids = pick ? pick.dataset.pick.split(" ").filter(Boolean) : [];
      const boxes = form.querySelectorAll("input[name=channels]");
      if (none) {
        boxes.forEach((box) => (box.checked = false));
      } else {
        // Picking a set that is already fully ticked unticks it again.
        const chosen = Array.from(boxes).filter((box) => ids.includes(box.value));
        const all = chosen.length > 0 && chosen.every((box) => box.checked);
        chosen.forEach((box) => (box.checked = !all));
      }
      updateChosenCount();
      refreshSoon();
    });

    // Keep the newest server-made previews: if the page came without renditions, ask once.
    if (panel.querySelector("[data-variant]")) refreshPanel();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("composer");
    if (form) init(form);
  });
})();
