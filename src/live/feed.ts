/**
 * What the rest of pscsd may ask of live video: a subscription to one camera's coded pictures.
 * `recorder/live/` implements it (one camera session shared by every viewer); `api/` serves it.
 */

/** One coded picture, as the camera sent it (H.264, never decoded or re-encoded). */
export interface AccessUnit {
  /** RTP timestamp, 90 kHz, as the camera stamped it (wraps at 2^32). */
  rtpTime: number;
  /** When its last packet arrived (epoch ms). */
  receivedAt: number;
  /** An IDR picture; it always carries the SPS and PPS in front, so a decoder can start from it. */
  keyframe: boolean;
  /** NAL units without start codes. */
  nals: Buffer[];
  /** Sum of the NAL units' lengths. */
  bytes: number;
}

/**
 * One viewer's pictures, starting at a key frame. Invariant: pulling slowly never delays anyone
 * else; a viewer too far behind loses frames up to the next key frame (counted in `dropped`).
 */
export interface LiveSubscription extends AsyncIterable<AccessUnit> {
  /** The next picture, or undefined once closed. */
  next(): Promise<AccessUnit | undefined>;
  /** Leaves the camera's live session. Idempotent. */
  close(): void;
  readonly delivered: number;
  readonly dropped: number;
}

export interface LiveFeed {
  /** A new viewer of `camera`, or undefined for a camera not configured. */
  subscribe(camera: string): LiveSubscription | undefined;
}
