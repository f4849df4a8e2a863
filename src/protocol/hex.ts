import type { Hex } from "viem";

// Internal byte helpers for the hot paths (hashTicket, isWinningTicket). They avoid viem's
// generic converters, which validate and allocate more than a fixed-layout encoder needs, and
// they avoid Buffer so the protocol core also runs in a browser.

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[97 + i] = 10 + i;
  NIBBLE[65 + i] = 10 + i;
}
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Writes the `byteLength` bytes of 0x hex `hex` into `out` at `offset`; returns false on bad input. */
export function writeHex(out: Uint8Array, offset: number, hex: string, byteLength: number): boolean {
  if (hex.length !== 2 + 2 * byteLength || hex.charCodeAt(0) !== 48 || (hex.charCodeAt(1) | 32) !== 120) return false;
  for (let i = 0; i < byteLength; i++) {
    const hi = NIBBLE[hex.charCodeAt(2 + 2 * i) & 127] ?? -1;
    const lo = NIBBLE[hex.charCodeAt(3 + 2 * i) & 127] ?? -1;
    // Non-ASCII chars (code >= 128) would alias through the mask: reject them explicitly.
    if (hi < 0 || lo < 0 || hex.charCodeAt(2 + 2 * i) > 127 || hex.charCodeAt(3 + 2 * i) > 127) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/** Writes `value` (caller checked 0 <= value < 2^256) as a 32-byte big-endian word at `offset`. */
export function writeUint256(out: Uint8Array, offset: number, value: bigint): void {
  // Word-at-a-time: four 64-bit limbs instead of 32 bigint shifts.
  let v = value;
  for (let limb = 3; limb >= 0; limb--) {
    const w = BigInt.asUintN(64, v);
    v >>= 64n;
    let hi = Number(w >> 32n);
    let lo = Number(w & 0xffffffffn);
    const base = offset + limb * 8;
    for (let i = 7; i >= 4; i--) {
      out[base + i] = lo & 0xff;
      lo >>>= 8;
    }
    for (let i = 3; i >= 0; i--) {
      out[base + i] = hi & 0xff;
      hi >>>= 8;
    }
  }
}

/** Writes `value` (caller checked 0 <= value < 2^64) as 8 big-endian bytes at `offset`. */
export function writeUint64(out: Uint8Array, offset: number, value: bigint): void {
  new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(offset, value);
}

/** Reads 8 big-endian bytes at `offset` as a bigint. */
export function readUint64(bytes: Uint8Array, offset: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset);
}

/** Encodes bytes as lowercase 0x hex. */
export function toHexString(bytes: Uint8Array): Hex {
  let s = "0x";
  for (let i = 0; i < bytes.length; i++) s += BYTE_HEX[bytes[i]!];
  return s as Hex;
}

/** Reads a 32-byte big-endian word at `offset` as a bigint. */
export function readUint256(bytes: Uint8Array, offset = 0): bigint {
  let s = "0x";
  for (let i = 0; i < 32; i++) s += BYTE_HEX[bytes[offset + i]!];
  return BigInt(s);
}
