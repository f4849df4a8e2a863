/** What the edge logs through; `console` fits, and `silentLogger` is the default. */
export type EdgeLogger = {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
};

/** A logger that drops everything. */
export const silentLogger: EdgeLogger = { info() {}, warn() {} };
