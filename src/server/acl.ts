// ACL users (Redis 7.0's acl.c semantics): users, selectors, rule parsing, ACL LIST's description
// and the permission check run before every command. Every worker thread holds its own copy of
// the users; a change is made on one thread, serialized (plain objects, structured-clone
// friendly) with a version from a shared word, and broadcast to every thread, which adopts it
// when its version is newer (see commands/acl.ts). Strings are latin1, so any byte survives.
import { createHash } from 'node:crypto';
import type { CommandSpec } from '../commands/types';
import { allCommands, commandKeys } from '../commands/registry';
import { ACL_ORDER, aclCategories, keyFlagsAt, keySpecs, variableKeyFlags } from '../commands/spec-meta';
import { globMatch } from '../config/glob';
import { splitArgs } from '../config/config';
import { F_NO_AUTH as F_NO_AUTH_BIT } from '../commands/flags';
import type { Client } from './client';
import type { ThreadServer } from './context';

// Selector flags.
const SEL_ROOT = 1;
const SEL_ALLKEYS = 2;
const SEL_ALLCHANNELS = 4;
const SEL_ALLCOMMANDS = 8;
// User flags, in ACL LIST's order.
const U_ON = 1;
const U_OFF = 2;
const U_NOPASS = 4;
const U_SKIP_SANITIZE = 8;
const U_SANITIZE = 16;
const USER_FLAGS: Array<[string, number]> = [['on', U_ON], ['off', U_OFF], ['nopass', U_NOPASS], ['skip-sanitize-payload', U_SKIP_SANITIZE], ['sanitize-payload', U_SANITIZE]];
// Key pattern permissions.
const P_READ = 1;
const P_WRITE = 2;
const P_ALL = 3;

// Denial reasons (ACL_DENIED_*), also the ACL LOG reasons.
export const ACL_OK = 0;
export const DENIED_CMD = 1;
export const DENIED_KEY = 2;
export const DENIED_AUTH = 3;
export const DENIED_CHANNEL = 4;
export const CTX_TOPLEVEL = 0;
export const CTX_LUA = 1;
export const CTX_MULTI = 2;

/** An ACLSetUser failure: the text ACLSetUserStringError gives. */
export class AclRuleError extends Error {}
const E_ENOENT = 'Unknown command or category name in ACL';
const E_EINVAL = 'Syntax error';
const E_EEXIST = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const E_EISDIR = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const E_ENODEV = 'The password you are trying to remove from the user does not exist';
const E_EBADMSG = 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters';
const E_ECHILD = 'Allowing first-arg of a subcommand is not supported';

// ---------------------------------------------------------------------------------------------
// Command ids (a spec's statIndex: unique over commands and subcommands), categories.

let nIds = 0;
/** The reserved last bit: set only by +@all, "may run future commands". */
let FUTURE = 0;
const byFullName = new Map<string, CommandSpec>();
const catIndex = new Map<string, number>();
let specCats: number[][] = [];

function init(): void {
  if (nIds !== 0 || allCommands.length === 0) return;
  let max = 0;
  for (const s of allCommands) {
    max = Math.max(max, s.statIndex as number);
    for (const sub of s.subcommands ?? []) max = Math.max(max, sub.statIndex as number);
  }
  nIds = max + 2;
  FUTURE = nIds - 1;
  ACL_ORDER.forEach((c, i) => catIndex.set(c, i));
  specCats = new Array<number[]>(nIds);
  const add = (s: CommandSpec): void => {
    byFullName.set(s.fullName as string, s);
    specCats[s.statIndex as number] = aclCategories(s).map((c) => catIndex.get(c) as number);
  };
  for (const s of allCommands) {
    add(s);
    for (const sub of s.subcommands ?? []) add(sub);
  }
}

function cats(s: CommandSpec): number[] {
  return specCats[s.statIndex as number];
}

/** ACLLookupCommand: the original table (rename-command does not apply), "cmd" or "cmd|sub". */
function lookupAclCommand(name: string): CommandSpec | undefined {
  return byFullName.get(name.toLowerCase());
}

export function categoryNames(): readonly string[] {
  return ACL_ORDER;
}

