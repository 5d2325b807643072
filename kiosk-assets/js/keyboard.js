// On-screen keyboard for touch kiosks: letters without Vietnamese marks (the search does not
// need them), digits, space, backspace and clear. Keys are real buttons (≥ 56 px, labelled for
// screen readers); the target input is `inputmode="none"` so the system keyboard stays away.
//
//   const kb = createKeyboard(container, { onKey(value) {...}, labels: { space, backspace, clear } });
//   kb.setValue("khai sinh"); kb.value; kb.setLabels({...})

const ROWS = [
  ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"],
  ["q", "w", "e", "r", "t", "y", "u", "i", "o", "p"],
  ["a", "s", "d", "f", "g", "h", "j", "k", "l"],
  ["z", "x", "c", "v", "b", "n", "m", "backspace"],
  ["clear", "space"],
];

/** Longest text the keyboard lets one type. */
export const KEYBOARD_MAX_LEN = 60;

const BACKSPACE_SVG =
  '<svg viewBox="0 0 24 24" width="36" height="36" aria-hidden="true" focusable="false"><path fill="none" stroke="currentColor" stroke-width="2.2" stroke-linejoin="round" d="M9 5h11a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H9l-6-7z"/><path stroke="currentColor" stroke-width="2.2" stroke-linecap="round" d="M12 9l6 6M18 9l-6 6"/></svg>';

export function createKeyboard(container, options = {}) {
  let value = "";
  let labels = { space: "Dấu cách", backspace: "Xóa một chữ", clear: "Xóa hết", ...(options.labels || {}) };
  container.classList.add("osk");
  container.setAttribute("role", "group");
  container.textContent = "";

  const special = new Map();
  for (const row of ROWS) {
    const r = document.createElement("div");
    r.className = "osk-row";
    for (const key of row) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "osk-key";
      b.dataset.key = key;
      if (key === "backspace") {
        b.classList.add("osk-wide");
        b.innerHTML = BACKSPACE_SVG;
        special.set(key, b);
      } else if (key === "space") {
        b.classList.add("osk-space");
        special.set(key, b);
      } else if (key === "clear") {
        b.classList.add("osk-clear");
        special.set(key, b);
      } else {
        b.textContent = key.toUpperCase();
        b.setAttribute("aria-label", key.toUpperCase());
      }
      r.appendChild(b);
    }
    container.appendChild(r);
  }

  const applyLabels = () => {
    container.setAttribute("aria-label", labels.keyboard || "Bàn phím");
    special.get("space").textContent = labels.space;
    special.get("clear").textContent = labels.clear;
    special.get("backspace").setAttribute("aria-label", labels.backspace);
  };
  applyLabels();

  const press = (key) => {
    if (key === "backspace") value = value.slice(0, -1);
    else if (key === "clear") value = "";
    else if (key === "space") { if (value && !value.endsWith(" ")) value += " "; }
    else if (value.length < KEYBOARD_MAX_LEN) value += key;
    options.onKey?.(value, key);
  };

  container.addEventListener("click", (ev) => {
    const b = ev.target.closest(".osk-key");
    if (!b || !container.contains(b)) return;
    press(b.dataset.key);
  });

  return {
    get value() { return value; },
    setValue(v) { value = String(v ?? "").slice(0, KEYBOARD_MAX_LEN); },
    setLabels(next) { labels = { ...labels, ...next }; applyLabels(); },
    press,
  };
}
