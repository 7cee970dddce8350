/*
 * common/auth_throttle.h: failed logins slow down per client address. Each
 * failure doubles the delay of that address's next login reply (1 s, 2 s,
 * ... up to AUTH_FAIL_DELAY_MAX_SECS); a success clears it. The table is
 * bounded (AUTH_THROTTLE_SLOTS); the oldest entry is reused when full.
 */
#ifndef PB_AUTH_THROTTLE_H
#define PB_AUTH_THROTTLE_H

#include <stdint.h>

#define AUTH_THROTTLE_SLOTS 1024

struct auth_throttle;

struct auth_throttle *auth_throttle_new(void);
void auth_throttle_free(struct auth_throttle **t);
/* Milliseconds to wait before answering a failed login from addr. */
uint64_t auth_throttle_fail(struct auth_throttle *t, const char *addr,
			    uint64_t now_ms);
/* Milliseconds before addr may try again (0: now); records nothing. The
 * web admin refuses a login while this is above 0. */
uint64_t auth_throttle_wait(struct auth_throttle *t, const char *addr,
			    uint64_t now_ms);
void auth_throttle_ok(struct auth_throttle *t, const char *addr);

#endif