/** ACL CAT <category>: full names of the commands in it (undefined: no such category). */
export function commandsInCategory(name: string): string[] | undefined {
  init();
  const ci = catIndex.get(name.toLowerCase());
  if (ci === undefined) return undefined;
  const out: string[] = [];
  for (const s of allCommands) {
    if (cats(s).includes(ci)) out.push(s.fullName as string);
    for (const sub of s.subcommands ?? []) if (cats(sub).includes(ci)) out.push(sub.fullName as string);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Selectors and users

interface KeyPattern {
  pat: string;
  buf: Buffer;
  flags: number;
}

export class Selector {
  flags: number;
  cmds: Uint8Array;
  /** Allowed first arguments of otherwise denied commands, by command id. */
  firstArgs: Map<number, string[]> | null = null;
  patterns: KeyPattern[] = [];
  channels: Array<{ pat: string; buf: Buffer }> = [];

  constructor(flags: number, pubsubDefault: number) {
    init();
    this.flags = flags | pubsubDefault;
    this.cmds = new Uint8Array(nIds);
  }

  copy(): Selector {
    const s = new Selector(0, 0);
    s.flags = this.flags;
    s.cmds.set(this.cmds);
    if (this.firstArgs !== null) s.firstArgs = new Map([...this.firstArgs].map(([k, v]) => [k, v.slice()]));
    s.patterns = this.patterns.map((p) => ({ ...p }));
    s.channels = this.channels.slice();
    return s;
  }

  private setBit(id: number, on: boolean): void {
    this.cmds[id] = on ? 1 : 0;
    if (!on) this.flags &= ~SEL_ALLCOMMANDS;
  }

  /** ACLChangeSelectorPerm: a command, and with it every subcommand. */
  changePerm(cmd: CommandSpec, allow: boolean): void {
    const id = cmd.statIndex as number;
    this.setBit(id, allow);
    this.firstArgs?.delete(id);
    for (const sub of cmd.subcommands ?? []) this.setBit(sub.statIndex as number, allow);
  }

  setCategory(ci: number, allow: boolean): void {
    for (const s of allCommands) {
      if (cats(s).includes(ci)) this.changePerm(s, allow);
      for (const sub of s.subcommands ?? []) if (cats(sub).includes(ci)) this.changePerm(sub, allow);
    }
  }

  /** ACLSetSelector: one rule about commands, keys or channels. */
  apply(op: string): void {
    const lop = op.toLowerCase();
    if (lop === 'allkeys' || op === '~*') {
      this.flags |= SEL_ALLKEYS;
      this.patterns = [];
    } else if (lop === 'resetkeys') {
      this.flags &= ~SEL_ALLKEYS;
      this.patterns = [];
    } else if (lop === 'allchannels' || op === '&*') {
      this.flags |= SEL_ALLCHANNELS;
      this.channels = [];
    } else if (lop === 'resetchannels') {
      this.flags &= ~SEL_ALLCHANNELS;
      this.channels = [];
    } else if (lop === 'allcommands' || lop === '+@all') {
      this.cmds.fill(1);
      this.flags |= SEL_ALLCOMMANDS;
      this.firstArgs = null;
    } else if (lop === 'nocommands' || lop === '-@all') {
      this.cmds.fill(0);
      this.flags &= ~SEL_ALLCOMMANDS;
      this.firstArgs = null;
    } else if (op[0] === '~' || op[0] === '%') {
      if ((this.flags & SEL_ALLKEYS) !== 0) throw new AclRuleError(E_EEXIST);
      let flags = 0;
      let off = 1;
      if (op[0] === '%') {
        for (; off < op.length; off++) {
          const ch = op[off].toUpperCase();
          if (ch === 'R' && (flags & P_READ) === 0) flags |= P_READ;
          else if (ch === 'W' && (flags & P_WRITE) === 0) flags |= P_WRITE;
          else if (op[off] === '~') {
            off++;
            break;
          } else throw new AclRuleError(E_EINVAL);
        }
      } else flags = P_ALL;
      const pat = op.slice(off);
      if (hasSpaces(pat)) throw new AclRuleError(E_EINVAL);
      const old = this.patterns.find((p) => p.pat === pat);
      if (old !== undefined) old.flags |= flags;
      else this.patterns.push({ pat, buf: Buffer.from(pat, 'latin1'), flags });
      this.flags &= ~SEL_ALLKEYS;
    } else if (op[0] === '&') {
      if ((this.flags & SEL_ALLCHANNELS) !== 0) throw new AclRuleError(E_EISDIR);
      const pat = op.slice(1);
      if (hasSpaces(pat)) throw new AclRuleError(E_EINVAL);
      if (!this.channels.some((c) => c.pat === pat)) this.channels.push({ pat, buf: Buffer.from(pat, 'latin1') });
      this.flags &= ~SEL_ALLCHANNELS;
    } else if (op[0] === '+' && op[1] !== '@') {
      const bar = op.lastIndexOf('|');
      if (bar < 0) {
        const cmd = lookupAclCommand(op.slice(1));
        if (cmd === undefined) throw new AclRuleError(E_ENOENT);
        this.changePerm(cmd, true);
        return;
      }
      const cmd = lookupAclCommand(op.slice(1, bar));
      if (cmd === undefined) throw new AclRuleError(E_ENOENT);
      if (cmd.fullName !== cmd.name) throw new AclRuleError(E_ECHILD);
      const sub = op.slice(bar + 1);
      if (sub === '') throw new AclRuleError(E_EINVAL);
      if (cmd.subcommands !== undefined) {
        const s = lookupAclCommand(op.slice(1));
        if (s === undefined) throw new AclRuleError(E_ENOENT);
        this.changePerm(s, true);
      } else {
        // First-arg rules (+select|0): deprecated in Redis, kept for compatibility.
        const id = cmd.statIndex as number;
        if (this.firstArgs === null) this.firstArgs = new Map();
        const list = this.firstArgs.get(id) ?? [];
        if (!list.some((a) => a.toLowerCase() === sub.toLowerCase())) list.push(sub);
        this.firstArgs.set(id, list);
      }
    } else if (op[0] === '-' && op[1] !== '@') {
      const cmd = lookupAclCommand(op.slice(1));
      if (cmd === undefined) throw new AclRuleError(E_ENOENT);
      this.changePerm(cmd, false);
    } else if ((op[0] === '+' || op[0] === '-') && op[1] === '@') {
      const ci = catIndex.get(op.slice(2).toLowerCase());
      if (ci === undefined) throw new AclRuleError(E_ENOENT);
      this.setCategory(ci, op[0] === '+');
    } else {
      throw new AclRuleError(E_EINVAL);
    }
  }

  /** ACLDescribeSelectorCommandRules: +@all/-@all, the best-fitting categories, then single commands. */
  describeCommands(): string {
    const rules: string[] = [];
    const additive = this.cmds[FUTURE] === 0;
    const fake = new Selector(0, 0);
    fake.apply(additive ? '-@all' : '+@all');
    rules.push(additive ? '-@all' : '+@all');
    const temp = new Selector(0, 0);
    temp.cmds.set(this.cmds);
    const applied = new Uint8Array(ACL_ORDER.length);
    for (;;) {
      let best = -1;
      let mindiff = Number.MAX_SAFE_INTEGER;
      let maxsame = 0;
      for (let j = 0; j < ACL_ORDER.length; j++) {
        if (applied[j] !== 0) continue;
        let on = 0;
        let off = 0;
        const count = (s: CommandSpec): void => {
          if (!cats(s).includes(j)) return;
          if (temp.cmds[s.statIndex as number] !== 0) on++;
          else off++;
        };
        for (const s of allCommands) {
          count(s);
          for (const sub of s.subcommands ?? []) count(sub);
        }
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < mindiff || (diff === mindiff && same > maxsame))) {
          best = j;
          mindiff = diff;
          maxsame = same;
        }
      }
      if (best === -1) break;
      fake.setCategory(best, additive);
      temp.setCategory(best, !additive);
      rules.push(`${additive ? '+@' : '-@'}${ACL_ORDER[best]}`);
      applied[best] = 1;
    }
    const single = (s: CommandSpec): void => {
      const id = s.statIndex as number;
      const userbit = this.cmds[id] !== 0;
      if (userbit !== (fake.cmds[id] !== 0)) {
        rules.push(`${userbit ? '+' : '-'}${s.fullName as string}`);
        fake.changePerm(s, userbit);
      }
      for (const sub of s.subcommands ?? []) single(sub);
      const fa = this.firstArgs?.get(id);
      if (!userbit && fa !== undefined) for (const a of fa) rules.push(`+${s.fullName as string}|${a}`);
    };
    for (const s of allCommands) single(s);
    return rules.join(' ');
  }

  /** ACLDescribeSelector: keys, channels, commands. */
  describe(): string {
    let res = '';
    if ((this.flags & SEL_ALLKEYS) !== 0) res += '~* ';
    else for (const p of this.patterns) res += `${patternString(p)} `;
    if ((this.flags & SEL_ALLCHANNELS) !== 0) res += '&* ';
    else {
      res += 'resetchannels ';
      for (const c of this.channels) res += `&${c.pat} `;
    }
    return res + this.describeCommands();
  }

  keysDescription(): string {
    if ((this.flags & SEL_ALLKEYS) !== 0) return '~*';
    return this.patterns.map(patternString).join(' ');
  }

  channelsDescription(): string {
    if ((this.flags & SEL_ALLCHANNELS) !== 0) return '&*';
    return this.channels.map((c) => `&${c.pat}`).join(' ');
  }

  /** ACLSelectorCheckCmd. The denied argument's index goes to deniedIdx. */
  check(cmd: CommandSpec, argv: Buffer[]): number {
    const id = cmd.statIndex as number;
    if ((this.flags & SEL_ALLCOMMANDS) === 0 && ((cmd.bits as number) & F_NO_AUTH_BIT) === 0 && this.cmds[id] === 0) {
      const fa = this.firstArgs?.get(id);
      if (argv.length < 2 || fa === undefined) return DENIED_CMD;
      const arg = argv[cmd.fullName !== cmd.name ? 2 : 1];
      if (arg === undefined) return DENIED_CMD;
      const a = arg.toString('latin1').toLowerCase();
      if (!fa.some((x) => x.toLowerCase() === a)) return DENIED_CMD;
    }
    if ((this.flags & SEL_ALLKEYS) === 0) {
      const keys = keysOf(cmd, argv);
      for (let j = 0; j < keys.length; j += 2) {
        if (!this.keyAllowed(argv[keys[j]], keys[j + 1])) {
          deniedIdx = keys[j];
          return DENIED_KEY;
        }
      }
    }
    if ((this.flags & SEL_ALLCHANNELS) === 0) {
      const ch = channelArgs(cmd, argv.length);
      if (ch !== null) {
        for (let j = ch.first; j <= ch.last; j++) {
          if (!channelAllowed(this.channels, argv[j], ch.pattern)) {
            deniedIdx = j;
            return DENIED_CHANNEL;
          }
        }
      }
    }
    return ACL_OK;
  }

  /** ACLSelectorCheckKey; perm is P_READ / P_WRITE bits. */
  keyAllowed(key: Buffer, perm: number): boolean {
    if ((this.flags & SEL_ALLKEYS) !== 0) return true;
    for (const p of this.patterns) {
      if ((p.flags & perm) !== perm) continue;
      if (globMatch(p.buf, key)) return true;
    }
    return false;
  }

  hasUnrestrictedKeyAccess(perm: number): boolean {
    if ((this.flags & SEL_ALLKEYS) !== 0) return true;
    return this.patterns.some((p) => (p.flags & perm) === perm && p.pat === '*');
  }
}

