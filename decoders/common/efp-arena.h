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
gpointer efp_arena_alloc_slow (EfpArena *self, gsize size);

#define EFP_ARENA_ALIGN 16

/* Inline: protobuf-c calls this for every message, string, array and
 * unknown field, a few hundred times per bundle. */
static inline gpointer
efp_arena_alloc (EfpArena *self, gsize size)
{
  gsize start = (self->used + (EFP_ARENA_ALIGN - 1)) & ~(gsize) (EFP_ARENA_ALIGN - 1);

  if (G_LIKELY (size != 0 && start <= self->size && size <= self->size - start))
    {
      self->used = start + size;
      return self->block + start;
    }
  return efp_arena_alloc_slow (self, size);
}
ProtobufCAllocator *efp_arena_get_allocator (EfpArena *self);

G_END_DECLS
