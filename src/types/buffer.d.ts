// Node's Buffer has fast encoding-specific writers/readers that @types/node does not declare.
// They skip the encoding dispatch of buf.write(str, off, enc) on the reply hot path.
export {};
declare global {
  interface Buffer {
    latin1Write(s: string, offset: number, length?: number): number;
    utf8Write(s: string, offset: number, length?: number): number;
    latin1Slice(start: number, end: number): string;
  }
}
