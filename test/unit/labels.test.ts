import { describe, expect, it } from 'vitest';
import { labelIdOfBytes, labelIdOfString, labelName, MAX_LABEL_BYTES } from '../../src/core/labels.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('label registry', () => {
  it('gives a name one id, found from its bytes or its string, in either order', () => {
    const line = bytes('{"model":"gpt-4o-mini"}');
    const fromBytes = labelIdOfBytes(line, 10, 21);
    expect(fromBytes).toBeGreaterThanOrEqual(0);
    expect(labelName(fromBytes)).toBe('gpt-4o-mini');
    expect(labelIdOfString('gpt-4o-mini')).toBe(fromBytes);
    const fromString = labelIdOfString('claude-sonnet-x');
    expect(labelIdOfBytes(bytes('claude-sonnet-x'), 0, 15)).toBe(fromString);
    expect(labelIdOfBytes(bytes('claude-sonnet-y'), 0, 15)).not.toBe(fromString);
  });
  it('names with escapes or non-ASCII have ids by string only; over-long ones none from bytes', () => {
    const id = labelIdOfString('模型 "x"');
    expect(labelName(id)).toBe('模型 "x"');
    expect(labelIdOfString('模型 "x"')).toBe(id);
    const long = 'm'.repeat(MAX_LABEL_BYTES + 1);
    expect(labelIdOfBytes(bytes(long), 0, long.length)).toBe(-1);
  });
  it('tells apart many names that share a prefix and length', () => {
    const ids = new Set<number>();
    for (let i = 0; i < 500; i++) ids.add(labelIdOfString(`agent-${String(i).padStart(4, '0')}`));
    expect(ids.size).toBe(500);
    for (let i = 0; i < 500; i++) {
      const name = `agent-${String(i).padStart(4, '0')}`;
      expect(labelName(labelIdOfBytes(bytes(name), 0, name.length))).toBe(name);
    }
  });
});
