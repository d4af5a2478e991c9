/**
 * What a delivery needs to know of an H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1): the
 * profile and level (the MSE codec string, WebRTC's profile-level-id) and the picture size after
 * cropping. Parsed, never trusted: a truncated or malformed SPS is an `SpsError`.
 */

export interface SpsInfo {
  profileIdc: number;
  /** constraint_set0..5 flags and the reserved bits, as the byte stands. */
  constraints: number;
  levelIdc: number;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number;
  bitDepthLumaMinus8: number;
  bitDepthChromaMinus8: number;
  width: number;
  height: number;
}

export class SpsError extends Error {
  constructor(message: string) {
    super(`H.264 SPS: ${message}`);
    this.name = "SpsError";
  }
}

/** profile_idc values whose SPS carries chroma format, bit depths and scaling lists. */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** `PPCCLL` in hex: the RFC 6184 profile-level-id, and the tail of the `avc1.` codec string. */
export function profileLevelId(s: Pick<SpsInfo, "profileIdc" | "constraints" | "levelIdc">): string {
  return [s.profileIdc, s.constraints, s.levelIdc].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The RFC 6381 codec string MSE's isTypeSupported and addSourceBuffer take: `avc1.PPCCLL`. */
export function avcCodec(s: Pick<SpsInfo, "profileIdc" | "constraints" | "levelIdc">): string {
  return `avc1.${profileLevelId(s)}`;
}

/** Parses an SPS NAL unit (header byte included, no start code). */
export function parseSps(nal: Buffer): SpsInfo {
  if (nal.length < 4 || ((nal[0] ?? 0) & 0x1f) !== 7) throw new SpsError("not an SPS NAL unit");
  const r = new BitReader(unescapeRbsp(nal.subarray(1)));
  const profileIdc = r.bits(8);
  const constraints = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = false;
  let bitDepthLumaMinus8 = 0;
  let bitDepthChromaMinus8 = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) throw new SpsError(`chroma_format_idc ${chromaFormatIdc}`);
    if (chromaFormatIdc === 3) separateColourPlane = r.bits(1) === 1;
    bitDepthLumaMinus8 = r.ue();
    bitDepthChromaMinus8 = r.ue();
    r.bits(1); // qpprime_y_zero_transform_bypass_flag
    if (r.bits(1)) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) if (r.bits(1)) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bits(1);
    r.se();
    r.se();
    const cycle = r.ue();
    if (cycle > 255) throw new SpsError(`num_ref_frames_in_pic_order_cnt_cycle ${cycle}`);
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) throw new SpsError(`pic_order_cnt_type ${pocType}`);
  r.ue(); // max_num_ref_frames
  r.bits(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bits(1);
  if (!frameMbsOnly) r.bits(1); // mb_adaptive_frame_field_flag
  r.bits(1); // direct_8x8_inference_flag
  let crop = { left: 0, right: 0, top: 0, bottom: 0 };
  if (r.bits(1)) crop = { left: r.ue(), right: r.ue(), top: r.ue(), bottom: r.ue() };
  // Crop units (7.4.2.1.1): luma samples per crop step, by ChromaArrayType and field coding.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 3 ? 1 : 2;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropUnitX * (crop.left + crop.right);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (crop.top + crop.bottom);
  if (width <= 0 || height <= 0) throw new SpsError(`cropping leaves ${width}x${height}`);
  return {
    profileIdc,
    constraints,
    levelIdc,
    chromaFormatIdc,
    bitDepthLumaMinus8,
    bitDepthChromaMinus8,
    width,
    height,
  };
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/** Drops the emulation-prevention byte of every 00 00 03 (7.4.1). */
function unescapeRbsp(b: Buffer): Buffer {
  const out = Buffer.alloc(b.length);
  let n = 0;
  let zeros = 0;
  for (const byte of b) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    zeros = byte === 0 ? zeros + 1 : 0;
    out[n++] = byte;
  }
  return out.subarray(0, n);
}

class BitReader {
  private pos = 0;
  constructor(private readonly b: Buffer) {}

  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.b[this.pos >> 3];
      if (byte === undefined) throw new SpsError("truncated");
      v = v * 2 + ((byte >> (7 - (this.pos & 7))) & 1);
      this.pos++;
    }
    return v;
  }

  /** Exp-Golomb, unsigned (9.1); more than 31 leading zeros is not a value an SPS holds. */
  ue(): number {
    let zeros = 0;
    while (this.bits(1) === 0) if (++zeros > 31) throw new SpsError("exp-Golomb code too long");
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -(k / 2);
  }
}
