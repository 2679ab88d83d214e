// What a command may touch of the outside world. `main(argv, io)` takes it as an argument so
// the whole CLI runs in-process in tests, with captured output and a controllable signal.

/** The outside world as the CLI sees it: two text streams, a directory, and a stop signal. */
export interface CliIo {
  /** Writes to standard output (the command's result): text, or bytes for binary output. */
  readonly stdout: (data: string | Uint8Array) => void;
  /** Writes text to standard error (errors, progress). */
  readonly stderr: (text: string) => void;
  /** Directory that relative paths are resolved against. */
  readonly cwd: string;
  /** True when standard error is a terminal: progress is shown only there. */
  readonly interactive: boolean;
  /** Aborted when the user asks the command to stop (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** Progress for work that takes more than a moment: a line on a terminal, nothing otherwise. */
export function progress(io: CliIo, text: string): void {
  if (io.interactive) io.stderr(`… ${text}\n`);
}
