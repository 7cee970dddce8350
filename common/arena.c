/* common/arena.c: capped bump allocator (see arena.h). */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static struct arena_block *
block_new(size_t size)
{
	struct arena_block *b = xmalloc(ARENA_BLOCK_HDR + size);

	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

static char *
block_data(struct arena_block *b)
{
	return (char *)b + ARENA_BLOCK_HDR;
}

void
arena_init(struct arena *a, size_t cap)
{
	a->first = block_new(ARENA_FIRST_BLOCK);
	a->cur = a->first;
	a->blocks = NULL;
	a->total = 0;
	a->cap = cap;
}

void *
arena_alloc_block(struct arena *a, size_t need)
{
	struct arena_block *b;
	size_t bsize = need > ARENA_BIG ? need : ARENA_BLOCK;

	if (bsize > a->cap || a->total > a->cap - bsize)
		return NULL;
	b = block_new(bsize);
	b->next = a->blocks;
	a->blocks = b;
	a->total += bsize;
	b->used = need;
	if (need <= ARENA_BIG)
		a->cur = b;
	return block_data(b);
}

void
arena_reset(struct arena *a)
{
	struct arena_block *b, *next;

	for (b = a->blocks; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->blocks = NULL;
	a->total = 0;
	a->first->used = 0;
	a->cur = a->first;
}

void
arena_wipe(struct arena *a)
{
	struct arena_block *b;

	explicit_bzero(block_data(a->first), a->first->used);
	for (b = a->blocks; b != NULL; b = b->next)
		explicit_bzero(block_data(b), b->used);
}

void
arena_free(struct arena *a)
{
	arena_reset(a);
	free(a->first);
	a->first = a->cur = NULL;
}