function patternString(p: KeyPattern): string {
  return (p.flags === P_ALL ? '~' : p.flags === P_READ ? '%R~' : '%W~') + p.pat;
}

function hasSpaces(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 32 || (c >= 9 && c <= 13)) return true;
  }
  return false;
}

function channelAllowed(list: Array<{ pat: string; buf: Buffer }>, ch: Buffer, isPattern: boolean): boolean {
  for (const p of list) {
    if (isPattern ? p.buf.equals(ch) : globMatch(p.buf, ch)) return true;
  }
  return false;
}

/** Channel arguments checked by ACLs (db.c's commands_with_channels, publish and subscribe only). */
function channelArgs(cmd: CommandSpec, argc: number): { first: number; last: number; pattern: boolean } | null {
  switch (cmd.fullName) {
    case 'publish':
    case 'spublish':
      return { first: 1, last: 1, pattern: false };
    case 'subscribe':
    case 'ssubscribe':
      return { first: 1, last: argc - 1, pattern: false };
    case 'psubscribe':
      return { first: 1, last: argc - 1, pattern: true };
    default:
      return null;
  }
}

/** The index of the argument a denial names (ACL LOG's object, DRYRUN's text). */
export let deniedIdx = 0;

/** Key positions with the permission each needs, flattened [idx, perm, idx, perm...]. */
function keysOf(cmd: CommandSpec, argv: Buffer[]): number[] {
  const specs = keySpecs(cmd);
  if (specs.length === 0 && cmd.keys === undefined && cmd.firstKey <= 0) return [];
  if (specs.length > 0 && specs.every((s) => s[1].includes('not_key'))) return [];
  const idx = commandKeys(cmd, argv);
  const out: number[] = [];
  for (const k of idx) {
    let flags = keyFlagsAt(specs, k);
    if (flags.includes('variable_flags')) flags = variableKeyFlags(cmd.name, argv);
    let perm = 0;
    if (flags.includes('access')) perm |= P_READ;
    if (flags.includes('insert') || flags.includes('delete') || flags.includes('update')) perm |= P_WRITE;
    out.push(k, perm);
  }
  return out;
}

