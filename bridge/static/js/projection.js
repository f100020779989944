// Table metres -> pixels of the video frame, through the camera's calibration
// (vision.calibration.<camera>): a homography to undistorted pixels for the plane of ball
// centres (z = R) or of the cloth (z = 0), then OpenCV's lens distortion (k1 k2 p1 p2 k3 with the
// camera matrix), then scaled from the calibrated size to the rendition being shown.

export class Projection {
  constructor(calibration) {
    this.cal = calibration;
    this.ball = calibration.homography;
    this.cloth = calibration.homography_surface || calibration.homography;
    const k = calibration.camera_matrix;
    const d = calibration.distortion || [];
    this.lens = k && d.some((v) => v !== 0) ? { k, d } : null;
    this.width = calibration.width;
    this.height = calibration.height;
    this.radius = calibration.ball_radius || 0.028575;
  }

  /** Pixel [u, v] of table point (x, y) in a frame of frameW x frameH. */
  point(x, y, frameW, frameH, plane = "ball") {
    const h = plane === "cloth" ? this.cloth : this.ball;
    const w = h[6] * x + h[7] * y + h[8];
    let u = (h[0] * x + h[1] * y + h[2]) / w;
    let v = (h[3] * x + h[4] * y + h[5]) / w;
    if (this.lens) [u, v] = distort(u, v, this.lens.k, this.lens.d);
    return [(u * frameW) / this.width, (v * frameH) / this.height];
  }

  /** Pixel radius of a circle of `radius` metres around (x, y). */
  radiusAt(x, y, radius, frameW, frameH, plane = "ball") {
    const [u0, v0] = this.point(x, y, frameW, frameH, plane);
    const [u1, v1] = this.point(x + radius, y, frameW, frameH, plane);
    const [u2, v2] = this.point(x, y + radius, frameW, frameH, plane);
    return (Math.hypot(u1 - u0, v1 - v0) + Math.hypot(u2 - u0, v2 - v0)) / 2;
  }
}

/** OpenCV's distortion model applied to an undistorted pixel. */
export function distort(u, v, k, d) {
  const [fx, , cx, , fy, cy] = [k[0], k[1], k[2], k[3], k[4], k[5]];
  const [k1, k2, p1, p2, k3] = [d[0] || 0, d[1] || 0, d[2] || 0, d[3] || 0, d[4] || 0];
  const x = (u - cx) / fx;
  const y = (v - cy) / fy;
  const r2 = x * x + y * y;
  const radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 * r2 * r2;
  const xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x);
  const yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y;
  return [fx * xd + cx, fy * yd + cy];
}
