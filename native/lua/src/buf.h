/* A growable byte buffer, shared by the engine (RESP it builds) and the debugger (its log). The
 * bytes are always followed by a NUL (not counted in len), so the debugger can hand them to C
 * string functions. */
#ifndef SHARDIS_BUF_H
#define SHARDIS_BUF_H

#include <stdlib.h>
#include <string.h>

typedef struct {
  char *p;
  size_t len, cap;
} Buf;

/* Room for need more bytes and the NUL after them (cap > len once anything was put: written
 * as differences, which cannot wrap). */
static inline void bufGrow(Buf *b, size_t need) {
  if (need < b->cap - b->len) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->len <= need) cap *= 2;
  b->p = realloc(b->p, cap);
  b->cap = cap;
}
static inline void bufPut(Buf *b, const char *s, size_t n) {
  bufGrow(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static inline void bufStr(Buf *b, const char *s) { bufPut(b, s, strlen(s)); }

#endif
