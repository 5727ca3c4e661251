/* efp-arena.h: a bump allocator that protobuf-c unpacks into.
 *
 * protobuf-c allocates every message, repeated array, string, bytes field and
 * unknown field separately. A decoder context owns one arena and resets it per
 * frame, so a frame costs no malloc/free pairs once the block has grown to fit.
 */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

G_BEGIN_DECLS

typedef struct
{
  guint8 *block;
  gsize size;
  gsize used;
  GSList *overflow;     /* g_malloc'd pieces that did not fit in the block */
  gsize overflow_bytes; /* their total, to size the next block */
  ProtobufCAllocator allocator;
} EfpArena;

void efp_arena_init (EfpArena *self, gsize initial_size);
/* Frees everything, including the block. */
void efp_arena_clear (EfpArena *self);
/* Forgets every allocation; grows the block when the last frame overflowed it. */
void efp_arena_reset (EfpArena *self);
gpointer efp_arena_alloc (EfpArena *self, gsize size);
ProtobufCAllocator *efp_arena_get_allocator (EfpArena *self);

G_END_DECLS
