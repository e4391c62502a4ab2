/* CAR T Tracker service worker: the patient's check-in page works without a connection.
 *
 * Served by tracker.offline.service_worker at /sw.js (scope "/"), which puts self.SW_CONFIG in front of this
 * file: {version, precache: [static URLs], staticUrl, loginPath, logoutPath}.
 *
 * - Static files: cached at install (the URLs the server names) and on use; served from the cache, refreshed
 *   in the background.
 * - Patient pages: the check-in page (network first, the cached copy when there is no connection or the
 *   network takes too long) and the offline pages with the emergency signs, cached when the patient's pages
 *   ask (message "warm"). Navigations that fail with no connection get the cached copy or the offline page.
 * - A check-in POST that cannot reach the server is stored in IndexedDB (its form, CSRF token and client_id
 *   included, and the time it was made) and answered with the cached "saved on this phone" page.
 * - The queue is sent when the connection returns: the page's `online` event (message "flush"), the next
 *   successful navigation, and Background Sync where the browser has it. One sender at a time; an entry is
 *   removed only when the server took it (a redirect to its result), or refused it for good (400 with the
 *   reasons, kept in "failed" to be shown to the patient; 403/404/409). The client_id makes a resend
 *   harmless: the server answers a known id with the check-in it already has.
 * - Signing out deletes the cached pages (they name the patient).
 */
"use strict";

const CONFIG = self.SW_CONFIG || {
  version: "dev", precache: [], staticUrl: "/static/", loginPath: "/accounts/login/", logoutPath: "/accounts/logout/",
};
const STATIC_CACHE = "cart-static-v1";
const PAGES_CACHE = "cart-pages-v1";
const DB_NAME = "cart-offline";
const STORES = ["queue", "failed", "sent"];
const QUEUE_HEADER = "X-Checkin-Queue";
const SYNC_TAG = "send-checkins";
const NAVIGATION_TIMEOUT_MS = 10000; // then the cached copy, while the network answer still refreshes it
const POST_TIMEOUT_MS = 30000; // then the check-in is queued; if the server did get it, the resend is a replay
const PAGE_MAX_AGE_MS = 6 * 60 * 60 * 1000;
const SENT_KEEP_MS = 24 * 60 * 60 * 1000;

const PATIENT_PAGE = /^\/patients\/([0-9a-f-]{36})\/(checkin|offline)\/$/;
const CHECKIN_PAGE = /^\/patients\/([0-9a-f-]{36})\/checkin\/$/;
const CHECKIN_RESULT = /^\/patients\/[0-9a-f-]{36}\/checkins\/[0-9a-f-]{36}\/$/;

