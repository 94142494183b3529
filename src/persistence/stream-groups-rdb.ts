// The consumer groups of a stream in RDB (rdbSaveObject / rdbLoadObject's stream groups part,
// RDB_TYPE_STREAM_LISTPACKS_2): registered with rdb-stream.ts's setStreamGroupsCodec.
import type { Heap } from '../store/heap';
import type { RdbOut } from './rdb';
import type { DecodedGroup, StreamGroupsCodec, WriteStr } from './rdb-stream';
import { streamEstimateDistance } from '../store/stream';
import {
  cgCount, cgAt, cgName, cgLastId, cgEntriesRead, cgCreate, pelCount, pelRec, nackId, nackTime, nackCount,
  consCount, consAt, consName, consSeen, consPelCount, consPelId, consCreate, pelAdopt, consumerPelAdopt, type GroupID,
} from '../store/stream-groups';

const b8 = Buffer.alloc(8);
const b16 = Buffer.alloc(16);

/** rdbSaveLen of a uint64. */
function len64(out: RdbOut, v: bigint): void {
  if (v <= 0xffffffffn) return out.len(Number(v));
  out.byte(0x81);
  b8.writeBigUInt64BE(v, 0);
  out.bytes(b8);
}
function rawId(out: RdbOut, id: GroupID): void {
  b16.writeBigUInt64BE(id.ms, 0);
  b16.writeBigUInt64BE(id.seq, 8);
  out.bytes(b16);
}

export const streamGroupsRdb: StreamGroupsCodec = {
  write(out: RdbOut, h: Heap, s: number, compress: boolean, writeStr: WriteStr): void {
    const n = cgCount(h, s);
    out.len(n);
    for (let i = 0; i < n; i++) {
      const g = cgAt(h, s, i);
      const name = cgName(h, g);
      writeStr(out, name, 0, name.length, compress);
      const last = cgLastId(h, g);
      len64(out, last.ms);
      len64(out, last.seq);
      len64(out, BigInt.asUintN(64, BigInt(cgEntriesRead(h, g))));
      const pn = pelCount(h, g);
      out.len(pn);
      for (let j = 0; j < pn; j++) {
        const rec = pelRec(h, g, j);
        rawId(out, nackId(h, rec));
        out.millis(nackTime(h, rec));
        len64(out, BigInt(nackCount(h, rec)));
      }
      const nc = consCount(h, g);
      out.len(nc);
      for (let k = 0; k < nc; k++) {
        const c = consAt(h, g, k);
        const cn = consName(h, c);
        writeStr(out, cn, 0, cn.length, compress);
        out.millis(consSeen(h, c));
        const cp = consPelCount(h, c);
        out.len(cp);
        for (let j = 0; j < cp; j++) rawId(out, consPelId(h, c, j));
      }
    }
  },
  load(h: Heap, s: number, groups: DecodedGroup[]): void {
    for (const dg of groups) {
      const g = cgCreate(h, s, dg.name, dg.lastId, dg.estimate ? streamEstimateDistance(h, s, dg.lastId) : dg.entriesRead);
      const pel = dg.pel.slice().sort((a, b) => (a.id.ms !== b.id.ms ? (a.id.ms < b.id.ms ? -1 : 1) : a.id.seq < b.id.seq ? -1 : a.id.seq > b.id.seq ? 1 : 0));
      for (const p of pel) pelAdopt(h, g, p.id, p.deliveryTime, p.deliveryCount);
      for (const dc of dg.consumers) {
        const c = consCreate(h, g, dc.name, dc.seenTime);
        for (const id of dc.pel) consumerPelAdopt(h, g, c, id);
      }
    }
  },
};
