import { Writable } from "node:stream";
import { isatty } from "node:tty";

// node:readline (with its interface, history and keypress modules, about 1 MB of RSS) is loaded
// when a prompt is shown: `node start` under a service manager never shows one.

/**
 * Asks for a secret at a terminal without echoing it: readline writes what is typed to a muted
 * stream, the question goes to `output` (stderr, so stdout stays clean for scripts).
 */
export async function promptSecret(question: string, io: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream } = {}): Promise<string> {
  const { createInterface } = await import("node:readline");
  const input = io.input ?? process.stdin;
  const output = io.output ?? process.stderr;
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input, output: muted, terminal: true });
  output.write(question);
  return new Promise((resolve, reject) => {
    rl.once("close", () => reject(new Error("no input: the prompt was closed")));
    rl.question("", (answer) => {
      rl.removeAllListeners("close");
      rl.close();
      output.write("\n");
      resolve(answer);
    });
  });
}

/** A secret prompt when a person is at the terminal (stdin is a TTY), otherwise undefined. */
export function terminalPrompt(): ((question: string) => Promise<string>) | undefined {
  // isatty(0), not process.stdin.isTTY: the first read of process.stdin opens a stream on fd 0 (with
  // readline's keypress machinery), about 1 MB that a node started by a service manager keeps for nothing.
  return isatty(0) ? (question) => promptSecret(question) : undefined;
}

/** Asks a question at a terminal (echoed) and resolves with the answer, or `fallback` for an empty one. */
export async function promptLine(question: string, fallback = "", io: { input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream } = {}): Promise<string> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: io.input ?? process.stdin, output: io.output ?? process.stderr, terminal: false });
  (io.output ?? process.stderr).write(fallback ? `${question} [${fallback}] ` : `${question} `);
  return new Promise((resolve, reject) => {
    rl.once("close", () => reject(new Error("no input: the prompt was closed")));
    rl.question("", (answer) => {
      rl.removeAllListeners("close");
      rl.close();
      resolve(answer.trim() || fallback);
    });
  });
}
