// The shape of one dataset_tool subcommand. Each `create_*` importer and each tool (extract,
// compare, info, grid) is one file exporting a DatasetCommand; commands.ts lists them, and
// dataset_tool.ts turns the list into yargs subcommands. Adding an importer is one file and
// one line.

export interface PositionalSpec {
  name: string;
  describe: string;
}

export interface OptionSpec {
  type: 'number' | 'string' | 'boolean';
  describe: string;
  default?: number | string | boolean;
  choices?: readonly (string | number)[];
}

/** Parsed arguments: NVIDIA's snake_case names, as users type them. */
export type CommandArgs = Record<string, unknown>;

export interface DatasetCommand {
  /** NVIDIA's subcommand name, e.g. 'create_from_images'. */
  command: string;
  /** One line, NVIDIA's wording where it exists. */
  describe: string;
  /** Arguments after the program name for the --help epilog. */
  example: string;
  positionals: PositionalSpec[];
  options?: Record<string, OptionSpec>;
  run(args: CommandArgs): Promise<void>;
}

/** Typed access to parsed arguments (yargs has already checked types). */
export function str(args: CommandArgs, key: string): string {
  return String(args[key]);
}
export function num(args: CommandArgs, key: string): number | undefined {
  const v = args[key];
  return v === undefined || v === null ? undefined : Number(v);
}
