// Low-memory mode, for phones and devices that report little memory, where a
// browser kills a tab that takes too much: Lightweight by default (the engine
// that needs the least), one engine in memory at a time, and previews at the
// screen's size instead of the photo's (a 48 MP photo shown at full size
// costs about 190 MB per view). The page picks it by itself and says so; the
// user can switch it either way, and that choice is remembered.

const KEY = "backgrone.lowMemory"; // "on" | "off" once the user chose
// navigator.deviceMemory is rounded down to a power of two and capped at 8;
// 4 GB or less is a phone or a small laptop.
const LOW_DEVICE_MEMORY_GB = 4;
const PHONE = /Android|iPhone|iPad|iPod|Mobile/i;

// Whether this device calls for low-memory mode, and why (for the page).
export function detect(nav = navigator) {
  const gb = nav.deviceMemory;
  if (typeof gb === "number" && gb <= LOW_DEVICE_MEMORY_GB) return { low: true, why: `this device reports ${gb} GB of memory` };
  if (PHONE.test(nav.userAgent)) return { low: true, why: "this is a phone or tablet" };
  return { low: false, why: typeof gb === "number" ? `this device reports ${gb} GB of memory` : "" };
}

export class MemoryMode {
  constructor({ onChange = () => {} } = {}) {
    this.onChange = onChange;
    this.auto = detect();
    const chosen = localStorage.getItem(KEY);
    this.low = chosen === "on" ? true : chosen === "off" ? false : this.auto.low;
    this.chosen = chosen === "on" || chosen === "off";
  }

  set(low) {
    this.low = low;
    this.chosen = true;
    localStorage.setItem(KEY, low ? "on" : "off");
    this.onChange(this);
  }

  // The line the page shows, and the label of its switch.
  describe() {
    const why = this.chosen ? "your choice" : this.auto.why;
    const because = why ? ` (${why})` : "";
    return this.low
      ? {
          text: `Low-memory mode is on${because}: Lightweight first, one engine at a time, screen-size previews.`,
          action: "Switch it off",
        }
      : { text: `Standard memory mode${because}.`, action: "Switch to low-memory mode" };
  }
}
