/**
 * The one command-line argument parser. Every `rheo` command, every processor's entry point, the demo
 * and the benchmarks declare their flags (name, type, required, default, description) and positionals
 * here and get back a typed object, or one `ArgumentError` for every kind of refusal: an unknown flag,
 * a missing value, a bad number, a value outside an enum, a missing required flag or positional, an
 * extra positional. The usage text is generated from the same declaration, so what `--help` says and
 * what the parser accepts cannot drift apart.
 *
 * Node's `util.parseArgs` tokenizes (`--flag value`, `--flag=value`, `-h`, `--`); the checks and the
 * messages are ours, so every refusal reads alike whichever program makes it.
 */
import { parseArgs as tokenize } from 'node:util';

interface FlagBase {
  /** One line for the usage text. */
  description: string;
  /** Why the flag is required or constrained; appended to its refusals ("--from … is required: <why>"). */
  why?: string;
}

export interface StringFlag extends FlagBase {
  type: 'string';
  required?: boolean;
  default?: string;
  /** The placeholder in the usage text (default `<flag name>`). */
  value?: string;
  /** The value itself may start with "-" written `--flag -x` too (e.g. Node flags for a child process). */
  dashValue?: boolean;
}

export interface NumberFlag extends FlagBase {
  type: 'number';
  required?: boolean;
  default?: number;
  value?: string;
  integer?: boolean;
  min?: number;
  max?: number;
}

/** Present or absent; never takes a value (`--json=false` is refused). */
export interface BooleanFlag extends FlagBase {
  type: 'boolean';
}

export interface EnumFlag extends FlagBase {
  type: 'enum';
  values: readonly string[];
  required?: boolean;
  default?: string;
}

/** Repeatable: every occurrence adds one value (`--metric auc=0.9 --metric loss=0.3`). */
export interface ListFlag extends FlagBase {
  type: 'list';
  value?: string;
}

export type Flag = StringFlag | NumberFlag | BooleanFlag | EnumFlag | ListFlag;

export interface Positional {
  name: string;
  description: string;
  required?: boolean;
  /** Takes every remaining positional (only the last one may). */
  rest?: boolean;
}

/** What one program (or one action of a program) accepts. */
export interface ArgsDecl {
  flags?: Readonly<Record<string, Flag>>;
  positionals?: readonly Positional[];
  /** Lines printed after the flags: rules the declaration cannot say (e.g. "give exactly one of …"). */
  notes?: readonly string[];
}

/** A program without actions: `rheo gateway [--port N]`, `node processors/drift/index.ts --from …`. */
export interface ProgramDecl extends ArgsDecl {
  /** How the program is invoked, as the usage text shows it: `rheo gateway`. */
  program: string;
}

/** A program whose first argument names an action, each with its own flags: `rheo stack up|down|status|env`. */
export interface ActionsDecl {
  program: string;
  actions: Readonly<Record<string, ArgsDecl>>;
  /** The action run when the first argument is absent or a flag (`rheo topics` lists). */
  defaultAction?: string;
  notes?: readonly string[];
}

type Given<F, T> = F extends { required: true } ? T : F extends { default: T } ? T : T | undefined;

export type FlagValue<F extends Flag> = F extends BooleanFlag
  ? boolean
  : F extends ListFlag
    ? string[]
    : F extends EnumFlag
      ? Given<F, F['values'][number]>
      : F extends NumberFlag
        ? Given<F, number>
        : Given<F, string>;

type FlagsOf<D> = D extends { flags: infer F extends Readonly<Record<string, Flag>> }
  ? { -readonly [K in keyof F]: FlagValue<F[K]> }
  : Record<never, never>;

type PositionalValue<P> = P extends { rest: true } ? string[] : P extends { required: true } ? string : string | undefined;

type PositionalsOf<D> = D extends { positionals: infer Ps extends readonly Positional[] }
  ? { [P in Ps[number] as P['name']]: PositionalValue<P> }
  : Record<never, never>;

export interface Parsed<D> {
  flags: FlagsOf<D>;
  positionals: PositionalsOf<D>;
}

export type ParsedActions<D extends ActionsDecl> = {
  [K in keyof D['actions'] & string]: { action: K } & Parsed<D['actions'][K]>;
}[keyof D['actions'] & string];