export class AclUser {
  flags = U_OFF;
  passwords: string[] = [];
  selectors: Selector[];
  /** Root selector has every command, key and channel: the dispatcher skips the check. */
  unrestricted = false;
  /** Not a real user (the AOF loader, a master link): never checked, never listed. */
  internal = false;
  private described: string | null = null;

  constructor(readonly name: string, pubsubDefault: number) {
    this.selectors = [new Selector(SEL_ROOT, pubsubDefault)];
  }

  get root(): Selector {
    return this.selectors[0];
  }

  get enabled(): boolean {
    return (this.flags & U_OFF) === 0 && (this.flags & U_ON) !== 0;
  }

  get nopass(): boolean {
    return (this.flags & U_NOPASS) !== 0;
  }

  get disabled(): boolean {
    return (this.flags & U_OFF) !== 0;
  }

  copyFrom(src: AclUser): void {
    this.flags = src.flags;
    this.passwords = src.passwords.slice();
    this.selectors = src.selectors.map((s) => s.copy());
    this.refresh();
  }

  refresh(): void {
    this.described = null;
    const r = this.root.flags;
    this.unrestricted = (r & (SEL_ALLKEYS | SEL_ALLCHANNELS | SEL_ALLCOMMANDS)) === (SEL_ALLKEYS | SEL_ALLCHANNELS | SEL_ALLCOMMANDS);
  }

