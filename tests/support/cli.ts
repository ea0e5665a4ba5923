import type { CliIO } from '../../cli/command.ts';
import { main } from '../../cli/main.ts';

/** Runs `rheo <argv>` in this process, capturing what it prints and its exit status. */
export async function rheo(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) };
  const code = await main(argv, io);
  return { code, out, err };
}
