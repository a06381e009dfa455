// Turns the JSON progress lines of the Docker-compatible build and push endpoints into typed log
// lines, as Quay types them: a Dockerfile step (Podman's `STEP 2/5: RUN …`, Docker's
// `Step 2/5 : RUN …`) is a `command`, an `errorDetail` is an `error`, everything else is `plain`.
import type { ExecutorLogLine } from '../executor.js';

const STEP = /^\s*(?:STEP|Step)\s+(\d+)\/(\d+)\s*:\s*(.*)$/;

/** One progress object of /build, /images/create or /images/{name}/push. */
export interface ProgressMessage {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: { ID?: string; Digest?: string; Tag?: string; Size?: number };
}

/** Types one line of text (without its newline). */
export function typeLine(text: string): ExecutorLogLine {
  const m = STEP.exec(text);
  if (m) {
    return { type: 'command', message: text.trim(), data: { step: Number(m[1]), total: Number(m[2]), command: m[3]!.trim() } };
  }
  return { type: 'plain', message: text };
}

/**
 * Podman's errors carry Go struct dumps after the useful part
 * (`Build error: Unknown instruction: "FOO" &imagebuilder.Step{…}`); keep the part a user reads.
 */
export function cleanErrorMessage(message: string): string {
  return message.replace(/\s*&imagebuilder\.Step\{[\s\S]*$/, '').trim();
}

/** The log lines one progress object stands for (a `stream` may hold several lines or none). */
export function progressToLines(msg: ProgressMessage): ExecutorLogLine[] {
  if (msg.errorDetail || msg.error) {
    const message = cleanErrorMessage(msg.errorDetail?.message ?? msg.error ?? 'unknown error');
    return [{ type: 'error', message }];
  }
  if (typeof msg.stream === 'string') {
    return msg.stream
      .split('\n')
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => l.length > 0)
      .filter((l) => !/level=error msg="\+\(UNHANDLED LOGLEVEL\)/.test(l)) // podman's debug dump of a bad step
      .map(typeLine);
  }
  if (typeof msg.status === 'string') {
    const text = [msg.id, msg.status, msg.progress].filter(Boolean).join(' ').trim();
    return text ? [{ type: 'plain', message: text }] : [];
  }
  return [];
}

/** Splits a stream of newline-separated JSON objects; keeps a partial line for the next chunk. */
export class JsonLineSplitter {
  private rest = '';
  push(chunk: string): ProgressMessage[] {
    this.rest += chunk;
    const out: ProgressMessage[] = [];
    let i: number;
    while ((i = this.rest.indexOf('\n')) >= 0) {
      const line = this.rest.slice(0, i).trim();
      this.rest = this.rest.slice(i + 1);
      if (line) out.push(...[parseJson(line)].flat());
    }
    return out;
  }
  end(): ProgressMessage[] {
    const line = this.rest.trim();
    this.rest = '';
    return line ? [parseJson(line)].flat() : [];
  }
}

// Podman sometimes writes two objects on one line without a newline between them.
function parseJson(line: string): ProgressMessage | ProgressMessage[] {
  try {
    return JSON.parse(line) as ProgressMessage;
  } catch {
    // `{"a":1}{"b":2}`: split at the object boundaries.
    const parts = line.split(/(?<=\})(?=\{)/);
    if (parts.length > 1) {
      return parts.map((p) => {
        try {
          return JSON.parse(p) as ProgressMessage;
        } catch {
          return { stream: p + '\n' };
        }
      });
    }
    return { stream: line + '\n' };
  }
}
