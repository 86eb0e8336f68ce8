// JSON values read straight from a line's bytes (already validated by the scanner): numbers as
// Number() reads them, ASCII strings, and a number written back as text.

const POW10 = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/**
 * A number as String() writes it, through JSON.stringify: String() keeps what it made in V8's
 * number-string cache, allocated in the old generation, so a number written per line (a numeric
 * id, a reason's value) piled up garbage there (2,000,000 negative costs: 104 MB peak RSS, 81 so).
 */
export function numberText(value: number): string {
  return Number.isFinite(value) ? JSON.stringify(value) : String(value);
}

export function ascii(b: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) out += String.fromCharCode(b[i] as number);
  return out;
}

/**
 * A JSON number (already validated) as Number() reads it. Clinger's fast path: when the digits
 * fit in 2^53 and the power of ten is at most 22, both are exact doubles and one division or
 * multiplication rounds correctly, which is exactly what Number() returns. Otherwise Number().
 */
export function numberAt(b: Uint8Array, start: number, end: number): number {
  let i = start;
  const negative = b[i] === 45;
  if (negative) i++;
  let mantissa = 0;
  let significant = 0;
  let scale = 0;
  let c = 0;
  while (i < end && (c = b[i] as number) >= 48 && c <= 57) {
    mantissa = mantissa * 10 + (c - 48);
    if (mantissa !== 0) significant++;
    i++;
  }
  if (i < end && c === 46) {
    i++;
    while (i < end && (c = b[i] as number) >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      if (mantissa !== 0) significant++;
      scale++;
      i++;
    }
  }
  if (i < end || significant > 15 || scale > 22) return Number(ascii(b, start, end)); // exponent, or too long
  const value = scale === 0 ? mantissa : mantissa / (POW10[scale] as number);
  return negative ? -value : value;
}