// --- IndexedDB -------------------------------------------------------------------------------------------

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      for (const name of STORES) {
        if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name, { keyPath: "clientId" });
      }
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStores(names, mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(names, mode);
      let result;
      const request = work(...names.map((name) => transaction.objectStore(name)));
      if (request) request.onsuccess = () => { result = request.result; };
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

const db = {
  all: (store) => withStores([store], "readonly", (s) => s.getAll()),
  put: (store, value) => withStores([store], "readwrite", (s) => s.put(value)),
  remove: (store, key) => withStores([store], "readwrite", (s) => s.delete(key)),
  // Move an entry out of the queue into another store in one transaction: never in both, never in neither.
  move: (entry, to, extra) => withStores(["queue", to], "readwrite", (queue, target) => {
    queue.delete(entry.clientId);
    target.put(Object.assign({}, entry, extra));
  }),
};

// --- Caches ----------------------------------------------------------------------------------------------

async function putPage(url, response) {
  // Keep what the page needs to render under the same policy (CSP), and when and in which language it was cached.
  const headers = new Headers();
  for (const name of ["Content-Type", "Content-Security-Policy", "Content-Language"]) {
    if (response.headers.has(name)) headers.set(name, response.headers.get(name));
  }
  headers.set("X-SW-Cached-At", String(Date.now()));
  headers.set("X-SW-Version", CONFIG.version);
  const body = await response.blob();
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(url, new Response(body, { status: 200, headers }));
}

async function cachedPage(url) {
  const cache = await caches.open(PAGES_CACHE);
  return cache.match(url, { ignoreVary: true });
}

function isFresh(response, lang) {
  if (!response) return false;
  const age = Date.now() - Number(response.headers.get("X-SW-Cached-At") || 0);
  const sameLang = !lang || !response.headers.get("Content-Language") || response.headers.get("Content-Language") === lang;
  return age < PAGE_MAX_AGE_MS && response.headers.get("X-SW-Version") === CONFIG.version && sameLang;
}

async function warm(urls, lang) {
  // Fetch (with the session) the patient's pages that are missing, old, or in another language.
  for (const url of urls) {
    if (isFresh(await cachedPage(url), lang)) continue;
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (response.ok && !response.redirected) await putPage(url, response);
  }
}

function offlineUrl(path, saved) {
  const match = PATIENT_PAGE.exec(path) || /^\/patients\/([0-9a-f-]{36})\//.exec(path);
  if (!match) return null;
  return new URL(`/patients/${match[1]}/offline/${saved ? "?saved=1" : ""}`, self.location.origin).href;
}

async function anyOfflinePage(saved) {
  const cache = await caches.open(PAGES_CACHE);
  for (const request of await cache.keys()) {
    const url = new URL(request.url);
    if (/\/offline\/$/.test(url.pathname) && (url.search === "?saved=1") === saved) return cache.match(request);
  }
  return null;
}

async function offlineAnswer(path, saved) {
  const own = offlineUrl(path, saved);
  const page = (own && (await cachedPage(own))) || (await anyOfflinePage(saved));
  if (page) return page;
  // Nothing cached for this patient yet: the minimum, in both languages of the site.
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline</title></head><body>
<h1>No connection / Sin conexión</h1>
${saved ? "<p>Your check-in is saved on this phone and will be sent when you are back online.<br>Su registro está guardado en este teléfono y se enviará cuando vuelva a tener conexión.</p>" : ""}
<p><strong>Emergency? <a href="tel:911">Call 911</a> now, then your care team.<br>¿Emergencia? <a href="tel:911">Llame al 911</a> ahora y después a su equipo de atención.</strong></p>
</body></html>`;
  return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

// --- Install, activate -----------------------------------------------------------------------------------

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(STATIC_CACHE);
    // One missing file must not stop the worker from installing.
    await Promise.all(CONFIG.precache.map((url) => cache.add(new Request(url, { cache: "reload" })).catch(() => null)));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const keep = new Set([STATIC_CACHE, PAGES_CACHE]);
    for (const name of await caches.keys()) {
      if (name.startsWith("cart-") && !keep.has(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// --- Fetch -----------------------------------------------------------------------------------------------

function timeout(promise, ms) {
  return Promise.race([promise, new Promise((resolve) => setTimeout(() => resolve(null), ms))]);
}

async function staticAsset(event) {
  const cache = await caches.open(STATIC_CACHE);
  const cached = await cache.match(event.request);
  const network = fetch(event.request).then(async (response) => {
    if (response.ok) await cache.put(event.request, response.clone());
    return response;
  });
  if (cached) {
    event.waitUntil(network.catch(() => null));
    return cached;
  }
  return network;
}

async function navigate(event) {
  const request = event.request;
  const path = new URL(request.url).pathname;
  const cacheable = PATIENT_PAGE.test(path);
  const cached = cacheable ? await cachedPage(request.url) : undefined;
  const network = fetch(request);
  const refresh = network.then(async (response) => {
    if (cacheable && response.ok && response.type === "basic" && !response.redirected) await putPage(request.url, response.clone());
    return response;
  });
  try {
    const response = cached ? await timeout(refresh, NAVIGATION_TIMEOUT_MS) : await refresh;
    if (response === null) {
      event.waitUntil(refresh.catch(() => null));
      return cached;
    }
    event.waitUntil(flushIfQueued());
    return response;
  } catch (error) {
    return cached || offlineAnswer(path, false);
  }
}

function formEntry(url, fields) {
  const pairs = Array.from(fields.entries()).filter(([, value]) => typeof value === "string");
  let clientId = (pairs.find(([name]) => name === "client_id") || [])[1];
  if (!clientId) {
    clientId = self.crypto.randomUUID();
    pairs.push(["client_id", clientId]);
  }
  const typedTime = pairs.some(([name, value]) => name === "recorded_at" && value.trim() !== "");
  // The time it was made: a typed time (staff) is kept; otherwise the time is set when it is sent, from the
  // server's clock less the time it waited, so a phone with a wrong clock still dates it right.
  return { clientId, url, fields: pairs, madeAt: Date.now(), autoTime: !typedTime, attempts: 0 };
}

async function sendOrQueue(event) {
  const request = event.request;
  const fields = await request.clone().formData();
  const sending = fetch(request);
  sending.catch(() => null); // after a timeout its failure is nobody's business: the queued copy is sent later
  try {
    const response = await timeout(sending, POST_TIMEOUT_MS);
    if (response !== null) {
      event.waitUntil(flushIfQueued());
      return response;
    }
  } catch (error) {
    // No connection: queue it below.
  }
  const entry = formEntry(request.url, fields);
  await db.put("queue", entry);
  if (self.registration.sync) self.registration.sync.register(SYNC_TAG).catch(() => null);
  broadcast({ type: "queued", clientId: entry.clientId });
  return offlineAnswer(new URL(request.url).pathname, true);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && request.method === "POST") {
    if (CHECKIN_PAGE.test(url.pathname)) event.respondWith(sendOrQueue(event));
    else if (url.pathname === CONFIG.logoutPath) event.waitUntil(caches.delete(PAGES_CACHE));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") event.respondWith(navigate(event));
  else if (url.pathname.startsWith(CONFIG.staticUrl)) event.respondWith(staticAsset(event));
});

// --- Sending the queue -----------------------------------------------------------------------------------

let flushing = null;

function flush() {
  if (!flushing) flushing = sendQueue().finally(() => { flushing = null; });
  return flushing;
}

async function flushIfQueued() {
  if ((await db.all("queue")).length) await flush();
}

async function broadcast(message) {
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) client.postMessage(message);
}

function csrfToken(html) {
  const match = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html);
  return match ? match[1] : null;
}

async function sendOne(entry) {
  // A fresh page first: a current CSRF token (the cached one may be from an older session), proof that the
  // session still holds (else it is the sign-in page), and the server's clock.
  const page = await fetch(entry.url, { credentials: "same-origin", cache: "no-store" });
  if (new URL(page.url).pathname === CONFIG.loginPath) return { kind: "sign-in" };
  if (page.status === 404 || page.status === 403) return { kind: "failed", code: "rejected" };
  if (!page.ok) return { kind: "retry" };
  const html = await page.text();
  await putPage(entry.url, new Response(html, { headers: page.headers }));
  const token = csrfToken(html);
  const serverNow = Date.parse(page.headers.get("Date") || "");
  const made = Number.isNaN(serverNow) ? entry.madeAt : serverNow - Math.max(0, Date.now() - entry.madeAt);

  const body = new URLSearchParams();
  for (const [name, value] of entry.fields) {
    if (name === "csrfmiddlewaretoken" && token) body.append(name, token);
    else if (name === "recorded_at" && entry.autoTime) continue;
    else body.append(name, value);
  }
  if (entry.autoTime) body.append("recorded_at", new Date(made).toISOString());
  const response = await fetch(entry.url, {
    method: "POST", body, credentials: "same-origin", redirect: "follow", headers: { [QUEUE_HEADER]: "1" },
  });
  const landed = new URL(response.url).pathname;
  if (landed === CONFIG.loginPath) return { kind: "sign-in" };
  if (response.ok && response.redirected && CHECKIN_RESULT.test(landed)) return { kind: "sent", resultUrl: response.url };
  if (response.status === 400) {
    let messages = [];
    try {
      const data = await response.json();
      messages = Object.values(data.fields || {}).flat().map(String);
      if (!messages.length && data.detail) messages = [String(data.detail)];
    } catch (error) {
      messages = [];
    }
    return { kind: "failed", code: "invalid", messages };
  }
  if (response.status === 409) return { kind: "sent", resultUrl: null }; // already there
  if (response.status === 403 || response.status === 404) return { kind: "failed", code: "rejected" };
  return { kind: "retry" }; // 429, 5xx: later
}

async function sendQueue() {
  const entries = (await db.all("queue")).sort((a, b) => a.madeAt - b.madeAt);
  let state = "done";
  for (const entry of entries) {
    let outcome;
    try {
      outcome = await sendOne(entry);
    } catch (error) {
      state = "offline"; // the network went away again: keep everything
      await db.put("queue", Object.assign({}, entry, { lastOutcome: state }));
      break;
    }
    if (outcome.kind === "sent") {
      await db.move(entry, "sent", { resultUrl: outcome.resultUrl, sentAt: Date.now() });
      broadcast({ type: "sent", clientId: entry.clientId, resultUrl: outcome.resultUrl, madeAt: entry.madeAt });
    } else if (outcome.kind === "failed") {
      await db.move(entry, "failed", { code: outcome.code, messages: outcome.messages || [], failedAt: Date.now() });
      broadcast({ type: "failed", clientId: entry.clientId });
    } else {
      state = outcome.kind; // "sign-in" or "retry": stop here, keep this one and those after it
      await db.put("queue", Object.assign({}, entry, { attempts: entry.attempts + 1, lastTry: Date.now(), lastOutcome: state }));
      broadcast({ type: outcome.kind });
      break;
    }
  }
  return state;
}

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(flush().then((state) => {
    if (state === "offline" || state === "retry") throw new Error("check-ins still waiting"); // the browser tries again
  }));
});

// --- Messages from the pages -----------------------------------------------------------------------------

async function status() {
  const now = Date.now();
  const sent = [];
  for (const entry of await db.all("sent")) {
    if (now - entry.sentAt > SENT_KEEP_MS) await db.remove("sent", entry.clientId);
    else sent.push(entry);
  }
  const field = (entry, name) => (entry.fields.find(([key]) => key === name) || [])[1];
  const summary = (entry) => (field(entry, "temperature") ? `${field(entry, "temperature")} °${field(entry, "temperature_unit") || ""}` : "");
  const strip = (entry) => ({ clientId: entry.clientId, madeAt: entry.madeAt, url: entry.url, summary: summary(entry) });
  const queue = await db.all("queue");
  return {
    needsSignIn: queue.some((entry) => entry.lastOutcome === "sign-in"),
    queue: queue.map(strip),
    failed: (await db.all("failed")).map((e) => Object.assign(strip(e), { code: e.code, messages: e.messages })),
    sent: sent.map((e) => Object.assign(strip(e), { resultUrl: e.resultUrl })),
  };
}

async function answer(data) {
  switch (data && data.type) {
    case "warm":
      await warm(data.urls || [], data.lang);
      return { ok: true };
    case "flush": {
      let state = await flush();
      if (state === "done" && data.probe) {
        // Nothing was waiting, so nothing proved the connection: is the page itself reachable?
        state = await fetch(data.probe, { method: "HEAD", credentials: "same-origin", cache: "no-store" })
          .then(() => "done", () => "offline");
      }
      return { state };
    }
    case "status":
      return status();
    case "claim":
      await self.clients.claim();
      return { ok: true };
    case "dismiss":
      if (data.store === "failed" || data.store === "sent") await db.remove(data.store, data.clientId);
      return { ok: true };
    default:
      return { error: "unknown message" };
  }
}

self.addEventListener("message", (event) => {
  const port = event.ports && event.ports[0];
  event.waitUntil(answer(event.data).then(
    (reply) => port && port.postMessage(reply),
    (error) => port && port.postMessage({ error: String(error) }),
  ));
});
