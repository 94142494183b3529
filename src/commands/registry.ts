// The command registry: lookup by name (rename-command applied), key positions, subcommands and
// commandstats over the specs that src/commands/table.ts registers. It imports no command family
// and nothing of the server, so the runtime, the services command bodies call (tracking, INFO,
// the scripting engine) and the command files can all use it without an import cycle.
import type { CommandSpec } from './types';
import { lower } from './args';
import { compileFlags } from './flags';
import { STAT_FIELDS } from '../store/keyspace';

/** Every command spec, in table order (filled by registerCommands). */
export const allCommands: CommandSpec[] = [];

/** The names clients call commands by (rename-command changes them; specs keep their own names,
 *  which COMMAND INFO and commandstats show, as Redis keeps cmd->fullname). */
const byName = new Map<string, CommandSpec>();
/** A name the dispatcher knows and the command it runs. */
class Entry {
  constructor(readonly name: string, readonly spec: CommandSpec) {}
}
/** Commands by a hash of their lower-cased name (small integer keys: fast Map lookups). */
const byHash = new Map<number, Entry[]>();

function nameHash(b: Uint8Array | string): number {
  let h = b.length;
  for (let i = 0; i < b.length; i++) {
    let c = typeof b === 'string' ? b.charCodeAt(i) : b[i];
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, 16777619);
  }
  return h & 0x3fffffff;
}

function sameName(b: Uint8Array, name: string): boolean {
  if (b.length !== name.length) return false;
  for (let i = 0; i < b.length; i++) {
    let c = b[i];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== name.charCodeAt(i)) return false;
  }
  return true;
}
let nstats = 0;

function addName(name: string, spec: CommandSpec): void {
  byName.set(name, spec);
  const h = nameHash(name);
  const list = byHash.get(h);
  if (list === undefined) byHash.set(h, [new Entry(name, spec)]);
  else list.push(new Entry(name, spec));
}

function removeName(name: string): CommandSpec | undefined {
  const spec = byName.get(name);
  if (spec === undefined) return undefined;
  byName.delete(name);
  const h = nameHash(name);
  const list = (byHash.get(h) as Entry[]).filter((e) => e.name !== name);
  if (list.length === 0) byHash.delete(h);
  else byHash.set(h, list);
  return spec;
}

/**
 * rename-command, in config order (Config validated them at load): the command leaves the table
 * under its old name and, unless the new name is "", comes back under the new one (config.c).
 */
export function applyRenames(renames: Array<[string, string]>): void {
  for (const [from, to] of renames) {
    const spec = removeName(from.toLowerCase());
    if (spec !== undefined && to !== '') addName(to.toLowerCase(), spec);
  }
}

/** The commands clients can call now, each once (COMMAND, COMMAND COUNT/LIST/DOCS). */
export function liveCommands(): CommandSpec[] {
  return [...new Set(byName.values())];
}

/** Register the table's specs (once, from src/commands/table.ts, before any lookup). */
export function registerCommands(specs: CommandSpec[]): void {
  for (const spec of specs) {
    if (byName.has(spec.name)) throw new Error(`command ${spec.name} defined twice`);
    allCommands.push(spec);
    addName(spec.name, spec);
    spec.fullName = spec.name;
    spec.statIndex = nstats++;
    compileFlags(spec);
    for (const sub of spec.subcommands ?? []) {
      sub.fullName = `${spec.name}|${sub.name}`;
      sub.statIndex = nstats++;
      compileFlags(sub);
    }
  }
  commandStatCount = nstats;
}

/** The full name ("debug", "client|list") of the command with this commandstats index. */
export function commandNameOfStat(statIndex: number): string | undefined {
  for (const spec of allCommands) {
    if (spec.statIndex === statIndex) return spec.fullName;
    for (const sub of spec.subcommands ?? []) if (sub.statIndex === statIndex) return sub.fullName;
  }
  return undefined;
}

export const STATS_PER_COMMAND = 4; // calls, usec, rejected, failed
/** Commands and subcommands with a commandstats entry (set by registerCommands). */
export let commandStatCount = 0;
/** f64 index where the commandstats area starts (set once the layout is known). */
let statsArea = 0;
export function setCommandStatsArea(f64Index: number): void {
  statsArea = f64Index;
}
export function commandStatsBytes(threads: number): number {
  return (threads + 8) * nstats * STATS_PER_COMMAND * 8;
}

export function statBase(threadId: number, spec: CommandSpec): number {
  return statsArea + (threadId * nstats + (spec.statIndex as number)) * STATS_PER_COMMAND;
}

export function statBaseOf(threadId: number, statIndex: number): number {
  return statsArea + (threadId * nstats + statIndex) * STATS_PER_COMMAND;
}

/** Look a command up by its name's bytes, any case, without making a string. */
export function lookupCommand(name: Buffer): CommandSpec | undefined {
  const list = byHash.get(nameHash(name));
  if (list === undefined) return undefined;
  for (let i = 0; i < list.length; i++) if (sameName(name, list[i].name)) return list[i].spec;
  return undefined;
}

/** A command by the name clients call it (after rename-command). */
export function commandByName(name: string): CommandSpec | undefined {
  return byName.get(name.toLowerCase());
}

export function resolveSubcommand(spec: CommandSpec, sub: Buffer): CommandSpec | undefined {
  const n = lower(sub);
  return spec.subcommands?.find((s) => s.name === n);
}

/** Argument indexes of a command's keys. */
export function commandKeys(spec: CommandSpec, argv: Buffer[]): number[] {
  if (spec.keys !== undefined) return spec.keys(argv);
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
  const out: number[] = [];
  for (let i = spec.firstKey; i <= last && i < argv.length; i += spec.step) out.push(i);
  return out;
}

/** Per-command statistics summed over every thread, for INFO commandstats. */
export function commandStats(f64: Float64Array, threads: number): Array<{ name: string; calls: number; usec: number; rejected: number; failed: number }> {
  const out: Array<{ name: string; calls: number; usec: number; rejected: number; failed: number }> = [];
  const visit = (spec: CommandSpec): void => {
    let calls = 0, usec = 0, rejected = 0, failed = 0;
    for (let t = 0; t < threads + 8; t++) {
      const b = statsArea + (t * nstats + (spec.statIndex as number)) * STATS_PER_COMMAND;
      calls += f64[b];
      usec += f64[b + 1];
      rejected += f64[b + 2];
      failed += f64[b + 3];
    }
    if (calls + rejected + failed > 0) out.push({ name: spec.fullName as string, calls, usec, rejected, failed });
  };
  for (const spec of allCommands) {
    visit(spec);
    for (const sub of spec.subcommands ?? []) visit(sub);
  }
  return out;
}

export function resetCommandStats(f64: Float64Array, threads: number): void {
  f64.fill(0, statsArea, statsArea + (threads + 8) * nstats * STATS_PER_COMMAND);
}

void STAT_FIELDS;
