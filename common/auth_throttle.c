/*
 * common/auth_throttle.c: per-address backoff of failed logins (see
 * auth_throttle.h). A fixed table, linear scan: 1024 slots are scanned in
 * microseconds and only on a login.
 */
#include "auth_throttle.h"

#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "xalloc.h"

#define ADDR_MAX 64
/* Failures older than this are forgotten. */
#define FORGET_MS (15ull * 60 * 1000)

struct slot {
	char addr[ADDR_MAX];
	unsigned fails;
	uint64_t last_ms;
};

struct auth_throttle {
	struct slot slots[AUTH_THROTTLE_SLOTS];
};

struct auth_throttle *
auth_throttle_new(void)
{
	return xcalloc(1, sizeof(struct auth_throttle));
}

void
auth_throttle_free(struct auth_throttle **t)
{
	free(*t);
	*t = NULL;
}

/* 1 s after the first failure, doubling up to the cap. */
static uint64_t
fail_delay(unsigned fails)
{
	uint64_t delay = 1000;
	unsigned i;

	for (i = 1; i < fails && delay < AUTH_FAIL_DELAY_MAX_SECS * 1000ull;
	     i++)
		delay *= 2;
	if (delay > AUTH_FAIL_DELAY_MAX_SECS * 1000ull)
		delay = AUTH_FAIL_DELAY_MAX_SECS * 1000ull;
	return delay;
}

static struct slot *
find(struct auth_throttle *t, const char *addr)
{
	size_t i;
	for (i = 0; i < AUTH_THROTTLE_SLOTS; i++)
		if (t->slots[i].fails && strcmp(t->slots[i].addr, addr) == 0)
			return &t->slots[i];
	return NULL;
}

uint64_t
auth_throttle_fail(struct auth_throttle *t, const char *addr, uint64_t now_ms)
{
	struct slot *s = find(t, addr);
	size_t i;

	if (s && now_ms - s->last_ms > FORGET_MS)
		s->fails = 0;
	if (s == NULL || s->fails == 0) {
		struct slot *oldest = &t->slots[0];
		s = NULL;
		for (i = 0; i < AUTH_THROTTLE_SLOTS; i++) {
			if (t->slots[i].fails == 0) {
				s = &t->slots[i];
				break;
			}
			if (t->slots[i].last_ms < oldest->last_ms)
				oldest = &t->slots[i];
		}
		if (s == NULL)
			s = oldest;
		memset(s, 0, sizeof *s);
		strncpy(s->addr, addr, ADDR_MAX - 1);
	}
	s->fails++;
	s->last_ms = now_ms;
	return fail_delay(s->fails);
}

uint64_t
auth_throttle_wait(struct auth_throttle *t, const char *addr, uint64_t now_ms)
{
	struct slot *s = find(t, addr);
	uint64_t delay, since;

	if (s == NULL || now_ms - s->last_ms > FORGET_MS)
		return 0;
	delay = fail_delay(s->fails);
	since = now_ms - s->last_ms;
	return since >= delay ? 0 : delay - since;
}

void
auth_throttle_ok(struct auth_throttle *t, const char *addr)
{
	struct slot *s = find(t, addr);
	if (s)
		s->fails = 0;
}