export type ParsedCommandLine<D extends ProgramDecl | ActionsDecl> = D extends ActionsDecl ? ParsedActions<D> : Parsed<D>;

/** Refused arguments: `message` says what is wrong, `usage` is the text of the program (or action) refused. */
export class ArgumentError extends Error {
  override name = 'ArgumentError';
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

/** `--help` or `-h` was given: not a failure; the caller prints `usage` and exits 0. */
export class HelpRequest extends Error {
  override name = 'HelpRequest';
  readonly usage: string;
  constructor(usage: string) {
    super('help requested');
    this.usage = usage;
  }
}

/** Checks a declaration once, where it is written (a bad one is a programming error, thrown at import). */
export function defineArgs<const D extends ProgramDecl>(decl: D): D {
  checkDecl(decl, decl.program);
  return decl;
}

export function defineActions<const D extends ActionsDecl>(decl: D): D {
  for (const [name, action] of Object.entries(decl.actions)) checkDecl(action, `${decl.program} ${name}`);
  if (decl.defaultAction !== undefined && !Object.hasOwn(decl.actions, decl.defaultAction))
    throw new Error(`${decl.program}: the default action "${decl.defaultAction}" is not declared`);
  return decl;
}

function checkDecl(decl: ArgsDecl, program: string): void {
  if (decl.flags && Object.hasOwn(decl.flags, 'help')) throw new Error(`${program}: --help is the parser's own flag`);
  const positionals = decl.positionals ?? [];
  positionals.forEach((p, i) => {
    if (p.rest && i !== positionals.length - 1) throw new Error(`${program}: only the last positional may take the rest`);
    if (p.required && positionals.slice(0, i).some((q) => !q.required))
      throw new Error(`${program}: required <${p.name}> follows an optional positional`);
  });
}

export function parseArgs<const D extends ProgramDecl>(decl: D, argv: readonly string[]): Parsed<D> {
  return parseDecl(decl, argv, decl.program, () => programUsage(decl)) as Parsed<D>;
}

export function parseActions<const D extends ActionsDecl>(decl: D, argv: readonly string[]): ParsedActions<D> {
  const [first, ...rest] = argv;
  const names = Object.keys(decl.actions);
  let action: string;
  let args: readonly string[];
  if (first === undefined || first.startsWith('-')) {
    if (first === '--help' || first === '-h') throw new HelpRequest(actionsUsage(decl));
    if (decl.defaultAction === undefined)
      throw new ArgumentError(`an action is required (${names.join('|')})`, actionsUsage(decl));
    action = decl.defaultAction;
    args = argv;
  } else {
    if (!Object.hasOwn(decl.actions, first)) throw new ArgumentError(`unknown action "${first}"`, actionsUsage(decl));
    action = first;
    args = rest;
  }
  const chosen = decl.actions[action] as ArgsDecl;
  const parsed = parseDecl(chosen, args, actionProgram(decl, action), () => actionUsage(decl, action));
  return { action, ...parsed } as ParsedActions<D>;
}

/** Either shape: a program with actions or one without. */
export function parseCommandLine<const D extends ProgramDecl | ActionsDecl>(
  decl: D,
  argv: readonly string[],
): ParsedCommandLine<D> {
  return ('actions' in decl ? parseActions(decl, argv) : parseArgs(decl, argv)) as ParsedCommandLine<D>;
}

/** The usage text of a declaration: synopsis, flags and notes (for a program with actions, one synopsis per action). */
export function usageOf(decl: ProgramDecl | ActionsDecl): string {
  return 'actions' in decl ? actionsUsage(decl) : programUsage(decl);
}

/** Where an entry point writes the help and the refusals: the process's own streams. */
const processStreams = {
  out: (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text: string) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/**
 * What an entry point does with a failed parse: the help on stdout (exit status 0), or the refusal and
 * the usage on stderr (exit status 2). Returns that exit status, or undefined when `error` is not an
 * argument failure (the caller handles it as any other error).
 */
export function explainArgumentFailure(
  error: unknown,
  program: string,
  write: { out(text: string): void; err(text: string): void } = processStreams,
): number | undefined {
  if (error instanceof HelpRequest) {
    write.out(error.usage);
    return 0;
  }
  if (error instanceof ArgumentError) {
    write.err(`${program}: ${error.message}\n\n${error.usage}`);
    return 2;
  }
  return undefined;
}

/**
 * For a script's `if (import.meta.main)` block: the parsed arguments, or undefined once the help or the
 * refusal has been printed and `process.exitCode` set (0 or 2).
 */
export function parseOrExplain<const D extends ProgramDecl>(
  decl: D,
  argv: readonly string[],
  name: string,
): Parsed<D> | undefined {
  try {
    return parseArgs(decl, argv);
  } catch (error) {
    const status = explainArgumentFailure(error, name);
    if (status === undefined) throw error;
    process.exitCode = status;
    return undefined;
  }
}

type RawValues = { flags: Record<string, unknown>; positionals: Record<string, unknown> };

function parseDecl(decl: ArgsDecl, argv: readonly string[], program: string, usage: () => string): RawValues {
  const declared = decl.flags ?? {};
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, flag] of Object.entries(declared)) options[name] = { type: flag.type === 'boolean' ? 'boolean' : 'string' };
  const { tokens } = tokenize({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  // Help wins over any other problem on the line: whoever asks for it is about to fix the line.
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help')) throw new HelpRequest(usage());
  const refuse = (message: string) => new ArgumentError(message, usage());

  const flags: Record<string, unknown> = {};
  const given = new Set<string>();
  const operands: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      operands.push(token.value);
      continue;
    }
    const flag = Object.hasOwn(declared, token.name) ? declared[token.name] : undefined;
    if (!flag) throw refuse(`unknown flag ${token.rawName}`);
    const name = `--${token.name}`;
    if (flag.type !== 'list' && given.has(token.name)) throw refuse(`${name} is given more than once`);
    given.add(token.name);
    if (flag.type === 'boolean') {
      if (token.value !== undefined) throw refuse(`${name} takes no value`);
      flags[token.name] = true;
      continue;
    }
    const refuseValue = (message: string) => refuse(flag.why ? `${message}: ${flag.why}` : message);
    const raw = token.value;
    // `--model --json`: the tokenizer takes the next word as the value; a word that looks like a flag
    // almost always means the value was forgotten (a value may start with "-" when written `--flag=-x`);
    // an empty value (`--version=`) is a forgotten one too.
    if (raw === undefined || raw === '' || (!token.inlineValue && raw.startsWith('-') && !dashValueAllowed(flag, raw)))
      throw refuseValue(`${name} needs a value`);
    if (flag.type === 'list') flags[token.name] = [...((flags[token.name] as string[] | undefined) ?? []), raw];
    else flags[token.name] = convert(flag, name, raw, refuseValue);
  }

