// Binary video frames of protocol v1 (docs/websocket.md, "Video frames"): a little-endian header
// then the JPEG bytes. Kept in step with bridge/wire.py FRAME_HEADER ("<BBHIQqqIHH").

export const FRAME_KIND = 1;
export const HEADER_SIZE = 40;

const utf8 = new TextDecoder();

/** Parse one binary WebSocket message; returns null if it is not a video frame. */
export function parseFrame(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < HEADER_SIZE) return null;
  const view = new DataView(buffer);
  if (view.getUint8(0) !== FRAME_KIND) return null;
  const size = view.getUint16(2, true);
  if (size < HEADER_SIZE || size > buffer.byteLength) return null;
  return {
    version: view.getUint8(1),
    sub: view.getUint32(4, true),
    seq: Number(view.getBigUint64(8, true)),
    // nanoseconds since the Unix epoch as milliseconds (a double keeps ~0.25 us here)
    captureMs: Number(view.getBigInt64(16, true)) / 1e6,
    publishMs: Number(view.getBigInt64(24, true)) / 1e6,
    frame: view.getUint32(32, true),
    width: view.getUint16(36, true),
    height: view.getUint16(38, true),
    topic: utf8.decode(new Uint8Array(buffer, HEADER_SIZE, size - HEADER_SIZE)),
    jpeg: new Uint8Array(buffer, size),
  };
}

/** Wall-clock now in milliseconds since the Unix epoch, with sub-millisecond precision. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}
