// The AOF manifest (Redis 7.0's aofLoadManifestFromFile / getAofManifestAsString): the format
// redis-server writes and reads, its error texts, quoted file names, sequence numbering.
import { describe, expect, it } from 'vitest';
import { emptyManifest, formatManifest, newBaseName, newIncrName, parseManifest } from '../../src/persistence/aof-manifest';

describe('AOF manifest', () => {
  it('parses what redis-server writes and formats it back the same', () => {
    const text = 'file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.3.incr.aof seq 3 type i\nfile appendonly.aof.4.incr.aof seq 4 type i\n';
    const m = parseManifest(text);
    expect(m.base).toEqual({ name: 'appendonly.aof.2.base.rdb', seq: 2, type: 'b' });
    expect(m.history.map((h) => h.name)).toEqual(['appendonly.aof.1.incr.aof']);
    expect(m.incr.map((i) => i.seq)).toEqual([3, 4]);
    expect(m.incrSeq).toBe(4);
    expect(formatManifest(m)).toBe(text);
    // Comments are skipped; keys in any order and case; extra key/value pairs are allowed.
    const m2 = parseManifest('# comment\nTYPE i SEQ 7 FILE x.7.incr.aof newkey newvalue\n');
    expect(m2.incr).toEqual([{ name: 'x.7.incr.aof', seq: 7, type: 'i' }]);
  });

  it("refuses what Redis refuses, with Redis's texts", () => {
    const bad: Array<[string, string]> = [
      ['', 'Found an empty AOF manifest'],
      ['file a seq 1 type i\n\n', 'Invalid AOF manifest file format'],
      ['file a seq 2 type i\nfile b seq 1 type i\n', 'Found a non-monotonic sequence number'],
      ['file a seq 1 type b\nfile b seq 2 type b\n', 'Found duplicate base file information'],
      ['file a seq 1 type x\n', 'Unknown AOF file type'],
      ['file a seq 1 typo i\n', 'Invalid AOF manifest file format'],
      ['file a seq 1\n', 'Invalid AOF manifest file format'],
      ['file a seq 1 type i x\n', 'Invalid AOF manifest file format'],
      [`file ${'a'.repeat(1100)} seq 1 type i\n`, 'The AOF manifest file contains too long line'],
      ['file a seq 1 type i', 'The AOF manifest file contains too long line'],
      ['file dir/a seq 1 type i\n', "File can't be a path, just a filename"],
    ];
    for (const [text, err] of bad) expect(() => parseManifest(text), JSON.stringify(text)).toThrow(err);
  });

  it('quotes names with spaces as sdscatrepr and reads them back; new names continue the sequences', () => {
    const m = emptyManifest();
    const b = newBaseName(m, 'my aof', true);
    const i = newIncrName(m, 'my aof');
    expect([b.name, i.name]).toEqual(['my aof.1.base.rdb', 'my aof.1.incr.aof']);
    const text = formatManifest(m);
    expect(text).toBe('file "my aof.1.base.rdb" seq 1 type b\nfile "my aof.1.incr.aof" seq 1 type i\n');
    expect(parseManifest(text)).toEqual(m);
    // A new base makes the old one history; its seq goes on.
    newBaseName(m, 'my aof', false);
    expect(m.base?.name).toBe('my aof.2.base.aof');
    expect(m.history).toEqual([{ name: 'my aof.1.base.rdb', seq: 1, type: 'h' }]);
  });
});
