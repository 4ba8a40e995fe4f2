// The result view's Share button: hands the export (what Download would
// save) to the device's share sheet with the Web Share API, where the browser
// can share files. Elsewhere the button stays hidden.

// Whether this browser can share an image file at all (phones, some desktops).
export function canShareFiles() {
  if (typeof navigator.share !== "function" || typeof navigator.canShare !== "function") return false;
  try {
    return navigator.canShare({ files: [new File([new Uint8Array(8)], "cutout.png", { type: "image/png" })] });
  } catch {
    return false;
  }
}

export class ShareButton {
  // makeFile: async () => File, the export; key: () => a string naming what
  // it would show (image, options, format), so a file made once and not yet
  // shared is shared at the next tap, and never for another result.
  constructor(button, { makeFile, key, say }) {
    this.button = button;
    this.makeFile = makeFile;
    this.key = key;
    this.say = say;
    this.ready = null; // {key, file}: made, not yet shared
    button.hidden = !canShareFiles();
    button.addEventListener("click", () => this.share());
  }

  async share() {
    const key = this.key();
    let file = this.ready?.key === key ? this.ready.file : null;
    try {
      this.say("Preparing\u2026");
      file ??= await this.makeFile();
    } catch (err) {
      this.say(err.message);
      return;
    }
    if (!navigator.canShare({ files: [file] })) {
      this.say(`This browser cannot share ${file.type} files: use Download.`);
      return;
    }
    try {
      await navigator.share({ files: [file] });
      this.ready = null;
      this.say("");
    } catch (err) {
      if (err.name === "AbortError") {
        this.say(""); // the user closed the share sheet
      } else if (err.name === "NotAllowedError") {
        // A large photo took longer to export than the browser lets a tap
        // count as the user's: keep the file, one more tap shares it.
        this.ready = { file, key };
        this.say("Ready to share: tap Share again.");
      } else {
        this.say(`Sharing failed: ${err.message}`);
      }
    }
  }
}
