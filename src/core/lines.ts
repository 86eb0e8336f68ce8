// Bytes of a log file -> complete lines. A last line without its newline is a write in progress:
// its bytes are held (and saved in the checkpoint) until the rest arrives. Lines over 1 MiB are
// not held in memory: they are skipped up to their newline and reported once.

export const MAX_LINE_BYTES = 1024 * 1024;
const NEWLINE = 10;

export interface LineSink {
  /** A complete, valid UTF-8, non-blank line: text[start, end). `lineNo` counts from 1. */
  line(text: string, start: number, end: number, lineNo: number): void;
  malformed(lineNo: number, reason: string, excerpt: string): void;
}

/** Where reading one file stands; saved in the checkpoint between runs. */
export interface AssemblerState {
  /** Bytes of the unfinished last line. */
  pending: Uint8Array;
  /** Complete lines consumed so far. */
  lineNo: number;
  /** The unfinished line is already longer than MAX_LINE_BYTES (its bytes are not kept). */
  overlong: boolean;
}

export function newAssembler(): AssemblerState {
  return { pending: new Uint8Array(0), lineNo: 0, overlong: false };
}

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function excerptOf(bytes: Uint8Array): string {
  return lenient.decode(bytes.subarray(0, 240)).slice(0, 120);
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

/** One complete line's bytes (no newline), checked and handed on. */
function emitBytes(state: AssemblerState, bytes: Uint8Array, sink: LineSink): void {
  state.lineNo++;
  if (bytes.length > MAX_LINE_BYTES) {
    sink.malformed(state.lineNo, `line longer than 1 MiB (${bytes.length} bytes)`, excerptOf(bytes));
    return;
  }
  let text: string;
  try {
    text = strict.decode(bytes);
  } catch {
    sink.malformed(state.lineNo, 'invalid UTF-8', excerptOf(bytes));
    return;
  }
  if (!isBlank(text, 0, text.length)) sink.line(text, 0, text.length, state.lineNo);
}

/**
 * Feed the next bytes of the file. `atFileStart` is true when `chunk` begins at byte 0 of the
 * file, where a UTF-8 byte order mark is dropped.
 */
export function feed(state: AssemblerState, input: Uint8Array, sink: LineSink, atFileStart = false): void {
  let chunk = input;
  if (atFileStart && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
  let pos = 0;
  // Finish the line left over from before.
  if (state.pending.length > 0 || state.overlong) {
    const nl = chunk.indexOf(NEWLINE);
    if (nl < 0) {
      hold(state, chunk, sink);
      return;
    }
    if (state.overlong) {
      state.lineNo++;
      sink.malformed(state.lineNo, 'line longer than 1 MiB', excerptOf(state.pending));
      state.overlong = false;
      state.pending = new Uint8Array(0);
    } else {
      const joined = new Uint8Array(state.pending.length + nl);
      joined.set(state.pending, 0);
      joined.set(chunk.subarray(0, nl), state.pending.length);
      state.pending = new Uint8Array(0);
      emitBytes(state, joined, sink);
    }
    pos = nl + 1;
  }
  const last = chunk.lastIndexOf(NEWLINE);
  if (last >= pos) {
    const region = chunk.subarray(pos, last + 1);
    let text: string | null = null;
    try {
      text = strict.decode(region);
    } catch {
      text = null; // some line is not UTF-8: fall back to one line at a time
    }
    if (text === null) {
      let p = 0;
      while (p < region.length) {
        const nl = region.indexOf(NEWLINE, p);
        emitBytes(state, region.subarray(p, nl), sink);
        p = nl + 1;
      }
    } else {
      // Walk the bytes and the text side by side: a newline byte is a newline character.
      let p = 0;
      let c = 0;
      while (p < region.length) {
        const nl = region.indexOf(NEWLINE, p);
        const cnl = text.indexOf('\n', c);
        state.lineNo++;
        if (nl - p > MAX_LINE_BYTES) {
          sink.malformed(state.lineNo, `line longer than 1 MiB (${nl - p} bytes)`, text.slice(c, c + 120));
        } else if (!isBlank(text, c, cnl)) {
          sink.line(text, c, cnl, state.lineNo);
        }
        p = nl + 1;
        c = cnl + 1;
      }
    }
    pos = last + 1;
  }
  if (pos < chunk.length) hold(state, chunk.subarray(pos), sink);
}

function hold(state: AssemblerState, bytes: Uint8Array, _sink: LineSink): void {
  if (state.overlong) return;
  if (state.pending.length + bytes.length > MAX_LINE_BYTES) {
    // Keep only the start, for the excerpt in the report when the newline arrives.
    const head = new Uint8Array(Math.min(240, state.pending.length + bytes.length));
    head.set(state.pending.subarray(0, head.length), 0);
    if (state.pending.length < head.length) head.set(bytes.subarray(0, head.length - state.pending.length), state.pending.length);
    state.pending = head;
    state.overlong = true;
    return;
  }
  const joined = new Uint8Array(state.pending.length + bytes.length);
  joined.set(state.pending, 0);
  joined.set(bytes, state.pending.length);
  state.pending = joined;
}

/**
 * The file will get no more bytes (it was rotated away and left behind): an unfinished last line
 * is now known to be cut short.
 */
export function finish(state: AssemblerState, sink: LineSink): void {
  if (state.pending.length === 0 && !state.overlong) return;
  state.lineNo++;
  sink.malformed(state.lineNo, 'unfinished last line of a rotated log (no newline)', excerptOf(state.pending));
  state.pending = new Uint8Array(0);
  state.overlong = false;
}
