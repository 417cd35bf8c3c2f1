// The inbox's few lines of behaviour: keyboard shortcuts, saved replies, "who is replying",
// live updates.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
      target.tagName === "SELECT" || target.isContentEditable);
  }

  // --- Presence: tell the others when I am writing a reply ---
  var state = document.getElementById("gr-presence-state");
  var reply = document.getElementById("gr-reply");
  function setState(value) {
    if (!state || state.value === value) return;
    state.value = value;
    var form = document.getElementById("gr-presence");
    if (form && window.htmx) window.htmx.trigger(form, "gr-state-change");
  }
  if (reply) {
    reply.addEventListener("input", function () { setState(reply.value.trim() ? "replying" : "viewing"); });
    reply.addEventListener("focus", function () { if (reply.value.trim()) setState("replying"); });
  }

  // --- Live updates: the server names the part that changed; htmx fetches it again ---
  // (greenroom/inbox/live.py). Without EventSource, or once the server refuses the stream, the
  // parts' own slow polling (every 60 s) is what is left.
  function refresh(id) {
    var el = document.getElementById(id);
    if (el && window.htmx) window.htmx.trigger(el, "gr-refresh");
  }
  var queue = document.getElementById("gr-queue");
  var queueOwed = false;
  function selecting() { return !!(queue && queue.querySelector("input[type=checkbox]:checked")); }
  function refreshQueue() {
    // Redrawing the table would drop the rows someone is selecting: wait until they are done.
    if (selecting()) { queueOwed = true; return; }
    queueOwed = false;
    refresh("gr-queue");
  }
  // --- The bulk bar says how many conversations it acts on; its buttons wait for one ---
  var bulkCount = document.getElementById("gr-bulk-count");
  var selectAll = document.getElementById("gr-select-all");
  function boxes() {
    return queue ? Array.prototype.slice.call(queue.querySelectorAll("input[name=ids]")) : [];
  }
  function showSelection() {
    if (!bulkCount) return;
    var all = boxes();
    var ticked = all.filter(function (box) { return box.checked; }).length;
    bulkCount.textContent = ticked
      ? bulkCount.dataset.template.replace("{n}", String(ticked))
      : bulkCount.dataset.none;
    var bar = bulkCount.parentElement;
    Array.prototype.forEach.call(bar.querySelectorAll("button[name=action]"), function (button) {
      button.disabled = !ticked;
    });
    if (selectAll) {
      selectAll.checked = all.length > 0 && ticked === all.length;
      selectAll.indeterminate = ticked > 0 && ticked < all.length;
      selectAll.disabled = !all.length;
    }
  }
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = selectAll.checked; });
      showSelection();
      if (queueOwed && !selecting()) refreshQueue();
    });
  }
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "gr-queue") showSelection();
  });
  showSelection();

  if (queue) {
    queue.addEventListener("change", showSelection);
    queue.addEventListener("change", function () { if (queueOwed && !selecting()) refreshQueue(); });
    // The fallback poll goes through the same door, so it never drops a selection either.
    window.setInterval(refreshQueue, 60000);
  }
  var live = document.querySelector("[data-live]");
  var source = null;
  function listen() {
    source = new EventSource(live.dataset.live);
    source.addEventListener("thread", function () { refresh("gr-thread"); });
    source.addEventListener("presence", function () { refresh("gr-presence"); });
    source.addEventListener("conversation", function () {
      refresh("gr-thread");
      var notice = document.getElementById("gr-live-notice");
      if (notice) notice.hidden = false;
    });
    source.addEventListener("queue", refreshQueue);
  }
  if (live && window.EventSource) {
    listen();
    window.addEventListener("pagehide", function () { if (source) source.close(); });
    // Back from the browser's page cache: the old stream is closed and the page may be stale.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) return;
      listen();
      refresh("gr-thread");
      refresh("gr-presence");
      refreshQueue();
    });
  }

  // --- Saved replies fill the composer (their variables are already filled in by the server) ---
  var saved = document.getElementById("gr-saved");
  if (saved && reply) {
    saved.addEventListener("change", function () {
      var option = saved.options[saved.selectedIndex];
      if (!option || !option.dataset.text) return;
      reply.value = option.dataset.text;  // .value: text, never parsed as HTML
      reply.dispatchEvent(new Event("input", { bubbles: true }));
      reply.focus();
    });
  }

  // --- Keyboard shortcuts ---
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll(".gr-queue-row")); };
  var current = -1;
  var currentHref = null;
  function focusRow(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("table-active", i === current); });
    currentHref = all[current].dataset.href;
    all[current].focus();
  }
  // A redrawn queue keeps the keyboard's place: the same conversation, wherever it moved.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.target || event.target.id !== "gr-queue" || !currentHref) return;
    var all = rows();
    for (var i = 0; i < all.length; i++) {
      if (all[i].dataset.href === currentHref) { focusRow(i); return; }
    }
    current = -1;
    currentHref = null;
  });
  function click(id) { var el = document.getElementById(id); if (el) el.click(); }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var all = rows();
    switch (event.key) {
      case "/": var search = document.getElementById("f-q"); if (search) search.focus(); else return; break;
      case "j": focusRow(current + 1); break;
      case "k": focusRow(current - 1); break;
      case "o":
      case "Enter":
        if (all[current]) window.location.href = all[current].dataset.href; else return;
        break;
      case "x":
        if (all[current]) {
          var box = all[current].querySelector("input[type=checkbox]");
          if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
        } else return;
        break;
      case "r": if (reply) reply.focus(); else return; break;
      case "n": var note = document.getElementById("gr-note"); if (note) note.focus(); else return; break;
      case "a": click("gr-assign-me"); break;
      case "c": click("gr-close"); break;
      default: return;
    }
    event.preventDefault();
  });
})();