  /** ACLSetUser: one rule; throws AclRuleError. */
  apply(op: string, pubsubDefault: number): void {
    this.described = null;
    if (op === '') return;
    const lop = op.toLowerCase();
    if (lop === 'on') this.flags = (this.flags | U_ON) & ~U_OFF;
    else if (lop === 'off') this.flags = (this.flags | U_OFF) & ~U_ON;
    else if (lop === 'skip-sanitize-payload') this.flags = (this.flags | U_SKIP_SANITIZE) & ~U_SANITIZE;
    else if (lop === 'sanitize-payload') this.flags = (this.flags | U_SANITIZE) & ~U_SKIP_SANITIZE;
    else if (lop === 'nopass') {
      this.flags |= U_NOPASS;
      this.passwords = [];
    } else if (lop === 'resetpass') {
      this.flags &= ~U_NOPASS;
      this.passwords = [];
    } else if (op[0] === '>' || op[0] === '#') {
      let h: string;
      if (op[0] === '>') h = hashPassword(op.slice(1));
      else {
        h = op.slice(1);
        if (!validHash(h)) throw new AclRuleError(E_EBADMSG);
      }
      if (!this.passwords.includes(h)) this.passwords.push(h);
      this.flags &= ~U_NOPASS;
    } else if (op[0] === '<' || op[0] === '!') {
      let h: string;
      if (op[0] === '<') h = hashPassword(op.slice(1));
      else {
        h = op.slice(1);
        if (!validHash(h)) throw new AclRuleError(E_EBADMSG);
      }
      const i = this.passwords.indexOf(h);
      if (i < 0) throw new AclRuleError(E_ENODEV);
      this.passwords.splice(i, 1);
    } else if (op[0] === '(' && op[op.length - 1] === ')') {
      const s = new Selector(0, pubsubDefault);
      const args = splitArgs(op.slice(1, -1)) ?? [];
      for (const a of args) s.apply(a);
      this.selectors.push(s);
    } else if (lop === 'clearselectors') {
      this.selectors.length = 1;
    } else if (lop === 'reset') {
      this.apply('resetpass', pubsubDefault);
      this.apply('resetkeys', pubsubDefault);
      this.apply('resetchannels', pubsubDefault);
      if ((pubsubDefault & SEL_ALLCHANNELS) !== 0) this.apply('allchannels', pubsubDefault);
      this.apply('off', pubsubDefault);
      this.apply('sanitize-payload', pubsubDefault);
      this.apply('clearselectors', pubsubDefault);
      this.apply('-@all', pubsubDefault);
    } else {
      this.root.apply(op);
    }
  }

  /** ACLDescribeUser: what ACL LIST shows after "user <name> ". */
  describe(): string {
    if (this.described !== null) return this.described;
    let res = '';
    for (const [n, f] of USER_FLAGS) if ((this.flags & f) !== 0) res += `${n} `;
    for (const p of this.passwords) res += `#${p} `;
    this.selectors.forEach((s, i) => {
      res += i === 0 ? s.describe() : ` (${s.describe()})`;
    });
    this.described = res;
    return res;
  }

  flagNames(): string[] {
    return USER_FLAGS.filter(([, f]) => (this.flags & f) !== 0).map(([n]) => n);
  }

  /** ACLCheckAllUserCommandPerm: 0, or the most relevant denial (deniedIdx names the argument). */
  check(cmd: CommandSpec, argv: Buffer[]): number {
    let relevant = DENIED_CMD;
    let lastIdx = 0;
    for (const s of this.selectors) {
      deniedIdx = 0;
      const r = s.check(cmd, argv);
      if (r === ACL_OK) return ACL_OK;
      if (r > relevant || (r === relevant && deniedIdx > lastIdx)) {
        relevant = r;
        lastIdx = deniedIdx;
      }
    }
    deniedIdx = lastIdx;
    return relevant;
  }

  /** ACLUserCheckChannelPerm (RESET's and the pub/sub kill check). */
  channelAllowed(ch: Buffer, isPattern: boolean): boolean {
    for (const s of this.selectors) {
      if ((s.flags & SEL_ALLCHANNELS) !== 0) return true;
      if (channelAllowed(s.channels, ch, isPattern)) return true;
    }
    return false;
  }

  /** ACLUserCheckKeyPerm: may this user touch the key with this access (R=1, W=2)? */
  keyAllowed(key: Buffer, perm: number): boolean {
    return this.selectors.some((s) => s.keyAllowed(key, perm));
  }

  /** ACLUserCheckCmdWithUnrestrictedKeyAccess (KEYS/SCAN-like checks, MIGRATE...). */
  cmdWithUnrestrictedKeys(cmd: CommandSpec, argv: Buffer[], perm: number): boolean {
    return this.selectors.some((s) => s.check(cmd, argv) === ACL_OK && s.hasUnrestrictedKeyAccess(perm));
  }

  checkPassword(pass: Buffer): boolean {
    if (this.nopass) return true;
    const h = createHash('sha256').update(pass).digest('hex');
    return this.passwords.includes(h);
  }

  toState(): UserState {
    return {
      name: this.name,
      flags: this.flags,
      passwords: this.passwords.slice(),
      selectors: this.selectors.map((s) => ({
        flags: s.flags,
        cmds: s.cmds.slice(),
        firstArgs: s.firstArgs === null ? null : [...s.firstArgs],
        patterns: s.patterns.map((p) => [p.pat, p.flags] as [string, number]),
        channels: s.channels.map((c) => c.pat),
      })),
    };
  }

