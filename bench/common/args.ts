/** A tiny flag parser shared by the benchmark CLIs (`--flag value`, `--switch`, positionals). */
export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string>;
  switches: Set<string>;
}

export function parseFlags(argv: readonly string[], spec: { values: readonly string[]; switches: readonly string[] }): ParsedArgs {
  const out: ParsedArgs = { positionals: [], values: new Map(), switches: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') continue;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (spec.switches.includes(name)) {
        out.switches.add(name);
      } else if (spec.values.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new Error(`--${name} needs a value`);
        out.values.set(name, v);
      } else {
        throw new Error(`unknown argument ${a}`);
      }
    } else {
      out.positionals.push(a);
    }
  }
  return out;
}

/** A non-negative number flag, or the fallback; accepts 10k / 1M / 1e6 shorthands. */
export function numberFlag(p: ParsedArgs, name: string, fallback?: number): number | undefined {
  const v = p.values.get(name);
  if (v === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)([kKmM]?)$/.exec(v.trim());
  if (!m) throw new Error(`--${name} must be a number, got ${v}`);
  const mult = m[2].toLowerCase() === 'k' ? 1e3 : m[2].toLowerCase() === 'm' ? 1e6 : 1;
  return Math.round(Number(m[1]) * mult);
}
