/* efp-arena.c: bump allocation with an overflow list. */
#include "efp-arena.h"

/* a block never grows past this; larger frames overflow into g_malloc */
#define ARENA_MAX_BLOCK (1024 * 1024)

static void *
arena_pb_alloc (void *data, size_t size)
{
  return efp_arena_alloc (data, size);
}

static void
arena_pb_free (void *data, void *pointer)
{
  /* everything goes at the next reset */
}

void
efp_arena_init (EfpArena *self, gsize initial_size)
{
  self->block = g_malloc (initial_size);
  self->size = initial_size;
  self->used = 0;
  self->overflow = NULL;
  self->overflow_bytes = 0;
  self->allocator.alloc = arena_pb_alloc;
  self->allocator.free = arena_pb_free;
  self->allocator.allocator_data = self;
}

void
efp_arena_clear (EfpArena *self)
{
  g_slist_free_full (g_steal_pointer (&self->overflow), g_free);
  g_clear_pointer (&self->block, g_free);
  self->size = self->used = self->overflow_bytes = 0;
}

void
efp_arena_reset (EfpArena *self)
{
  if (self->overflow != NULL)
    {
      gsize want = MIN ((self->size + self->overflow_bytes) * 2, ARENA_MAX_BLOCK);

      g_slist_free_full (g_steal_pointer (&self->overflow), g_free);
      if (want > self->size)
        {
          g_free (self->block);
          self->block = g_malloc (want);
          self->size = want;
        }
      self->overflow_bytes = 0;
    }
  self->used = 0;
}

/* the block is full (or @size is 0): a piece of its own, freed at reset */
gpointer
efp_arena_alloc_slow (EfpArena *self, gsize size)
{
  gpointer p;

  if (size == 0)
    return efp_arena_alloc (self, 1);
  p = g_malloc (size);
  self->overflow = g_slist_prepend (self->overflow, p);
  self->overflow_bytes += size;
  return p;
}

ProtobufCAllocator *
efp_arena_get_allocator (EfpArena *self)
{
  return &self->allocator;
}
