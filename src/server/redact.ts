// The arguments Redis replaces with "(redacted)" (redactClientCommandArgument) before MONITOR and
// SLOWLOG see a command: AUTH's, HELLO's AUTH pair, MIGRATE's AUTH / AUTH2 values, everything
// of ACL SETUSER after the subcommand, and CONFIG SET's values of sensitive directives
// (requirepass, masterauth, masteruser).
import { isSensitiveConfig } from '../config/directives';

function lower(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).latin1Slice(0, b.length).toLowerCase();
}

/** Which arguments to hide (true at their index), or null for none. Any command, cheap for most. */
export function redactedArgs(argv: readonly Uint8Array[]): boolean[] | null {
  const n = argv.length;
  if (n < 2) return null;
  const first = argv[0][0] | 0x20;
  // auth, acl, config, hello, migrate: nothing else has secrets.
  if (first !== 0x61 && first !== 0x63 && first !== 0x68 && first !== 0x6d) return null;
  const cmd = lower(argv[0]);
  let mask: boolean[] | null = null;
  const hide = (i: number): void => {
    if (i >= n) return;
    if (mask === null) mask = new Array<boolean>(n).fill(false);
    mask[i] = true;
  };
  if (cmd === 'auth') {
    // Both forms (AUTH password, AUTH username password); more is a syntax error, before it.
    if (n <= 3) for (let j = 1; j < n; j++) hide(j);
  } else if (cmd === 'hello') {
    // As helloCommand parses: a valid protocol version, then AUTH pairs and SETNAME up to the
    // first option it does not know.
    const ver = lower(argv[1]);
    if (ver !== '2' && ver !== '3') return null;
    for (let j = 2; j < n; j++) {
      const opt = lower(argv[j]);
      if (opt === 'auth' && n - 1 - j >= 2) {
        hide(j + 1);
        hide(j + 2);
        j += 2;
      } else if (opt === 'setname' && n - 1 - j >= 1) j++;
      else break;
    }
  } else if (cmd === 'migrate') {
    for (let j = 6; j < n; j++) {
      const opt = lower(argv[j]);
      if (opt === 'auth' && n - 1 - j >= 1) hide(++j);
      else if (opt === 'auth2' && n - 1 - j >= 2) {
        hide(++j);
        hide(++j);
      } else if (opt !== 'copy' && opt !== 'replace') break;
    }
  } else if (cmd === 'acl') {
    if (n >= 3 && lower(argv[1]) === 'setuser') for (let j = 2; j < n; j++) hide(j);
  } else if (cmd === 'config') {
    // Every pair, even past an error (configSetCommand); an odd count is refused first.
    if (n >= 4 && n % 2 === 0 && lower(argv[1]) === 'set') for (let j = 2; j + 1 < n; j += 2) if (isSensitiveConfig(lower(argv[j]))) hide(j + 1);
  }
  return mask;
}