  for (const [name, flag] of Object.entries(declared)) {
    if (flags[name] !== undefined) continue;
    if (flag.type === 'boolean') flags[name] = false;
    else if (flag.type === 'list') flags[name] = [];
    else if (flag.required) {
      // An enum's choices are short and say what to give; other placeholders would only repeat the usage.
      const missing = `--${name}${flag.type === 'enum' ? ` ${flag.values.join('|')}` : ''} is required`;
      throw refuse(flag.why ? `${missing}: ${flag.why}` : missing);
    } else flags[name] = flag.default;
  }

  const positionals: Record<string, unknown> = {};
  let next = 0;
  for (const p of decl.positionals ?? []) {
    if (p.rest) {
      positionals[p.name] = operands.slice(next);
      next = operands.length;
      continue;
    }
    const value = operands[next];
    if (value === undefined && p.required) throw refuse(`<${p.name}> is required`);
    positionals[p.name] = value;
    if (value !== undefined) next++;
  }
  if (next < operands.length) throw refuse(`unexpected argument "${operands[next]}" (${program} takes ${operandsTaken(decl)})`);
  return { flags, positionals };
}

function dashValueAllowed(flag: Exclude<Flag, BooleanFlag>, raw: string): boolean {
  if (flag.type === 'number') return isNumber(raw);
  return flag.type === 'string' && flag.dashValue === true;
}

function isNumber(raw: string): boolean {
  return raw.trim() !== '' && Number.isFinite(Number(raw));
}

