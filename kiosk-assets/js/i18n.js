// Two languages for every page: Vietnamese (default) and English.
//   const i18n = createI18n({ vi: {...}, en: {...} });
//   i18n.t("key", { n: 3 })  — "{n}" placeholders
//   i18n.apply(document)     — fills [data-i18n] text and [data-i18n-aria] labels

const STORE_KEY = "luot.lang";

export function createI18n(dict, onChange) {
  let lang = new URLSearchParams(location.search).get("lang") || localStorage.getItem(STORE_KEY) || "vi";
  if (!dict[lang]) lang = "vi";
  const api = {
    get lang() { return lang; },
    t(key, vars = {}) {
      const s = dict[lang][key] ?? dict.vi[key] ?? key;
      return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
    },
    /** A config text `{vi, en}` in the current language. */
    pick(text) { return text ? (text[lang] || text.vi) : ""; },
    set(next) {
      if (!dict[next]) return;
      lang = next;
      localStorage.setItem(STORE_KEY, lang);
      document.documentElement.lang = lang;
      api.apply(document);
      onChange?.(lang);
    },
    apply(root) {
      for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = api.t(el.dataset.i18n);
      for (const el of root.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", api.t(el.dataset.i18nAria));
      for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.setAttribute("placeholder", api.t(el.dataset.i18nPlaceholder));
    },
  };
  document.documentElement.lang = lang;
  return api;
}
