// The dedicated worker that runs the video engine on an OffscreenCanvas (see engine.js).

import { VideoEngine } from "./engine.js";

let engine = null;

self.onmessage = (event) => {
  const m = event.data;
  if (m.type === "init") {
    engine = new VideoEngine(m.canvas, m.options, (message) => self.postMessage(message));
  } else if (engine) {
    engine.handle(m);
  }
};
