// Whether JSON.parse would accept a text, decided without calling it. Pure.
//
// A line JSON.parse rejects is expensive in memory: V8 makes a Script object for the error's
// source position (holding the whole line), allocated straight into the old generation, where it
// stays until the next full GC. A log of malformed lines piles them up by the hundred megabytes
// (2,000,000 lines of `NaN` costs: 577 MB peak RSS). So the slow path asks this check first and
// calls JSON.parse only on text it will accept.
//
// The grammar is RFC 8259's, which JSON.parse implements exactly: whitespace is space, tab, CR
// and LF; strings hold no raw control characters and only the escapes \" \\ \/ \b \f \n \r \t
// \uXXXX; numbers are -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; nesting has no limit
// (V8's parser is iterative, and so is this one). A property test holds it equal to JSON.parse.

const OBJECT = 1;
const ARRAY = 2;

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** What is at `i`, for a reason: a character, or the end. */
function at(s: string, i: number): string {
  if (i >= s.length) return 'the line ends';
  const c = s.charCodeAt(i);
  const shown = c < 32 || c === 127 ? `\\u${c.toString(16).padStart(4, '0')}` : s[i];
  return `unexpected '${shown}' at column ${i + 1}`;
}

/**
 * Why JSON.parse would reject `s` (a short reason, with the column), or null when it would accept
 * it. Never throws, and allocates nothing for text that is valid.
 */
export function jsonProblem(s: string): string | null {
  const n = s.length;
  let stack: Uint8Array | null = null;
  let depth = 0;
  let i = 0;
  while (i < n && isWs(s.charCodeAt(i))) i++;
  for (;;) {
    // A value starts at i (whitespace skipped).
    const c = i < n ? s.charCodeAt(i) : -1;
    if (c === 123 || c === 91) {
      // '{' or '['
      i++;
      while (i < n && isWs(s.charCodeAt(i))) i++;
      if (i < n && s.charCodeAt(i) === (c === 123 ? 125 : 93)) {
        i++; // empty: a whole value
      } else {
        let open: Uint8Array = stack ?? new Uint8Array(16);
        if (depth === open.length) {
          const grown = new Uint8Array(open.length * 2);
          grown.set(open);
          open = grown;
        }
        stack = open;
        open[depth++] = c === 123 ? OBJECT : ARRAY;
        if (c === 123) {
          const after = key(s, i);
          if (typeof after === 'string') return after;
          i = after;
        }
        continue;
      }
    } else if (c === 34) {
      const after = string(s, i);
      if (typeof after === 'string') return after;
      i = after;
    } else if (c === 45 || isDigit(c)) {
      const after = number(s, i);
      if (typeof after === 'string') return after;
      i = after;
    } else if (c === 116 && s.startsWith('true', i)) {
      i += 4;
    } else if (c === 102 && s.startsWith('false', i)) {
      i += 5;
    } else if (c === 110 && s.startsWith('null', i)) {
      i += 4;
    } else {
      return c === 78 && s.startsWith('NaN', i)
        ? 'NaN or Infinity is not a JSON number'
        : c === 73 && s.startsWith('Infinity', i)
          ? 'NaN or Infinity is not a JSON number'
          : `${at(s, i)} where a value should be`;
    }
    // After a value: the end, or what continues or closes the container it is in.
    for (;;) {
      while (i < n && isWs(s.charCodeAt(i))) i++;
      if (depth === 0) return i === n ? null : `${at(s, i)} after the JSON value`;
      const inside = (stack as Uint8Array)[depth - 1];
      const d = i < n ? s.charCodeAt(i) : -1;
      if (d === 44) {
        // ','
        i++;
        while (i < n && isWs(s.charCodeAt(i))) i++;
        if (inside === OBJECT) {
          const after = key(s, i);
          if (typeof after === 'string') return after;
          i = after;
        }
        break; // a value follows
      }
      if (d === (inside === OBJECT ? 125 : 93)) {
        i++;
        depth--;
        continue;
      }
      return `${at(s, i)} where ',' or '${inside === OBJECT ? '}' : ']'}' should be`;
    }
  }
}

/** A key and its colon at `i`: the index of the value after them (whitespace skipped), or why not. */
function key(s: string, i: number): number | string {
  if (i >= s.length || s.charCodeAt(i) !== 34) return `${at(s, i)} where a quoted key should be`;
  let j = string(s, i);
  if (typeof j === 'string') return j;
  while (j < s.length && isWs(s.charCodeAt(j))) j++;
  if (j >= s.length || s.charCodeAt(j) !== 58) return `${at(s, j)} where ':' should be`;
  j++;
  while (j < s.length && isWs(s.charCodeAt(j))) j++;
  return j;
}

/** The string at `i` (its opening quote): the index after its closing quote, or why not. */
function string(s: string, i: number): number | string {
  const n = s.length;
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 34) return j + 1;
    if (c < 32) return `a raw control character in a string at column ${j + 1}`;
    if (c === 92) {
      const e = j + 1 < n ? s.charCodeAt(j + 1) : -1;
      if (e === 117) {
        for (let h = 2; h < 6; h++)
          if (!(j + h < n && isHex(s.charCodeAt(j + h)))) return `a bad \\u escape at column ${j + 1}`;
        j += 6;
        continue;
      }
      if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
        j += 2;
        continue;
      }
      return `a bad escape at column ${j + 1}`;
    }
    j++;
  }
  return `a string not closed (from column ${i + 1})`;
}

/** The number at `i`: the index after it, or why it is not one. */
function number(s: string, i: number): number | string {
  const n = s.length;
  let j = i;
  if (s.charCodeAt(j) === 45) {
    j++;
    if (s.startsWith('Infinity', j)) return 'NaN or Infinity is not a JSON number';
  }
  const first = j < n ? s.charCodeAt(j) : -1;
  if (first === 48) j++;
  else if (isDigit(first)) while (j < n && isDigit(s.charCodeAt(j))) j++;
  else return `${at(s, j)} where a digit should be`;
  if (j < n && s.charCodeAt(j) === 46) {
    j++;
    if (!(j < n && isDigit(s.charCodeAt(j)))) return `${at(s, j)} where a digit should be`;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
  }
  if (j < n && (s.charCodeAt(j) | 0x20) === 101) {
    j++;
    if (j < n && (s.charCodeAt(j) === 43 || s.charCodeAt(j) === 45)) j++;
    if (!(j < n && isDigit(s.charCodeAt(j)))) return `${at(s, j)} where a digit should be`;
    while (j < n && isDigit(s.charCodeAt(j))) j++;
  }
  return j;
}