function convert(
  flag: StringFlag | NumberFlag | EnumFlag,
  name: string,
  raw: string,
  refuse: (message: string) => ArgumentError,
): string | number {
  switch (flag.type) {
    case 'string':
      return raw;
    case 'enum':
      if (!flag.values.includes(raw)) throw refuse(`${name} takes ${choices(flag.values)}, not "${raw}"`);
      return raw;
    case 'number': {
      if (!isNumber(raw)) throw refuse(`${name} takes a number, not "${raw}"`);
      const n = Number(raw);
      if (flag.integer && !Number.isInteger(n)) throw refuse(`${name} takes an integer, not "${raw}"`);
      if ((flag.min !== undefined && n < flag.min) || (flag.max !== undefined && n > flag.max))
        throw refuse(`${name} must be ${range(flag)}, not ${raw}`);
      return n;
    }
  }
}

function choices(values: readonly string[]): string {
  return values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`;
}

function range(flag: NumberFlag): string {
  if (flag.min !== undefined && flag.max !== undefined) return `${flag.min}..${flag.max}`;
  return flag.min !== undefined ? `at least ${flag.min}` : `at most ${flag.max}`;
}

function operandsTaken(decl: ArgsDecl): string {
  const positionals = decl.positionals ?? [];
  return positionals.length === 0 ? 'no positional arguments' : positionals.map(positionalSynopsis).join(' ');
}

function placeholder(name: string, flag: Exclude<Flag, BooleanFlag>): string {
  if (flag.type === 'enum') return flag.values.join('|');
  return flag.value ?? (flag.type === 'number' ? 'N' : `<${name}>`);
}

function flagSynopsis(name: string, flag: Flag): string {
  if (flag.type === 'boolean') return `[--${name}]`;
  const text = `--${name} ${placeholder(name, flag)}`;
  if (flag.type === 'list') return `[${text}]…`;
  return flag.required ? text : `[${text}]`;
}

function positionalSynopsis(p: Positional): string {
  if (p.rest) return `[<${p.name}>…]`;
  return p.required ? `<${p.name}>` : `[<${p.name}>]`;
}

function synopsis(decl: ArgsDecl, program: string): string {
  return [
    program,
    ...(decl.positionals ?? []).map(positionalSynopsis),
    ...Object.entries(decl.flags ?? {}).map(([name, flag]) => flagSynopsis(name, flag)),
  ].join(' ');
}

function flagDetail(flag: Flag): string {
  if (flag.type === 'boolean') return flag.description;
  if (flag.type === 'list') return `${flag.description} (repeatable)`;
  const bits = [
    ...(flag.required ? ['required'] : []),
    ...(flag.type === 'number' && flag.integer ? ['an integer'] : []),
    ...(flag.type === 'number' && (flag.min !== undefined || flag.max !== undefined) ? [range(flag)] : []),
    ...(flag.default !== undefined ? [`default ${flag.default}`] : []),
  ];
  return bits.length ? `${flag.description} (${bits.join(', ')})` : flag.description;
}

function details(decl: ArgsDecl): string[] {
  const rows: Array<[string, string]> = [
    ...(decl.positionals ?? []).map((p): [string, string] => [positionalSynopsis(p), p.description]),
    ...Object.entries(decl.flags ?? {}).map(([name, flag]): [string, string] => [
      flag.type === 'boolean' ? `--${name}` : `--${name} ${placeholder(name, flag)}`,
      flagDetail(flag),
    ]),
    ['-h, --help', 'show this help'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

function programUsage(decl: ProgramDecl): string {
  return withNotes([`usage: ${synopsis(decl, decl.program)}`, '', ...details(decl)], decl.notes);
}

function actionProgram(decl: ActionsDecl, action: string): string {
  return action === decl.defaultAction ? `${decl.program} [${action}]` : `${decl.program} ${action}`;
}

function actionUsage(decl: ActionsDecl, action: string): string {
  const chosen = decl.actions[action] as ArgsDecl;
  return withNotes([`usage: ${synopsis(chosen, actionProgram(decl, action))}`, '', ...details(chosen)], chosen.notes);
}

function actionsUsage(decl: ActionsDecl): string {
  const lines = Object.entries(decl.actions).map(
    ([name, action], i) => `${i === 0 ? 'usage: ' : '       '}${synopsis(action, actionProgram(decl, name))}`,
  );
  return withNotes([...lines, '', `"${decl.program} <action> --help" describes an action's flags.`], decl.notes);
}

function withNotes(lines: string[], notes: readonly string[] | undefined): string {
  return (notes?.length ? [...lines, '', ...notes] : lines).join('\n');
}
