// The Arena on a narrow screen: one column at a time, picked with tabs or a
// sideways swipe. The columns stay laid out side by side in a scroll-snapped
// row (styles.css), each as wide as the screen, so every view keeps its size
// and the one zoom and pan (zoom.js) holds in all of them: switching shows
// the same strand of hair in the next engine. A swipe on an image pans it
// (its touch-action is none); a swipe anywhere else in a column turns to the
// next one.

const NARROW = "(max-width: 640px)"; // styles.css: the same width

export class ColumnTabs {
  // columns: [{id, label, el}], in the order shown
  constructor({ tablist, grid, columns }) {
    this.tablist = tablist;
    this.grid = grid;
    this.columns = columns;
    this.current = 0;
    this.media = matchMedia(NARROW);
    this.tabs = columns.map((col, i) => {
      const tab = document.createElement("button");
      tab.type = "button";
      tab.id = `tab-${col.id}`;
      tab.dataset.engine = col.id;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", col.el.id || (col.el.id = `column-${col.id}`));
      tab.textContent = col.label;
      tab.addEventListener("click", () => this.select(i));
      tablist.append(tab);
      return tab;
    });
    tablist.addEventListener("keydown", (e) => this.#key(e));
    grid.addEventListener("scrollend", () => this.#settled());
    // Where scrollend is missing: the last scroll event, once it is quiet.
    let quiet = null;
    grid.addEventListener("scroll", () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => this.#settled(), 150);
    });
    this.media.addEventListener("change", () => this.#apply(true));
    this.#apply(false);
  }

  get narrow() {
    return this.media.matches;
  }

  select(i, { scroll = true } = {}) {
    this.current = i;
    this.#apply(scroll);
  }

  // Tab roles, the one reachable tab and the inert off-screen columns apply
  // only while the columns are a row of screens; wide, every column is there.
  #apply(scroll) {
    const narrow = this.narrow;
    this.tablist.hidden = !narrow;
    this.tabs.forEach((tab, i) => {
      const on = i === this.current;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      const el = this.columns[i].el;
      el.inert = narrow && !on;
      if (narrow) {
        el.setAttribute("role", "tabpanel");
        el.setAttribute("aria-labelledby", tab.id);
      } else {
        el.removeAttribute("role");
        el.removeAttribute("aria-labelledby");
      }
    });
    if (narrow && scroll) {
      const reduce = matchMedia("(prefers-reduced-motion: reduce)").matches;
      this.grid.scrollTo({ left: this.columns[this.current].el.offsetLeft, behavior: reduce ? "instant" : "smooth" });
    }
  }

  // After a swipe: the column that is now in view becomes the current one.
  #settled() {
    if (!this.narrow) return;
    const left = this.grid.scrollLeft;
    let nearest = 0;
    this.columns.forEach((col, i) => {
      if (Math.abs(col.el.offsetLeft - left) < Math.abs(this.columns[nearest].el.offsetLeft - left)) nearest = i;
    });
    if (nearest !== this.current) this.select(nearest, { scroll: false });
  }

  #key(e) {
    const n = this.tabs.length;
    const to = { ArrowRight: this.current + 1, ArrowLeft: this.current - 1 + n, Home: 0, End: n - 1 }[e.key];
    if (to == null) return;
    e.preventDefault();
    this.select(to % n);
    this.tabs[this.current].focus();
  }
}
