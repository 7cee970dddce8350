/*
 * common/arena.h: a bump allocator with a cap, for memory that lives as
 * long as one command or one line (STYLE.md 5). Allocations are 16-byte
 * aligned; arena_reset() frees everything at once but keeps the first
 * (small) block; arena_wipe() zeroes what was handed out (credentials).
 * Reaching the cap is a NULL from arena_alloc(), for the caller to turn
 * into a protocol error.
 */
#ifndef PB_ARENA_H
#define PB_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define ARENA_ALIGN 16
#define ARENA_FIRST_BLOCK (8 * 1024)
#define ARENA_BLOCK (64 * 1024)
#define ARENA_BIG (ARENA_BLOCK / 4) /* larger: a block of its own */

struct arena_block {
	struct arena_block *next;
	size_t size; /* usable bytes after the header */
	size_t used;
};

struct arena {
	struct arena_block *first;  /* small, kept across resets */
	struct arena_block *cur;    /* where small allocations go */
	struct arena_block *blocks; /* every block but the first */
	size_t total;		    /* bytes in blocks */
	size_t cap;		    /* most bytes "total" may reach */
};

#define ARENA_BLOCK_HDR                                       \
	((sizeof(struct arena_block) + ARENA_ALIGN - 1) &     \
	 ~(size_t)(ARENA_ALIGN - 1))

/* cap 0 = no block beyond the first may be added. */
void arena_init(struct arena *a, size_t cap);
void arena_reset(struct arena *a);
void arena_wipe(struct arena *a);
void arena_free(struct arena *a);
/* The slow path of arena_alloc: a new block. */
void *arena_alloc_block(struct arena *a, size_t need);

/* n bytes, valid until the next reset; NULL when the cap would be passed. */
static inline void *
arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->cur;
	size_t need;

	if (n > SIZE_MAX / 4)
		return NULL;
	need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need == 0)
		need = ARENA_ALIGN;
	if (b->size - b->used >= need) {
		char *p = (char *)b + ARENA_BLOCK_HDR + b->used;
		b->used += need;
		return p;
	}
	return arena_alloc_block(a, need);
}

#endif
