/* The patient pages as an installable app that works without a connection (the worker: static/js/sw.js).
 *
 * On every page for a patient or caregiver: registers the service worker; gives each check-in form a fresh
 * id made on the phone (a cached copy of the page must not reuse one); asks the worker to keep this
 * patient's check-in page and offline pages for when there is no connection; asks it to send what is
 * queued when the connection returns (`online`), at load, and every 30 s while something waits; and says
 * what happened to check-ins saved on this phone: waiting, sent (with a link to what to do now), or not
 * accepted (with the reasons, until the patient dismisses them). On the "saved on this phone" page, a sent
 * check-in opens its result, where the urgency and what to do are.
 * Without JavaScript or service workers the pages work as before. No inline code: the words come from
 * data-t-* attributes of #offline-app, translated by the server.
 */
(function () {
  "use strict";

  function freshIds() {
    if (!(window.crypto && window.crypto.randomUUID)) return; // keep the id the server put in the page
    for (const input of document.querySelectorAll('input[name="client_id"]')) input.value = window.crypto.randomUUID();
  }
  freshIds();
  window.addEventListener("pageshow", (event) => { if (event.persisted) freshIds(); });

  const root = document.getElementById("offline-app");
  if (!root || !("serviceWorker" in navigator)) return;
  const worker = navigator.serviceWorker;
  const signedIn = Boolean(root.dataset.sw);
  const savedPage = document.querySelector("[data-offline-saved]");
  const offlinePage = document.querySelector("[data-offline-page]");
  let waiting = 0;

  function t(key, values) {
    return (root.dataset["t" + key] || "").replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? values[name] : all));
  }

  function when(ms) {
    return new Date(ms).toLocaleString(document.documentElement.lang || undefined, {
      weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
    });
  }

  function ask(message) {
    return worker.ready.then((registration) => new Promise((resolve) => {
      const channel = new MessageChannel();
      const timer = setTimeout(() => resolve(null), 30000);
      channel.port1.onmessage = (event) => { clearTimeout(timer); resolve(event.data); };
      (worker.controller || registration.active).postMessage(message, [channel.port2]);
    }));
  }

  function controlled() {
    if (worker.controller) return Promise.resolve();
    const change = new Promise((resolve) => worker.addEventListener("controllerchange", resolve, { once: true }));
    // A page whose load began while the worker was still installing missed its first claim: ask again.
    ask({ type: "claim" });
    return change;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function dismissButton(store, clientId) {
    const button = el("button", "", t("Ok"));
    button.type = "button";
    button.addEventListener("click", () => ask({ type: "dismiss", store, clientId }).then(refresh));
    return button;
  }

  function render(state) {
    root.textContent = "";
    if (!state || state.error) return;
    for (const entry of state.sent) {
      if (entry.resultUrl && new URL(entry.resultUrl).pathname === window.location.pathname) {
        ask({ type: "dismiss", store: "sent", clientId: entry.clientId }); // this is its result: seen
        continue;
      }
      const box = el("div", "notice sent");
      box.append(el("p", "", t("Sent", { time: when(entry.madeAt) })));
      if (entry.resultUrl) {
        const link = el("a", "button primary", t("See"));
        link.href = entry.resultUrl;
        box.append(link, " ");
      }
      box.append(dismissButton("sent", entry.clientId));
      root.append(box);
    }
    for (const entry of state.failed) {
      const box = el("div", "notice failed");
      box.setAttribute("role", "alert");
      const what = entry.summary ? `${when(entry.madeAt)}, ${entry.summary}` : when(entry.madeAt);
      box.append(el("p", "", t("Failed", { time: what })));
      const reasons = entry.code === "rejected" || !entry.messages.length ? [t("Rejected")] : entry.messages;
      const list = el("ul");
      for (const reason of reasons) list.append(el("li", "", reason));
      box.append(list, el("p", "", t("Again")), dismissButton("failed", entry.clientId));
      root.append(box);
    }
    waiting = state.queue.length;
    if (waiting && (!offlinePage || state.needsSignIn)) {
      const box = el("div", "notice pending");
      box.setAttribute("role", "status");
      if (!signedIn || state.needsSignIn) {
        // The session ended (signed out, or idle too long): the check-in waits until she signs in again.
        box.append(el("p", "", t("SignIn")));
        if (root.dataset.login && window.location.pathname !== root.dataset.login) {
          const link = el("a", "button primary", t("SignInButton"));
          // Back to "saved on this phone" after signing in: it opens the result as soon as the check-in is sent.
          const next = new URL(state.queue[0].url).pathname.replace(/\/checkin\/$/, "/offline/?saved=1");
          link.href = `${root.dataset.login}?next=${encodeURIComponent(next)}`;
          box.append(link);
        }
      } else {
        box.append(el("p", "", waiting === 1 ? t("Pending") : t("PendingMany", { count: waiting })));
      }
      if (signedIn && !state.needsSignIn && navigator.onLine) {
        const button = el("button", "", t("SendNow"));
        button.type = "button";
        button.addEventListener("click", send);
        box.append(button);
      }
      root.append(box);
    }
  }

  function refresh() {
    return ask({ type: "status" }).then(render);
  }

  function send(event, retries) {
    if (!signedIn) return Promise.resolve();
    const left = retries === undefined ? 5 : retries;
    return ask({ type: "flush" }).then((reply) => {
      // Just back online, the network may not carry requests yet: try again soon rather than in 30 s.
      if (reply && reply.state === "offline" && navigator.onLine && left > 0) setTimeout(() => send(null, left - 1), 2000);
      return refresh();
    });
  }

  function showConnection() {
    for (const node of document.querySelectorAll("[data-while-offline]")) node.hidden = navigator.onLine;
  }
  showConnection();
  window.addEventListener("online", showConnection);
  // "No connection" in place of another page: back online, show the page itself, once what waited on the phone
  // has been sent (so the page counts it; the notice links to its result). The `online` event can come before
  // the connection carries requests: then try again shortly.
  function reloadWhenReachable(tries) {
    ask({ type: "flush", probe: window.location.href }).then((reply) => {
      if (reply && reply.state !== "offline") window.location.reload();
      else if (tries > 1 && navigator.onLine) setTimeout(() => reloadWhenReachable(tries - 1), 2000);
    });
  }
  if (offlinePage && !savedPage) window.addEventListener("online", () => reloadWhenReachable(10));
  window.addEventListener("offline", showConnection);

  worker.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.type === "sent" && savedPage && data.resultUrl) {
      window.location.replace(data.resultUrl); // the result says how urgent it is and what to do
      return;
    }
    refresh();
  });

  if (signedIn) {
    worker.register(root.dataset.sw, { scope: "/" }).catch(() => null);
    const urls = (root.dataset.warm || "").split(" ").filter(Boolean);
    if (urls.length) {
      Promise.all([controlled(), ask({ type: "warm", urls, lang: document.documentElement.lang })]).then(([, reply]) => {
        if (!reply || !reply.ok) return;
        document.documentElement.dataset.offlineReady = "true";
        for (const node of document.querySelectorAll("[data-offline-ready]")) node.hidden = false;
      });
    }
    window.addEventListener("online", send);
    setInterval(() => { if (waiting && navigator.onLine) send(); }, 30000);
  }
  if (worker.controller || signedIn) (navigator.onLine && signedIn ? send() : refresh());
})();
