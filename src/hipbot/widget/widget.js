/*!
 * hipbot storefront chat widget: one file, no dependencies, no build step.
 *
 * Embed it with one tag, anywhere in the page:
 *   <script src="https://BOT-HOST/widget.js" data-api="https://BOT-HOST" async></script>
 *
 * Data attributes on that tag (all optional):
 *   data-api       base URL of the hipbot server (default: the origin widget.js was loaded from)
 *   data-title     the panel's title                       (default "Hip pain questions")
 *   data-label     the launcher button's label             (default "Ask about hip pain")
 *   data-accent    accent colour, #rgb or #rrggbb          (default #0f766e; text on it is picked for contrast)
 *   data-position  "right" or "left": the corner it sits in (default right)
 *   data-greeting  the first message in the panel
 *   data-starters  starter questions separated by "|"      (data-starters="" shows none)
 *   data-timeout   seconds to wait for an answer           (default 30)
 *
 * The script defines one custom element, <hipbot-chat>, and adds one to the page; everything else lives
 * in its Shadow DOM, so the store's CSS and the widget's never touch. The conversation is kept in
 * sessionStorage (this tab only, never localStorage: it is health information). Text from the server is
 * always set with textContent / createElement: nothing it sends is ever parsed as HTML.
 */
(() => {
  "use strict";

  const TAG = "hipbot-chat";
  if (!window.customElements || customElements.get(TAG)) return;
  const SCRIPT = document.currentScript;

  const MAX_CHARS = 2000; // what POST /api/chat accepts
  const COUNTER_FROM = 1800; // show the character count from here on
  const MAX_HISTORY = 20; // earlier turns sent with each question
  const MAX_TURN_CHARS = 8000;
  const MAX_SAVED = 60; // entries kept in sessionStorage
  const SMALL_SCREEN = "(max-width: 600px), (max-height: 500px)";

  const DEFAULTS = {
    title: "Hip pain questions",
    label: "Ask about hip pain",
    accent: "#0f766e",
    greeting:
      "Hi! Ask me about hip pain, tight hip flexors, sciatica or back pain. " +
      "I answer from this store's articles and show where each answer comes from.",
    starters: [
      "Why do my hips hurt after a long drive?",
      "How should I sit with sciatica?",
      "Which stretches help tight hip flexors?",
    ],
    disclaimer:
      "General information from the store's articles, not medical advice. " +
      "In an emergency, call your local emergency number.",
    timeout: 30,
  };

  const ERRORS = {
    network: "I can't reach the assistant right now. Check your connection, then try again.",
    timeout: "The assistant is taking too long to answer. Please try again.",
    server: "Something went wrong on the assistant's side. Please try again in a moment.",
    busy: "The assistant is busy right now. Please wait a moment, then try again.",
    invalid: "That question couldn't be sent",
    refused: "Sorry, the chat is unavailable on this page.",
  };

  /* ---------------------------------------------------------------- small helpers */

  /** Create an element; attributes are set as attributes, "text" as textContent, "on…" as listeners. */
  function h(tag, attrs = {}, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child != null && child !== false) el.append(child); // strings become text nodes
    }
    return el;
  }

  const ICONS = {
    chat: "M21 12a8 8 0 0 1-11.6 7.1L4 20l1.1-4.4A8 8 0 1 1 21 12z",
    close: "M6 6l12 12M18 6 6 18",
    send: "M5 12h13M12 5l7 7-7 7",
    alert: "M12 3.5 22 20.5H2L12 3.5zM12 10v4.5M12 17.5v.01",
    info: "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 11v5.5M12 7.5v.01",
    chevron: "m9 6 6 6-6 6",
  };

  function icon(name, className = "icon") {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", className);
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  /* WCAG contrast, so any accent colour a store picks keeps its text readable. */
  function parseHex(value) {
    const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
    if (!match) return null;
    const hex = match[1].length === 3 ? [...match[1]].map((c) => c + c).join("") : match[1];
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  }
  function luminance(rgb) {
    const [r, g, b] = rgb.map((c) => {
      const v = c / 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }
  const toCss = (rgb) => `rgb(${rgb.map(Math.round).join(", ")})`;

  /** The accent, the text colour on it, and an "ink" version dark enough for text on white. */
  function palette(accent) {
    const white = [255, 255, 255];
    const dark = [17, 24, 39];
    const base = parseHex(accent) || parseHex(DEFAULTS.accent);
    const onAccent = contrast(base, white) >= contrast(base, dark) ? white : dark;
    let ink = base;
    for (let i = 0; i < 20 && contrast(ink, white) < 5; i++) ink = ink.map((c) => c * 0.88);
    return { accent: toCss(base), onAccent: toCss(onAccent), ink: toCss(ink) };
  }

  /** Only http(s) links are shown, resolved against the page; anything else (javascript: …) is dropped. */
  function safeUrl(value) {
    if (typeof value !== "string" || !value.trim()) return null;
    try {
      const url = new URL(value, location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  const str = (value) => (typeof value === "string" ? value : value == null ? "" : String(value));

  /** A reply shaped like the API contract, whatever the server or sessionStorage handed over. */
  function normaliseReply(body) {
    if (!body || typeof body !== "object" || typeof body.answer !== "string") return null;
    const safety = body.safety && typeof body.safety === "object" ? body.safety : {};
    const level = ["none", "caution", "urgent"].includes(safety.level) ? safety.level : "none";
    return {
      answer: body.answer,
      passages: (Array.isArray(body.passages) ? body.passages : [])
        .filter((p) => p && typeof p === "object")
        .map((p, i) => ({
          n: Number.isInteger(p.n) ? p.n : i + 1,
          title: str(p.title),
          section: str(p.section),
          text: str(p.text),
          url: safeUrl(p.url),
        })),
      safety: { level, message: str(safety.message) },
      in_scope: body.in_scope !== false,
      coverage: ["direct", "partial", "none"].includes(body.coverage) ? body.coverage : "direct",
      disclaimer: str(body.disclaimer),
      suggestions: (Array.isArray(body.suggestions) ? body.suggestions : []).map(str).filter(Boolean).slice(0, 3),
    };
  }

  class ChatError extends Error {
    constructor(kind, detail = "") {
      super(kind);
      this.kind = kind;
      this.detail = detail;
    }
  }

  /* ---------------------------------------------------------------- styles */

  const CSS = `
:host { all: initial; }
.hb {
  --hb-text: #1f2937; --hb-muted: #4b5563; --hb-line: #d1d5db; --hb-soft: #f3f4f6;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; font-weight: 400; font-style: normal; color: var(--hb-text);
  letter-spacing: normal; word-spacing: normal; text-align: left; text-transform: none; text-indent: 0;
  text-shadow: none; white-space: normal; direction: ltr; visibility: visible; cursor: auto;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button, textarea, a { font: inherit; color: inherit; letter-spacing: inherit; }
button { cursor: pointer; }
.icon { width: 20px; height: 20px; flex: none; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
:focus-visible { outline: 3px solid var(--hb-ink); outline-offset: 2px; }

.launcher { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; display: inline-flex;
  align-items: center; gap: 8px; margin: 0; padding: 12px 18px; border: 0; border-radius: 999px;
  background: var(--hb-accent); color: var(--hb-on-accent); font-size: 15px; font-weight: 600;
  box-shadow: 0 6px 20px rgba(0, 0, 0, .25); }
.launcher:hover { box-shadow: 0 8px 26px rgba(0, 0, 0, .35); }
.launcher:focus-visible { outline: 3px solid #111827; outline-offset: 3px; box-shadow: 0 0 0 3px #fff; }
.left .launcher { right: auto; left: 20px; }

.panel { position: fixed; bottom: 88px; right: 20px; z-index: 2147483001; display: flex;
  flex-direction: column; width: 380px; max-width: calc(100vw - 40px);
  height: min(640px, calc(100vh - 110px)); background: #fff; border-radius: 14px; overflow: hidden;
  box-shadow: 0 14px 44px rgba(0, 0, 0, .28), 0 0 0 1px rgba(0, 0, 0, .08); }
.left .panel { right: auto; left: 20px; }

.head { display: flex; align-items: center; gap: 4px; padding: 10px 8px 10px 16px;
  background: var(--hb-accent); color: var(--hb-on-accent); }
.head h2 { flex: 1; min-width: 0; margin: 0; font-size: 16px; font-weight: 700; line-height: 1.3; color: inherit; }
.head button { display: inline-flex; align-items: center; margin: 0; padding: 6px 8px; border: 0;
  border-radius: 6px; background: transparent; color: inherit; font-size: 13px; }
.head .clear { text-decoration: underline; text-underline-offset: 2px; }
.head button:hover:not(:disabled) { background: rgba(127, 127, 127, .25); }
.head button:disabled { opacity: .6; cursor: default; text-decoration: none; }
.head :focus-visible { outline-color: var(--hb-on-accent); outline-offset: -2px; }

.disclaimer { display: flex; gap: 8px; margin: 0; padding: 8px 16px; background: var(--hb-soft);
  color: #374151; font-size: 12.5px; line-height: 1.4; border-bottom: 1px solid #e5e7eb; }
.disclaimer .icon { width: 16px; height: 16px; margin-top: 1px; color: var(--hb-muted); }

.log { position: relative; flex: 1; display: flex; flex-direction: column; gap: 12px; padding: 16px;
  overflow-y: auto; overscroll-behavior: contain; background: #fff; }
.msg { max-width: 88%; padding: 10px 12px; border-radius: 12px; overflow-wrap: anywhere; }
.msg p { margin: 0; white-space: pre-line; }
.user { align-self: flex-end; background: var(--hb-accent); color: var(--hb-on-accent);
  border-bottom-right-radius: 4px; }
.user p { white-space: pre-wrap; }
.bot { align-self: flex-start; background: var(--hb-soft); color: #111827; border-bottom-left-radius: 4px; }
.bot.answer { max-width: 100%; }
.cite { margin: 0 1px; padding: 0 1px; border: 0; background: none; color: var(--hb-ink);
  font-size: .85em; font-weight: 700; text-decoration: underline; text-underline-offset: 2px; }

.caution { display: flex; gap: 8px; margin: 0 0 10px; padding: 8px 10px; border-left: 4px solid #b45309;
  border-radius: 6px; background: #fffbeb; color: #78350f; font-weight: 600; }
.urgent { max-width: 100%; display: flex; gap: 10px; background: #fef2f2; color: #7f1d1d;
  border: 1px solid #fca5a5; border-left: 5px solid #b91c1c; font-weight: 600; }
.urgent .icon { width: 24px; height: 24px; color: #b91c1c; }
.note { display: flex; gap: 8px; background: #fff; color: #374151; border: 1px dashed #9ca3af; }
.coverage-note { margin: 0 0 8px; padding: 6px 8px; border-left: 4px solid #6b7280; background: #f3f4f6;
  color: #1f2937; font-style: italic; }
.msg-group { display: flex; flex-direction: column; gap: 8px; }
.note .icon { color: var(--hb-muted); }
.error { align-self: stretch; max-width: 100%; display: flex; flex-wrap: wrap; align-items: center; gap: 8px;
  background: #fff1f2; color: #881337; border: 1px solid #fda4af; }
.error p { flex: 1 1 200px; }
.retry { padding: 6px 12px; border: 0; border-radius: 8px; background: var(--hb-accent);
  color: var(--hb-on-accent); font-size: 14px; font-weight: 600; }

.sources { margin-top: 10px; }
.sources-title { margin: 0 0 6px; color: var(--hb-muted); font-size: 12px; font-weight: 700;
  letter-spacing: .04em; text-transform: uppercase; }
.sources ol { display: flex; flex-direction: column; gap: 6px; margin: 0; padding: 0; list-style: none; }
.sources details { background: #fff; border: 1px solid var(--hb-line); border-radius: 8px; }
.sources summary { display: flex; align-items: flex-start; gap: 8px; padding: 7px 10px; font-size: 13.5px;
  line-height: 1.35; list-style: none; cursor: pointer; border-radius: 8px; }
.sources summary::-webkit-details-marker { display: none; }
.sources summary .icon { width: 16px; height: 16px; margin: 2px 0 0 auto; color: var(--hb-muted);
  transition: transform .15s; }
.sources details[open] summary .icon { transform: rotate(90deg); }
.num { flex: none; display: inline-grid; place-items: center; min-width: 20px; height: 20px; padding: 0 5px;
  border-radius: 999px; background: var(--hb-accent); color: var(--hb-on-accent); font-size: 12px; font-weight: 700; }
.src-title { display: block; font-weight: 600; color: #111827; }
.src-section { display: block; color: var(--hb-muted); font-size: 12.5px; }
.src-body { padding: 0 10px 10px 38px; font-size: 13.5px; }
.src-body blockquote { margin: 0; padding-left: 10px; border-left: 3px solid var(--hb-line); color: #374151;
  white-space: pre-line; }
.src-body a { display: inline-block; margin-top: 6px; color: var(--hb-ink); font-weight: 600; }

.chips { align-self: stretch; display: flex; flex-wrap: wrap; gap: 6px; }
.chips-label { width: 100%; margin: 0; color: var(--hb-muted); font-size: 12.5px; }
.chip { margin: 0; padding: 6px 12px; border: 1px solid var(--hb-ink); border-radius: 999px; background: #fff;
  color: var(--hb-ink); font-size: 13.5px; line-height: 1.3; text-align: left; }
.chip:hover { background: var(--hb-soft); }

.typing { display: inline-flex; align-items: center; gap: 5px; padding: 14px; }
.dot { width: 7px; height: 7px; border-radius: 50%; background: #6b7280; animation: hb-bounce 1.2s infinite ease-in-out; }
.dot:nth-child(2) { animation-delay: .15s; }
.dot:nth-child(3) { animation-delay: .3s; }
@keyframes hb-bounce { 0%, 80%, 100% { transform: translateY(0); opacity: .45; } 40% { transform: translateY(-4px); opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .dot { animation: none; } .sources summary .icon { transition: none; } }

.composer { display: grid; grid-template-columns: 1fr auto; align-items: end; gap: 8px; margin: 0;
  padding: 10px 12px 12px; border-top: 1px solid #e5e7eb; background: #fff; }
.composer textarea { display: block; width: 100%; min-height: 44px; max-height: 140px; margin: 0;
  padding: 10px 12px; border: 1px solid #6b7280; border-radius: 10px; background: #fff; color: #111827;
  font-size: 16px; line-height: 1.4; resize: none; }
.composer textarea::placeholder { color: #6b7280; opacity: 1; }
.composer textarea:focus-visible { outline: 2px solid var(--hb-ink); outline-offset: 0; border-color: var(--hb-ink); }
.send { display: grid; place-items: center; width: 44px; height: 44px; margin: 0; padding: 0; border: 0;
  border-radius: 10px; background: var(--hb-accent); color: var(--hb-on-accent); }
.send[aria-disabled="true"] { opacity: .45; cursor: default; }
.counter { grid-column: 1 / -1; margin: 0; color: var(--hb-muted); font-size: 12px; text-align: right; }
.counter.at-limit { color: #b91c1c; font-weight: 600; }

@media ${SMALL_SCREEN} {
  .panel, .left .panel { inset: 0; width: 100%; max-width: none; height: 100%; height: 100dvh; border-radius: 0; }
  .open .launcher { display: none; }
  .launcher, .left .launcher { bottom: 16px; }
}
`;

  function applyStyles(root) {
    if ("adoptedStyleSheets" in Document.prototype && "replaceSync" in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet(); // not subject to a page's inline-style CSP
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("style", { text: CSS }));
    }
  }

  /* ---------------------------------------------------------------- the element */

  const scriptOrigin = (() => {
    try {
      return SCRIPT && SCRIPT.src ? new URL(SCRIPT.src, location.href).origin : location.origin;
    } catch {
      return location.origin;
    }
  })();

  function readConfig(el) {
    const d = el.dataset;
    const starters =
      d.starters === undefined
        ? DEFAULTS.starters
        : d.starters.split("|").map((s) => s.trim()).filter(Boolean).slice(0, 5);
    const timeout = Number(d.timeout);
    return {
      api: (d.api || scriptOrigin).trim().replace(/\/+$/, ""),
      title: d.title || DEFAULTS.title,
      label: d.label || DEFAULTS.label,
      accent: parseHex(d.accent) ? d.accent : DEFAULTS.accent,
      position: d.position === "left" ? "left" : "right",
      greeting: d.greeting || DEFAULTS.greeting,
      starters,
      timeout: timeout > 0 ? timeout : DEFAULTS.timeout,
    };
  }

  class HipbotChat extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      this.entries = []; // [{role: "user", text} | {role: "bot", reply}], completed pairs only
      this.disclaimerText = DEFAULTS.disclaimer;
      this.isOpen = false;
      this.pending = null; // the AbortController of the request in flight
      this.generation = 0; // bumped by "clear conversation" so a late reply is dropped
      this.lockedStyles = null;
      this.media = window.matchMedia(SMALL_SCREEN);
      this.onMediaChange = () => this.syncSmallScreen();
    }

    connectedCallback() {
      if (!this.built) {
        this.built = true;
        this.config = readConfig(this);
        if (this.dataset.accent && !parseHex(this.dataset.accent)) {
          console.warn(`hipbot: data-accent must be #rgb or #rrggbb, not ${this.dataset.accent}`);
        }
        this.storageKey = `hipbot:${this.config.api}`;
        this.build();
        this.restore();
      }
      this.media.addEventListener("change", this.onMediaChange);
    }

    disconnectedCallback() {
      this.media.removeEventListener("change", this.onMediaChange);
      this.unlockScroll();
    }

    /* ---- layout */

    build() {
      const { config } = this;
      applyStyles(this.shadowRoot);
      const colours = palette(config.accent);

      this.launcher = h(
        "button",
        { type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "hb-panel",
          onclick: () => (this.isOpen ? this.close() : this.open()) },
        icon("chat"),
        h("span", { text: config.label }),
      );

      this.clearButton = h("button", { type: "button", class: "clear", text: "Clear conversation",
        onclick: () => this.clear() });
      this.disclaimerEl = h("span", { text: this.disclaimerText });
      this.log = h("div", { class: "log", role: "region", "aria-label": "Conversation", tabindex: "0" });
      this.input = h("textarea", {
        id: "hb-input", rows: "1", maxlength: String(MAX_CHARS), placeholder: "Type your question…",
        "aria-describedby": "hb-counter", autocomplete: "off",
        oninput: () => this.onInput(), onkeydown: (event) => this.onInputKey(event),
      });
      this.sendButton = h("button", { type: "submit", class: "send", "aria-label": "Send question",
        "aria-disabled": "true" }, icon("send"));
      this.counter = h("p", { id: "hb-counter", class: "counter", hidden: true });
      this.announcer = h("div", { class: "sr-only", "aria-live": "polite", "aria-atomic": "true" });

      this.panel = h(
        "section",
        { id: "hb-panel", class: "panel", role: "dialog", "aria-labelledby": "hb-title",
          "aria-describedby": "hb-disclaimer", hidden: true },
        h("header", { class: "head" },
          h("h2", { id: "hb-title", text: config.title }),
          this.clearButton,
          h("button", { type: "button", class: "close", "aria-label": "Close chat", onclick: () => this.close() },
            icon("close"))),
        h("p", { id: "hb-disclaimer", class: "disclaimer" }, icon("info"), this.disclaimerEl),
        this.log,
        h("form", { class: "composer", onsubmit: (event) => { event.preventDefault(); this.submit(); } },
          h("label", { class: "sr-only", for: "hb-input", text: "Your question" }),
          this.input, this.sendButton, this.counter),
        this.announcer,
      );

      this.wrap = h("div", { class: `hb ${config.position}`, onkeydown: (event) => this.onKey(event) },
        this.launcher, this.panel);
      this.wrap.style.setProperty("--hb-accent", colours.accent);
      this.wrap.style.setProperty("--hb-on-accent", colours.onAccent);
      this.wrap.style.setProperty("--hb-ink", colours.ink);
      this.shadowRoot.append(this.wrap);
      this.renderLog();
    }

    /* ---- open, close, keyboard */

    open({ focus = true } = {}) {
      this.isOpen = true;
      this.panel.hidden = false;
      this.wrap.classList.add("open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.syncSmallScreen();
      this.log.scrollTop = this.log.scrollHeight;
      if (focus) this.input.focus();
      this.save();
    }

    close({ focus = true } = {}) {
      this.isOpen = false;
      this.panel.hidden = true;
      this.wrap.classList.remove("open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.syncSmallScreen();
      if (focus) this.launcher.focus();
      this.save();
    }

    /** On a phone-sized screen the panel fills the screen, is modal, and the page behind does not scroll. */
    syncSmallScreen() {
      const small = this.media.matches;
      this.panel.setAttribute("aria-modal", String(small && this.isOpen));
      if (small && this.isOpen) this.lockScroll();
      else this.unlockScroll();
    }

    lockScroll() {
      if (this.lockedStyles) return;
      const { documentElement: html, body } = document;
      this.lockedStyles = [html.style.overflow, body.style.overflow];
      html.style.overflow = "hidden";
      body.style.overflow = "hidden";
    }

    unlockScroll() {
      if (!this.lockedStyles) return;
      [document.documentElement.style.overflow, document.body.style.overflow] = this.lockedStyles;
      this.lockedStyles = null;
    }

    /** Escape closes the panel from anywhere in the widget; on a full screen, Tab stays inside the panel. */
    onKey(event) {
      if (!this.isOpen) return;
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.close();
      } else if (event.key === "Tab" && this.media.matches) {
        this.trapFocus(event);
      }
    }

    trapFocus(event) {
      const focusable = [...this.panel.querySelectorAll("button, textarea, summary, a[href], [tabindex='0']")]
        .filter((el) => !el.disabled && el.getClientRects().length > 0);
      if (!focusable.length) return;
      const first = focusable[0];
      const last = focusable[focusable.length - 1];
      const active = this.shadowRoot.activeElement;
      if (event.shiftKey && active === first) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && active === last) {
        event.preventDefault();
        first.focus();
      }
    }

    onInputKey(event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    }

    onInput() {
      const { input } = this;
      if (input.value.length > MAX_CHARS) input.value = input.value.slice(0, MAX_CHARS);
      const length = input.value.length;
      const wasAtLimit = this.counter.classList.contains("at-limit");
      this.counter.hidden = length < COUNTER_FROM;
      this.counter.textContent = `${length.toLocaleString("en")} / ${MAX_CHARS.toLocaleString("en")} characters`;
      this.counter.classList.toggle("at-limit", length >= MAX_CHARS);
      if (length >= MAX_CHARS && !wasAtLimit) this.announce("You have reached the 2,000 character limit.");
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight + 2, 140)}px`;
      this.updateSendButton();
    }

    updateSendButton() {
      const ready = Boolean(this.input.value.trim()) && !this.pending;
      this.sendButton.setAttribute("aria-disabled", String(!ready));
    }

    /* ---- asking */

    submit() {
      const message = this.input.value.trim();
      if (!message || this.pending) return;
      this.input.value = "";
      this.onInput();
      this.ask(message);
    }

    /** Show the question, send it with the earlier turns, and show the reply (or an error with a retry). */
    async ask(message, { retry = false } = {}) {
      if (this.pending) return;
      const generation = this.generation;
      this.shadowRoot.querySelectorAll(".chips, .error").forEach((el) => el.remove());
      if (!retry) this.appendToLog(this.renderUser(message), { toBottom: true });
      const typing = h("div", { class: "msg bot typing", role: "status" },
        h("span", { class: "dot", "aria-hidden": "true" }),
        h("span", { class: "dot", "aria-hidden": "true" }),
        h("span", { class: "dot", "aria-hidden": "true" }),
        h("span", { class: "sr-only", text: "The assistant is looking through the articles…" }));
      this.appendToLog(typing, { toBottom: true });
      this.pending = new AbortController();
      this.updateSendButton();
      try {
        const reply = await this.request(message, this.history(), this.pending);
        if (generation !== this.generation) return;
        this.entries.push({ role: "user", text: message }, { role: "bot", reply });
        while (this.entries.length > MAX_SAVED) this.entries.splice(0, 2);
        if (reply.disclaimer) this.setDisclaimer(reply.disclaimer);
        this.save();
        typing.remove();
        this.appendToLog(this.renderReply(reply, { live: true }), { toBottom: false });
        if (reply.suggestions.length) this.log.append(this.renderChips(reply.suggestions, "You could also ask"));
        this.announceReply(reply);
      } catch (error) {
        if (generation !== this.generation) return;
        typing.remove();
        const kind = error instanceof ChatError ? error.kind : "server";
        if (!(error instanceof ChatError)) console.error("hipbot:", error);
        this.appendToLog(this.renderError(kind, error.detail, message), { toBottom: true });
      } finally {
        if (generation === this.generation) this.pending = null;
        this.updateSendButton();
      }
    }

    /** The earlier turns, oldest first, as the API takes them (at most the last 20 items). */
    history() {
      return this.entries
        .map((entry) =>
          entry.role === "user"
            ? { role: "user", content: entry.text.slice(0, MAX_TURN_CHARS) }
            : { role: "assistant", content: entry.reply.answer.slice(0, MAX_TURN_CHARS) },
        )
        .slice(-MAX_HISTORY);
    }

    async request(message, history, controller) {
      const timer = setTimeout(() => controller.abort(), this.config.timeout * 1000);
      try {
        let response;
        try {
          response = await fetch(`${this.config.api}/api/chat`, {
            method: "POST",
            mode: "cors",
            credentials: "omit",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ message, history }),
            signal: controller.signal,
          });
        } catch {
          if (controller.signal.aborted) throw new ChatError("timeout");
          console.warn(
            `hipbot: could not reach ${this.config.api}/api/chat. If the server is up, check that ` +
              `HIPBOT_ALLOWED_ORIGINS lists this page's origin (${location.origin}).`,
          );
          throw new ChatError("network");
        }
        let body = null;
        try {
          body = await response.json();
        } catch {
          if (controller.signal.aborted) throw new ChatError("timeout");
        }
        if (!response.ok) {
          const detail = body && body.error && typeof body.error.message === "string" ? body.error.message : "";
          if (response.status === 403 && body && body.error && body.error.code === "origin_not_allowed") {
            console.error(
              `hipbot: this page's origin (${location.origin}) is not allowed to use the chat. ` +
                `Add it to HIPBOT_ALLOWED_ORIGINS on the hipbot server and restart it.`,
            );
            throw new ChatError("refused", detail);
          }
          if (response.status === 422 || response.status === 400) throw new ChatError("invalid", detail);
          throw new ChatError(response.status === 429 || response.status === 503 ? "busy" : "server");
        }
        const reply = normaliseReply(body);
        if (!reply) throw new ChatError("server");
        return reply;
      } finally {
        clearTimeout(timer);
      }
    }

    clear() {
      this.generation += 1;
      if (this.pending) this.pending.abort();
      this.pending = null;
      this.entries = [];
      this.save();
      this.renderLog();
      this.updateSendButton();
      this.announce("Conversation cleared.");
      this.input.focus();
    }

    /* ---- rendering (text only: textContent and createElement, never HTML) */

    renderLog() {
      const greeting = h("div", { class: "msg bot" }, h("p", { text: this.config.greeting }));
      this.log.replaceChildren(greeting);
      if (!this.entries.length && this.config.starters.length) {
        this.log.append(this.renderChips(this.config.starters, "Popular questions"));
      }
      for (const entry of this.entries) {
        this.log.append(entry.role === "user" ? this.renderUser(entry.text) : this.renderReply(entry.reply));
      }
      const last = this.entries[this.entries.length - 1];
      if (last && last.role === "bot" && last.reply.suggestions.length) {
        this.log.append(this.renderChips(last.reply.suggestions, "You could also ask"));
      }
      this.clearButton.disabled = !this.entries.length;
    }

    renderUser(text) {
      return h("div", { class: "msg user" }, h("p", {}, h("span", { class: "sr-only", text: "You: " }), text));
    }

    renderReply(reply, { live = false } = {}) {
      const { level, message } = reply.safety;
      let answer = reply.answer;
      if (message && answer.startsWith(message)) answer = answer.slice(message.length).trim();
      if (level === "urgent") {
        // The advice first, announced at once; an answer follows only when the red flag was raised in
        // an earlier turn and this message asked something new.
        const alert = h("div", { class: "msg bot urgent", role: live ? "alert" : null },
          icon("alert"), h("p", { text: message || reply.answer }));
        if (!reply.passages.length) return alert;
        const wrapper = h("div", { class: "msg-group" }, alert);
        wrapper.append(this.renderAnswerBubble(reply, answer));
        return wrapper;
      }
      if (!reply.in_scope) {
        return h("div", { class: "msg bot note" }, icon("info"), h("p", { text: reply.answer }));
      }
      const bubble = this.renderAnswerBubble(reply, answer);
      if (level === "caution" && message) {
        bubble.prepend(h("div", { class: "caution", role: "note" }, icon("alert"), h("p", { text: message })));
      }
      return bubble;
    }

    /** An answer with its sources; a partial answer opens with a note that the articles don't cover
     * the subject exactly. */
    renderAnswerBubble(reply, answer) {
      const bubble = h("div", { class: "msg bot answer" });
      if (reply.coverage === "partial") {
        const cut = answer.indexOf(":");
        const note = cut > 0 ? answer.slice(0, cut + 1) : answer;
        bubble.append(h("p", { class: "coverage-note", role: "note", text: note.replace(/:$/, ".") }));
        answer = cut > 0 ? answer.slice(cut + 1).trim() : "";
      }
      if (answer) bubble.append(this.renderAnswer(answer, reply.passages, bubble));
      if (reply.passages.length) bubble.append(this.renderSources(reply.passages));
      return bubble;
    }

    /** The answer text, its [n] markers turned into buttons that open the matching source. */
    renderAnswer(text, passages, bubble) {
      const paragraph = h("p", { class: "answer-text" });
      const numbers = new Set(passages.map((p) => p.n));
      let last = 0;
      for (const match of text.matchAll(/\[(\d+)\]/g)) {
        const n = Number(match[1]);
        if (!numbers.has(n)) continue;
        paragraph.append(text.slice(last, match.index));
        paragraph.append(h("button", { type: "button", class: "cite", text: match[0],
          "aria-label": `Show source ${n}`, onclick: () => this.showSource(bubble, n) }));
        last = match.index + match[0].length;
      }
      paragraph.append(text.slice(last));
      return paragraph;
    }

    renderSources(passages) {
      const list = h("ol");
      for (const passage of passages) {
        const body = h("div", { class: "src-body" }, h("blockquote", { text: passage.text }));
        if (passage.url) {
          body.append(h("a", { href: passage.url, target: "_blank", rel: "noopener noreferrer" },
            "Read the article", h("span", { class: "sr-only", text: " (opens in a new tab)" })));
        }
        const summary = h("summary", {},
          h("span", { class: "num" }, h("span", { class: "sr-only", text: "Source " }), String(passage.n)),
          h("span", {},
            h("span", { class: "src-title", text: passage.title }),
            passage.section ? h("span", { class: "src-section", text: passage.section }) : null),
          icon("chevron"));
        list.append(h("li", { "data-n": String(passage.n) }, h("details", {}, summary, body)));
      }
      return h("div", { class: "sources" }, h("p", { class: "sources-title", text: "Sources" }), list);
    }

    showSource(bubble, n) {
      const details = bubble.querySelector(`li[data-n="${n}"] details`);
      if (!details) return;
      details.open = true;
      const summary = details.querySelector("summary");
      summary.focus();
      this.log.scrollTop = Math.max(0, details.offsetTop - 16);
    }

    renderChips(questions, label) {
      const group = h("div", { class: "chips", role: "group", "aria-label": label },
        h("p", { class: "chips-label", "aria-hidden": "true", text: label }));
      for (const question of questions) {
        group.append(h("button", { type: "button", class: "chip", text: question,
          onclick: () => { if (!this.pending) this.ask(question); } }));
      }
      return group;
    }

    renderError(kind, detail, message) {
      const text = kind === "invalid" ? `${ERRORS.invalid}: ${detail || "the server refused it"}.` : ERRORS[kind];
      const box = h("div", { class: "msg error", role: "alert" }, icon("alert"), h("p", { text }));
      if (kind !== "invalid" && kind !== "refused") {
        box.append(h("button", { type: "button", class: "retry", text: "Try again",
          onclick: () => { box.remove(); this.ask(message, { retry: true }); } }));
      }
      return box;
    }

    appendToLog(el, { toBottom }) {
      this.log.append(el);
      this.clearButton.disabled = !this.entries.length && !this.log.querySelector(".user");
      // A new reply is shown from its question down; anything else scrolls to the end.
      const question = el.previousElementSibling;
      const top = question && question.classList.contains("user") ? question : el;
      this.log.scrollTop = toBottom ? this.log.scrollHeight : Math.max(0, top.offsetTop - 12);
    }

    setDisclaimer(text) {
      this.disclaimerText = text;
      this.disclaimerEl.textContent = text;
    }

    announce(text) {
      this.announcer.textContent = "";
      setTimeout(() => (this.announcer.textContent = text), 60);
    }

    announceReply(reply) {
      if (reply.safety.level === "urgent") return; // role="alert" announces it
      const count = reply.passages.length;
      const sources = count ? ` ${count} source${count === 1 ? "" : "s"} below.` : "";
      this.announce(`The assistant answered: ${reply.answer}${sources}`);
    }

    /* ---- sessionStorage: this tab only, wiped by "clear conversation" */

    save() {
      try {
        if (!this.entries.length) {
          sessionStorage.removeItem(this.storageKey);
          return;
        }
        const state = { v: 1, open: this.isOpen, disclaimer: this.disclaimerText, entries: this.entries };
        sessionStorage.setItem(this.storageKey, JSON.stringify(state));
      } catch {
        // Storage can be full or disabled; the conversation then lasts as long as the page.
      }
    }

    restore() {
      let state = null;
      try {
        state = JSON.parse(sessionStorage.getItem(this.storageKey) || "null");
      } catch {
        state = null;
      }
      if (!state || state.v !== 1 || !Array.isArray(state.entries)) return;
      const entries = [];
      for (const entry of state.entries) {
        if (entry && entry.role === "user" && typeof entry.text === "string") {
          entries.push({ role: "user", text: entry.text });
        } else if (entry && entry.role === "bot") {
          const reply = normaliseReply(entry.reply);
          if (reply) entries.push({ role: "bot", reply });
        }
      }
      this.entries = entries.slice(-MAX_SAVED);
      if (typeof state.disclaimer === "string" && state.disclaimer) this.setDisclaimer(state.disclaimer);
      this.renderLog();
      if (state.open) this.open({ focus: false });
    }
  }

  customElements.define(TAG, HipbotChat);

  function boot() {
    if (document.querySelector(TAG)) return; // the page placed its own <hipbot-chat data-…>
    const el = document.createElement(TAG);
    if (SCRIPT) Object.assign(el.dataset, SCRIPT.dataset);
    document.body.append(el);
  }
  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot, { once: true });
})();