  static fromState(st: UserState): AclUser {
    const u = new AclUser(st.name, 0);
    u.flags = st.flags;
    u.passwords = st.passwords.slice();
    u.selectors = st.selectors.map((ss) => {
      const s = new Selector(0, 0);
      s.flags = ss.flags;
      s.cmds.set(ss.cmds.subarray(0, s.cmds.length));
      s.firstArgs = ss.firstArgs === null ? null : new Map(ss.firstArgs);
      s.patterns = ss.patterns.map(([pat, flags]) => ({ pat, buf: Buffer.from(pat, 'latin1'), flags }));
      s.channels = ss.channels.map((pat) => ({ pat, buf: Buffer.from(pat, 'latin1') }));
      return s;
    });
    u.refresh();
    return u;
  }
}

export interface UserState {
  name: string;
  flags: number;
  passwords: string[];
  selectors: Array<{ flags: number; cmds: Uint8Array; firstArgs: Array<[number, string[]]> | null; patterns: Array<[string, number]>; channels: string[] }>;
}

export function hashPassword(pass: string): string {
  return createHash('sha256').update(Buffer.from(pass, 'latin1')).digest('hex');
}

function validHash(h: string): boolean {
  return /^[0-9a-f]{64}$/.test(h);
}

/** A user for internal clients (AOF loading, the master link, the main thread): no checks. */
export const SUPERUSER = ((): AclUser => {
  const u = Object.create(AclUser.prototype) as AclUser;
  Object.assign(u, { name: 'default', flags: U_ON | U_NOPASS, passwords: [], selectors: [], unrestricted: true, internal: true });
  return u;
})();

// ---------------------------------------------------------------------------------------------
// The set of users (one per thread)

/** acl-pubsub-default as selector flags. */
export function pubsubDefaultFlags(value: string): number {
  return value === 'allchannels' ? SEL_ALLCHANNELS : 0;
}

/** ACLMergeSelectorArguments: "(" ... ")" arguments joined into one; null: unmatched (index in .bad). */
export function mergeSelectorArgs(args: string[]): { merged: string[] } | { bad: number } {
  const out: string[] = [];
  let sel: string | null = null;
  let start = -1;
  for (let j = 0; j < args.length; j++) {
    const op = args[j];
    if (op[0] === '(' && op[op.length - 1] !== ')') {
      sel = op;
      start = j;
      continue;
    }
    if (start !== -1) {
      sel = `${sel as string} ${op}`;
      if (op[op.length - 1] === ')') {
        start = -1;
        out.push(sel);
      }
      continue;
    }
    out.push(op);
  }
  if (start !== -1) return { bad: start };
  return { merged: out };
}

export class Users {
  users = new Map<string, AclUser>();
  version = 0;
  pubsubDefault = 0;

  constructor(pubsubDefault: number) {
    this.pubsubDefault = pubsubDefault;
    this.users.set('default', Users.createDefault(pubsubDefault));
  }

  static createDefault(pubsubDefault: number): AclUser {
    const u = new AclUser('default', pubsubDefault);
    for (const op of ['+@all', '~*', '&*', 'on', 'nopass']) u.apply(op, pubsubDefault);
    u.refresh();
    return u;
  }

  get defaultUser(): AclUser {
    return this.users.get('default') as AclUser;
  }

  get(name: string): AclUser | undefined {
    return this.users.get(name);
  }

