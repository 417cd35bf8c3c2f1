// The calendar: drag a post to another day (month) or hour (week) to reschedule it.
//
// A drop posts the same form as the keyboard "Move" button, asking for JSON; the server checks
// the person's rights through the publishing app's action. Success reloads the page (the
// calendar is server-rendered); a refusal shows the server's message and leaves the post where
// it was.
(function () {
  "use strict";

  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(status, message, ok) {
    status.replaceChildren();
    const alert = document.createElement("div");
    alert.className = "alert mb-0 " + (ok ? "alert-success" : "alert-danger");
    alert.setAttribute("role", ok ? "status" : "alert");
    alert.textContent = message;
    status.appendChild(alert);
  }

  function init(wrap) {
    const url = wrap.dataset.rescheduleUrl;
    const status = document.querySelector("[data-cal-status]");
    let dragged = null;

    wrap.addEventListener("dragstart", (event) => {
      const entry = event.target.closest(".gr-cal-entry[draggable=true]");
      if (!entry) return;
      dragged = entry;
      entry.classList.add("gr-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", entry.dataset.variants);
    });
    wrap.addEventListener("dragend", () => {
      if (dragged) dragged.classList.remove("gr-dragging");
      wrap.querySelectorAll(".gr-cal-drop").forEach((cell) => cell.classList.remove("gr-cal-drop"));
      dragged = null;
    });
    wrap.addEventListener("dragover", (event) => {
      const cell = event.target.closest("[data-date]");
      if (!cell || !dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      wrap.querySelectorAll(".gr-cal-drop").forEach((c) => c !== cell && c.classList.remove("gr-cal-drop"));
      cell.classList.add("gr-cal-drop");
    });
    wrap.addEventListener("drop", async (event) => {
      const cell = event.target.closest("[data-date]");
      if (!cell || !dragged) return;
      event.preventDefault();
      const entry = dragged;
      // Dropped back where it was: the person changed their mind. Posting the same time would
      // still reschedule it (a failed post would quietly be scheduled again) and audit a move.
      if (entry.closest("[data-date]") === cell) {
        cell.classList.remove("gr-cal-drop");
        return;
      }
      // Month: same time of day on the new date. Week: the new hour, same minutes.
      let [hours, minutes] = entry.dataset.time.split(":");
      if (cell.dataset.hour !== undefined) hours = String(cell.dataset.hour).padStart(2, "0");
      const when = `${cell.dataset.date}T${hours}:${minutes}`;
      const body = new URLSearchParams();
      body.set("variants", entry.dataset.variants);
      body.set("publish_at", when);
      body.set("next", wrap.dataset.next);
      cell.classList.remove("gr-cal-drop");
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: {
            "X-CSRFToken": csrf(),
            Accept: "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
          },
          body: body.toString(),
          credentials: "same-origin",
        });
        let data = null;
        try {
          data = await response.json();
        } catch (error) {
          data = null;
        }
        if (response.ok && data && data.ok) {
          cell.appendChild(entry);
          say(status, data.message, true);
          window.location.reload();
        } else {
          say(status, data && data.message ? data.message : status.dataset.fallback || response.statusText, false);
        }
      } catch (error) {
        say(status, String(error), false);
      }
    });
  }

  // The keyboard "Move" popovers: one open at a time; Escape or Cancel closes it and puts the
  // focus back on its "Move" button.
  function initMoves(root) {
    function close(details) {
      details.open = false;
      details.querySelector("summary").focus();
    }
    root.addEventListener(
      "toggle",
      (event) => {
        const opened = event.target;
        if (!opened.matches || !opened.matches(".gr-cal-move") || !opened.open) return;
        root.querySelectorAll(".gr-cal-move[open]").forEach((other) => {
          if (other !== opened) other.open = false;
        });
      },
      true
    );
    root.addEventListener("click", (event) => {
      const cancel = event.target.closest("[data-cal-move-cancel]");
      if (cancel) close(cancel.closest(".gr-cal-move"));
    });
    root.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      const details = event.target.closest(".gr-cal-move[open]");
      if (details) close(details);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const wrap = document.querySelector(".gr-cal-wrap[data-reschedule-url]");
    if (wrap) init(wrap);
    initMoves(document);
  });
})();
