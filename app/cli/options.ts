import type { OutputFormat } from './output.ts';

/** The options every `r3mesd` command inherits from the program (main.ts declares them). */
export interface GlobalOptions {
  home: string;
  output: OutputFormat;
}