  /** Names in rax order (bytes ascending). */
  sorted(): AclUser[] {
    return [...this.users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * ACLStringSetUser on a copy: the changed user, or the error text (without "ERR "). The users
   * are not changed: the caller broadcasts the result.
   */
  setUser(name: string, rules: string[]): AclUser | string {
    const m = mergeSelectorArgs(rules);
    if ('bad' in m) return `Unmatched parenthesis in acl selector starting at '${rules[m.bad]}'.`;
    const old = this.users.get(name);
    const u = new AclUser(name, this.pubsubDefault);
    if (old !== undefined) u.copyFrom(old);
    for (const op of m.merged) {
      try {
        u.apply(op, this.pubsubDefault);
      } catch (e) {
        if (e instanceof AclRuleError) return `Error in ACL SETUSER modifier '${op}': ${e.message}`;
        throw e;
      }
    }
    u.refresh();
    return u;
  }

  toState(): UserState[] {
    return this.sorted().map((u) => u.toState());
  }

  /** Adopt a serialized set of users. */
  adopt(state: UserState[], version: number): void {
    const m = new Map<string, AclUser>();
    for (const st of state) m.set(st.name, AclUser.fromState(st));
    if (!m.has('default')) m.set('default', Users.createDefault(this.pubsubDefault));
    this.users = m;
    this.version = version;
  }

  /**
   * Users from `user` lines (config directives or an ACL file): null, or the errors as
   * ACLLoadFromFile words them. `file` names the file in messages ('' for config directives).
   */
  static load(lines: string[][], file: string, pubsubDefault: number, fromFile: boolean): { users: Map<string, AclUser> } | { error: string } {
    const users = new Map<string, AclUser>();
    let errors = '';
    lines.forEach((argv, i) => {
      const linenum = i + 1;
      if (argv.length === 0) return;
      if (argv[0] !== 'user' || argv.length < 2) {
        errors += `${file}:${linenum} should start with user keyword followed by the username. `;
        return;
      }
      const name = argv[1];
      if (hasSpaces(name)) {
        errors += `'${file}:${linenum}: username '${name}' contains invalid characters. `;
        return;
      }
      if (users.has(name)) {
        errors += fromFile ? `WARNING: Duplicate user '${name}' found on line ${linenum}. ` : `Duplicate user '${name}'. `;
        return;
      }
      const u = new AclUser(name, pubsubDefault);
      if (name === 'default' && !fromFile) {
        // A configured default user starts from "reset" (ACLLoadConfiguredUsers).
        u.copyFrom(Users.createDefault(pubsubDefault));
        u.apply('reset', pubsubDefault);
      }
      users.set(name, u);
      const m = mergeSelectorArgs(argv.slice(2));
      if ('bad' in m) {
        errors += `${file}:${linenum}: Unmatched parenthesis in selector definition.`;
        return;
      }
      let syntax = false;
      for (const raw of m.merged) {
        const op = raw.replace(/^[\t\r\n]+|[\t\r\n]+$/g, '');
        try {
          u.apply(op, pubsubDefault);
        } catch (e) {
          if (!(e instanceof AclRuleError)) throw e;
          if (e.message === E_ENOENT) errors += `${file}:${linenum}: Error in applying operation '${op}': ${e.message}. `;
          else if (!syntax) {
            errors += `${file}:${linenum}: ${e.message}. `;
            syntax = true;
          }
        }
      }
      u.refresh();
    });
    if (errors !== '') return { error: errors };
    if (!users.has('default')) users.set('default', Users.createDefault(pubsubDefault));
    return { users };
  }
}

/** Split an ACL file into lines of arguments (sdssplitlen on spaces, after trimming). */
export function aclFileLines(text: string): string[][] {
  return text.split('\n').map((l) => {
    const t = l.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    if (t === '') return [];
    return t.split(' ');
  });
}

/** ACL LOG entry as posted to the main thread. */
export interface AclLogEntry {
  count: number;
  reason: number;
  context: number;
  object: string;
  username: string;
  ctime: number;
  cinfo: string;
}

/** addACLLogEntry's grouping and trimming; the log lives on the main thread. */
export class AclLog {
  entries: AclLogEntry[] = [];

  add(le: AclLogEntry, maxLen: number): void {
    const scan = Math.min(10, this.entries.length);
    for (let i = 0; i < scan; i++) {
      const cur = this.entries[i];
      if (cur.reason === le.reason && cur.context === le.context && Math.abs(cur.ctime - le.ctime) <= 60000 && cur.object === le.object && cur.username === le.username) {
        this.entries.splice(i, 1);
        cur.cinfo = le.cinfo;
        cur.ctime = le.ctime;
        cur.count++;
        this.entries.unshift(cur);
        return;
      }
    }
    this.entries.unshift(le);
    while (this.entries.length > maxLen) this.entries.pop();
  }
}

/** CLIENT LIST's line for a client (set by commands/acl.ts: that formatter lives with CLIENT). */
let clientInfo: (c: Client, now: number) => string = () => '';
export function setClientInfo(fn: (c: Client, now: number) => string): void {
  clientInfo = fn;
}

export const E_WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

// ---------------------------------------------------------------------------------------------
// Denials: replies, ACL LOG entries

/** processCommand's -NOPERM texts. */
export function noPermError(reason: number, spec: CommandSpec): string {
  if (reason === DENIED_CMD) return `NOPERM this user has no permissions to run the '${spec.fullName as string}' command`;
  if (reason === DENIED_KEY) return 'NOPERM this user has no permissions to access one of the keys used as arguments';
  if (reason === DENIED_CHANNEL) return 'NOPERM this user has no permissions to access one of the channels used as arguments';
  return 'NOPERM no permission';
}

/** getAclErrorMessage (scripts). */
export function aclErrorMessage(reason: number): string {
  if (reason === DENIED_CMD) return "can't run this command or subcommand";
  if (reason === DENIED_KEY) return "can't access at least one of the keys mentioned in the command arguments";
  if (reason === DENIED_CHANNEL) return "can't publish to the channel mentioned in the command";
  return 'lacking the permissions for the command';
}

/** EXEC's text when a queued command is no longer allowed. */
export function execNoPermError(reason: number): string {
  const why =
    reason === DENIED_CMD ? 'no permission to execute the command or subcommand'
      : reason === DENIED_KEY ? 'no permission to touch the specified keys'
        : reason === DENIED_CHANNEL ? 'no permission to access one of the channels used as arguments' : 'no permission';
  return `NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${why}`;
}

/** addACLLogEntry: the entry goes to the main thread, which keeps the one log of the server. */
export function logAclDenial(c: Client, reason: number, context: number, spec: CommandSpec | null, argv: Buffer[], username?: string): void {
  let object = '';
  if (reason === DENIED_CMD && spec !== null) object = spec.fullName as string;
  else if (reason === DENIED_KEY || reason === DENIED_CHANNEL) object = argv[deniedIdx]?.toString('latin1') ?? '';
  else if (reason === DENIED_AUTH) object = argv[0].toString('latin1');
  const entry: AclLogEntry = {
    count: 1, reason, context, object, username: username ?? c.user.name, ctime: Date.now(), cinfo: clientInfo(c, Date.now()),
  };
  c.srv.toMain({ type: 'acl-log', entry });
}

/** The dispatcher's check (the user is not unrestricted): true when denied (reply written). */
export function aclDenied(c: Client, spec: CommandSpec, argv: Buffer[]): string | null {
  const r = c.user.check(spec, argv);
  if (r === ACL_OK) return null;
  // CLIENT LIST's cmd= names the refused command (Redis sets lastcmd at lookup).
  c.lastCommand = spec.fullName as string;
  logAclDenial(c, r, c.inMulti ? CTX_MULTI : CTX_TOPLEVEL, spec, argv);
  return noPermError(r, spec);
}

/** EXEC's re-check of a queued command (rules may have changed since it was queued). */
export function aclDeniedAtExec(c: Client, spec: CommandSpec, argv: Buffer[]): string | null {
  if (c.user.unrestricted) return null;
  const r = c.user.check(spec, argv);
  if (r === ACL_OK) return null;
  logAclDenial(c, r, CTX_MULTI, spec, argv);
  return execNoPermError(r);
}

/** scriptVerifyACL: the error text for redis.call, or null. */
export function aclDeniedInScript(c: Client, spec: CommandSpec, argv: Buffer[]): string | null {
  if (c.user.unrestricted) return null;
  const r = c.user.check(spec, argv);
  if (r === ACL_OK) return null;
  logAclDenial(c, r, CTX_LUA, spec, argv);
  return `ERR The user executing the script ${aclErrorMessage(r)}`;
}

// ---------------------------------------------------------------------------------------------
// Authentication

/** The default user lets new connections in without AUTH (nopass and not disabled). */
export function defaultUserOpen(srv: ThreadServer): boolean {
  const d = srv.acl.defaultUser;
  return d.nopass && !d.disabled;
}

/** ACLAuthenticateUser: true and the client switched to the user, or false (logged). */
export function authenticate(c: Client, user: Buffer, pass: Buffer, argv: Buffer[]): boolean {
  const name = user.toString('latin1');
  const u = c.srv.acl.get(name);
  if (u !== undefined && !u.disabled && u.checkPassword(pass)) {
    c.authenticated = true;
    c.user = u;
    return true;
  }
  logAclDenial(c, DENIED_AUTH, c.inMulti ? CTX_MULTI : CTX_TOPLEVEL, null, argv, name);
  return false;
}

/**
 * The users at start-up (ACLLoadUsersAtStartup): the default user with requirepass, then the
 * `user` directives of the config, or the aclfile. A string: why the server must not start.
 */
export function startupUsers(requirepass: string, directives: string[][], aclfile: string, pubsubDefault: number, readFile: (f: string) => string): UserState[] | string {
  if (aclfile !== '' && directives.length > 0) {
    return 'Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.';
  }
  const users = new Users(pubsubDefault);
  if (requirepass !== '') {
    users.defaultUser.apply('resetpass', pubsubDefault);
    users.defaultUser.apply(`>${requirepass}`, pubsubDefault);
  }
  const seen = new Set<string>();
  for (const d of directives) {
    const name = d[0];
    if (seen.has(name)) return `Duplicate user found. A user can only be defined once in config files`;
    seen.add(name);
    if (hasSpaces(name)) return 'Spaces not allowed in ACL usernames';
    let u = users.get(name);
    if (u === undefined) {
      u = new AclUser(name, pubsubDefault);
      users.users.set(name, u);
    } else u.apply('reset', pubsubDefault);
    const m = mergeSelectorArgs(d.slice(1));
    if ('bad' in m) return `Unmatched parenthesis in acl selector starting at '${d[1 + m.bad]}'.`;
    for (const op of m.merged) {
      try {
        u.apply(op, pubsubDefault);
      } catch (e) {
        if (!(e instanceof AclRuleError)) throw e;
        return `Error loading ACL rule '${op}' for the user named '${name}': ${e.message}`;
      }
    }
    u.refresh();
  }
  if (aclfile !== '') {
    let text: string;
    try {
      text = readFile(aclfile);
    } catch (e) {
      return `Aborting Redis startup because of ACL errors: Error loading ACLs, opening file '${aclfile}': ${(e as Error).message}`;
    }
    const r = Users.load(aclFileLines(text), aclfile, pubsubDefault, true);
    if ('error' in r) return `Aborting Redis startup because of ACL errors: ${r.error}WARNING: ACL errors detected, no change to the previously active ACL rules was performed`;
    users.users = r.users;
  }
  for (const u of users.users.values()) u.refresh();
  return users.toState();
}
