// The two DOM helpers every page uses.
//   $("id")                        — document.getElementById
//   el("li", "c-row", "B017")      — a new element with a class and text (both optional)

export const $ = (id) => document.getElementById(id);

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}
