// The review page's behaviour: buttons and keyboard shortcuts post the answer with the
// reviewer's token in a header (never a cookie), and move on only once the server has
// acknowledged it (after the audit log's fsync). No other script, no other origin.
(() => {
  "use strict";
  const d = document.body.dataset;
  const token = d.token;
  const item = d.item || "";
  const classes = Number(d.classes || 0);
  const banner = document.getElementById("banner");
  const show = (kind, text) => {
    banner.className = "show " + kind;
    banner.textContent = text;
  };
  const flash = sessionStorage.getItem("aegis-flash");
  if (flash) {
    sessionStorage.removeItem("aegis-flash");
    show("info", flash);
  }
  const withToken = (path) =>
    path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);

  async function post(path, fields) {
    const response = await fetch(path, {
      method: "POST",
      headers: {
        "X-Aegis-Token": token,
        "Content-Type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams(fields).toString(),
      credentials: "omit",
      cache: "no-store",
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    return [response.status, data];
  }

  let busy = false;
  async function act(path, fields) {
    if (busy) return;
    busy = true;
    document.body.classList.add("busy");
    try {
      const [status, data] = await post(path, fields);
      if (status === 200) {
        sessionStorage.setItem("aegis-flash", data.message || "Recorded.");
        location.replace(withToken(data.next || "/review"));
        return;
      }
      if (status === 401) {
        show("error", "Your token was refused (has the server restarted?). Open the link it printed for you; nothing was recorded.");
      } else {
        show("error", data.error || "HTTP " + status + ": nothing was recorded.");
      }
    } catch (e) {
      show("error", "The server did not answer (" + e + "). Reload when it is back: the page " +
        "then shows whether this answer was recorded.");
    }
    busy = false;
    document.body.classList.remove("busy");
  }

  const decide = (action, label) => {
    if (!item) return;
    const fields = { item: item, action: action };
    if (label !== undefined) fields.label = String(label);
    act("/api/decide", fields);
  };
  const undo = () => act("/api/undo", {});
  const toggleOverlay = () => {
    document.body.classList.toggle("overlay");
    localStorage.setItem("aegis-overlay", document.body.classList.contains("overlay") ? "1" : "0");
  };
  if (localStorage.getItem("aegis-overlay") === "1") document.body.classList.add("overlay");

  document.querySelectorAll("[data-act]").forEach((el) =>
    el.addEventListener("click", () => {
      const a = el.dataset.act;
      if (a === "undo") undo();
      else if (a === "overlay") toggleOverlay();
      else decide(a);
    })
  );
  document.querySelectorAll("[data-label]").forEach((el) =>
    el.addEventListener("click", () => decide("label", el.dataset.label))
  );
  const picker = document.getElementById("picker");
  const pick = document.getElementById("pick");
  if (picker && pick) pick.addEventListener("click", () => decide("label", picker.value));

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    if (e.target.closest && e.target.closest("select, input, textarea")) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    const k = e.key.toLowerCase();
    if (k === "a") decide("accept");
    else if (k === "s") decide("skip");
    else if (k === "u") undo();
    else if (k === "o") toggleOverlay();
    else if (k === "l" && picker) picker.focus();
    else if (/^[0-9]$/.test(k) && Number(k) < classes && classes <= 10) decide("label", k);
    else return;
    e.preventDefault();
  });

  // Keep the lease while the item is on screen.
  const lease = Number(d.lease || 0);
  if (item && d.open === "1" && lease > 0) {
    setInterval(async () => {
      try {
        const [status, data] = await post("/api/lease", { item: item });
        if (status !== 200) show("error", data.error || "HTTP " + status);
      } catch (e) {
        show("error", "The server did not answer: " + e);
      }
    }, Math.max(5, lease / 3) * 1000);
  }
})();
