// Types of cli/launch.mjs (plain JavaScript, since the shim may run on a Node that cannot strip types).
export declare const REQUIRED_MAJOR: 24;
export declare const FORWARDED_SIGNALS: readonly NodeJS.Signals[];

export type Choice<K extends string> = ({ [P in K]: string } & { problem?: undefined }) | { problem: string };

export declare function pinnedNode(from: string | URL): string | undefined;
export declare function chooseNode(current: { pinned: string | undefined; execPath: string; version: string }): Choice<'node'>;
export declare function chooseEntry(root: string, exists?: (path: string) => boolean): Choice<'entry'>;
export declare function terminalSignalsGroup(statText: string): boolean;

export type ChildOutcome = { error: Error } | { error?: undefined; code: number | null; signal: NodeJS.Signals | null };

export declare function runChild(
  node: string,
  args: readonly string[],
  options?: { signals?: readonly NodeJS.Signals[]; reachedChild?: () => boolean; parentPollMs?: number },
): Promise<ChildOutcome>;
export declare function finish(outcome: ChildOutcome): void;
export declare function launch(shimUrl: string, argv: readonly string[]): Promise<void>;
