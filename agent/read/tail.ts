// Follows a text log file by inode and offset: finishes the rotated <file>.1 first after a
// rotation, starts over after a truncation, and never returns a partial last line.
import { open, stat } from 'node:fs/promises';
import { isMissing } from './kernel-files.js';

export interface TailState {
  ino: number;
  offset: number;
}

export interface TailResult {
  lines: string[];
  state: TailState;
  /** What happened to the file since the last read. */
  event?: 'rotated' | 'truncated';
}

/** Reads whole lines from `offset`, at most `maxLines` and about `maxBytes`; returns them and the bytes consumed. */
export async function readLinesAt(file: string, offset: number, maxLines: number, maxBytes: number): Promise<{ lines: string[]; consumed: number }> {
  if (maxLines <= 0) return { lines: [], consumed: 0 };
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(maxBytes);
    const { bytesRead } = await fh.read(buf, 0, maxBytes, offset);
    const lines: string[] = [];
    let pos = 0;
    while (lines.length < maxLines && pos < bytesRead) {
      const nl = buf.indexOf(0x0a, pos);
      if (nl < 0 || nl >= bytesRead) {
        // No newline: a partial last line (wait for the rest), unless one line fills the whole buffer.
        if (pos === 0 && bytesRead === maxBytes) {
          lines.push(buf.toString('utf8', 0, bytesRead));
          pos = bytesRead;
        }
        break;
      }
      const text = buf.toString('utf8', pos, nl).replace(/\r$/, '');
      pos = nl + 1;
      if (text.length > 0) lines.push(text);
    }
    return { lines, consumed: pos };
  } finally {
    await fh.close();
  }
}

/**
 * One tail step on `file`. Without a previous state it starts at the end (no history dump).
 * Returns undefined when the file does not exist.
 */
export async function tailFile(file: string, prev: TailState | undefined, maxLines: number, maxBytes: number): Promise<TailResult | undefined> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  if (!prev) return { lines: [], state: { ino: st.ino, offset: st.size } };
  const lines: string[] = [];
  let state: TailState = prev;
  let event: TailResult['event'];
  if (st.ino !== prev.ino) {
    event = 'rotated';
    // logrotate renamed the file to <file>.1: read what was written there after our offset.
    const rotated = `${file}.1`;
    const old = await stat(rotated).catch(() => undefined);
    if (old && old.ino === prev.ino && old.size > prev.offset) {
      const r = await readLinesAt(rotated, prev.offset, maxLines, maxBytes);
      lines.push(...r.lines);
    }
    state = { ino: st.ino, offset: 0 };
  } else if (st.size < prev.offset) {
    event = 'truncated'; // copytruncate or an admin emptied the file
    state = { ino: st.ino, offset: 0 };
  }
  if (lines.length < maxLines && st.size > state.offset) {
    const r = await readLinesAt(file, state.offset, maxLines - lines.length, maxBytes);
    lines.push(...r.lines);
    state = { ino: state.ino, offset: state.offset + r.consumed };
  }
  return event ? { lines, state, event } : { lines, state };
}
