/*
 * web/web_auth.c: the web admin's sessions (web_auth.h). Owns struct
 * web_auth: a fixed array of WEB_SESSIONS_MAX slots, nothing else is
 * allocated after web_auth_new. Ids and CSRF tokens are 32 bytes from
 * RAND_bytes in base64url without padding (RFC 4648 section 5), 43
 * characters. A presented id is checked for syntax (exactly 43 base64url
 * characters) before any lookup, then compared with every live slot in
 * constant time (CRYPTO_memcmp), as are CSRF tokens. A session is live while
 * now - last_seen <= WEB_SESSION_IDLE_SECS and now - created <=
 * WEB_SESSION_MAX_SECS (so at exactly a limit it is still live, one second
 * past it is gone). Ended and expired slots are wiped with OPENSSL_cleanse.
 */
#include "web_auth.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "../common/limits.h"
#include "../common/xalloc.h"

/* Random bytes behind one id or token: 32 bytes, 43 base64url characters. */
#define WEB_TOKEN_BYTES 32

struct web_slot {
	struct web_session s;
	int used;
};

struct web_auth {
	struct web_slot slot[WEB_SESSIONS_MAX];
};

static void auth_b64url(const unsigned char *in, size_t len, char *out);
static int auth_token_new(char out[WEB_TOKEN_LEN + 1]);
static int auth_token_is_valid(const char *tok);
static int auth_elapsed_over(int64_t now, int64_t since, int64_t limit);
static int auth_slot_is_live(const struct web_slot *sl, int64_t now);
static void auth_slot_wipe(struct web_slot *sl);
static struct web_slot *auth_find(struct web_auth *a, const char *id);
static struct web_slot *auth_free_slot(struct web_auth *a, int64_t now);

static const char auth_b64url_chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Encodes in[0..len) as base64url without padding into out, which must
 * hold (len * 4 + 2) / 3 + 1 bytes; out is NUL-terminated.
 */
static void
auth_b64url(const unsigned char *in, size_t len, char *out)
{
	size_t i = 0, o = 0;
	uint32_t v;

	for (; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = auth_b64url_chars[(v >> 18) & 63];
		out[o++] = auth_b64url_chars[(v >> 12) & 63];
		out[o++] = auth_b64url_chars[(v >> 6) & 63];
		out[o++] = auth_b64url_chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = auth_b64url_chars[(v >> 18) & 63];
		out[o++] = auth_b64url_chars[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = auth_b64url_chars[(v >> 18) & 63];
		out[o++] = auth_b64url_chars[(v >> 12) & 63];
		out[o++] = auth_b64url_chars[(v >> 6) & 63];
	}
	out[o] = '\0';
}

/* A fresh random token in out: 0, or -1 when RAND_bytes fails. */
static int
auth_token_new(char out[WEB_TOKEN_LEN + 1])
{
	unsigned char raw[WEB_TOKEN_BYTES];
	int rc = -1;

	if (RAND_bytes(raw, sizeof raw) != 1)
		goto cleanup;
	auth_b64url(raw, sizeof raw, out);
	rc = 0;
cleanup:
	OPENSSL_cleanse(raw, sizeof raw);
	return rc;
}

/*
 * 1 when tok is exactly WEB_TOKEN_LEN base64url characters, else 0. Reads
 * at most WEB_TOKEN_LEN + 1 bytes of tok.
 */
static int
auth_token_is_valid(const char *tok)
{
	size_t i;
	unsigned char c;

	if (tok == NULL)
		return 0;
	for (i = 0; i < WEB_TOKEN_LEN; i++) {
		c = (unsigned char)tok[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return tok[WEB_TOKEN_LEN] == '\0';
}

/*
 * 1 when more than limit seconds lie between since and now. A clock that
 * went backwards (now < since) counts as no time at all; no overflow for
 * any int64_t values.
 */
static int
auth_elapsed_over(int64_t now, int64_t since, int64_t limit)
{
	if (now <= since)
		return 0;
	return (uint64_t)now - (uint64_t)since > (uint64_t)limit;
}

static int
auth_slot_is_live(const struct web_slot *sl, int64_t now)
{
	if (!sl->used)
		return 0;
	if (auth_elapsed_over(now, sl->s.last_seen, WEB_SESSION_IDLE_SECS))
		return 0;
	if (auth_elapsed_over(now, sl->s.created, WEB_SESSION_MAX_SECS))
		return 0;
	return 1;
}

static void
auth_slot_wipe(struct web_slot *sl)
{
	OPENSSL_cleanse(sl, sizeof *sl);
	sl->used = 0;
}

/*
 * The used slot whose id is id (already checked by auth_token_is_valid),
 * or NULL. Compares against every slot, used or not, so the time taken
 * does not depend on where (or whether) the id matches.
 */
static struct web_slot *
auth_find(struct web_auth *a, const char *id)
{
	struct web_slot *found = NULL;
	size_t i;
	int eq;

	for (i = 0; i < WEB_SESSIONS_MAX; i++) {
		eq = CRYPTO_memcmp(a->slot[i].s.id, id, WEB_TOKEN_LEN) == 0;
		if (eq && a->slot[i].used)
			found = &a->slot[i];
	}
	return found;
}

/*
 * A wiped slot for a new session: expired sessions are wiped first; when
 * every slot is still live, the one idle longest is evicted.
 */
static struct web_slot *
auth_free_slot(struct web_auth *a, int64_t now)
{
	struct web_slot *sl, *free_sl = NULL, *oldest = NULL;
	size_t i;

	for (i = 0; i < WEB_SESSIONS_MAX; i++) {
		sl = &a->slot[i];
		if (sl->used && !auth_slot_is_live(sl, now))
			auth_slot_wipe(sl);
		if (!sl->used) {
			if (free_sl == NULL)
				free_sl = sl;
			continue;
		}
		if (oldest == NULL || sl->s.last_seen < oldest->s.last_seen)
			oldest = sl;
	}
	if (free_sl != NULL)
		return free_sl;
	auth_slot_wipe(oldest);
	return oldest;
}

struct web_auth *
web_auth_new(void)
{
	return xcalloc(1, sizeof(struct web_auth));
}

void
web_auth_free(struct web_auth **a)
{
	if (a == NULL || *a == NULL)
		return;
	OPENSSL_cleanse(*a, sizeof **a);
	free(*a);
	*a = NULL;
}

const struct web_session *
web_auth_session_new(struct web_auth *a, int authed, int64_t now)
{
	char id[WEB_TOKEN_LEN + 1], csrf[WEB_TOKEN_LEN + 1];
	struct web_slot *sl = NULL;

	if (a == NULL)
		return NULL;
	/* Randomness first: a failure must not evict anyone. */
	if (auth_token_new(id) == -1 || auth_token_new(csrf) == -1)
		goto cleanup;
	sl = auth_free_slot(a, now);
	memcpy(sl->s.id, id, sizeof id);
	memcpy(sl->s.csrf, csrf, sizeof csrf);
	sl->s.authed = authed ? 1 : 0;
	sl->s.created = now;
	sl->s.last_seen = now;
	sl->used = 1;
cleanup:
	OPENSSL_cleanse(id, sizeof id);
	OPENSSL_cleanse(csrf, sizeof csrf);
	return sl != NULL ? &sl->s : NULL;
}

const struct web_session *
web_auth_session_get(struct web_auth *a, const char *id, int64_t now)
{
	struct web_slot *sl;

	if (a == NULL || !auth_token_is_valid(id))
		return NULL;
	sl = auth_find(a, id);
	if (sl == NULL)
		return NULL;
	if (!auth_slot_is_live(sl, now)) {
		auth_slot_wipe(sl);
		return NULL;
	}
	sl->s.last_seen = now;
	return &sl->s;
}

int
web_auth_csrf_ok(const struct web_session *s, const char *token)
{
	if (s == NULL || !auth_token_is_valid(token))
		return 0;
	return CRYPTO_memcmp(s->csrf, token, WEB_TOKEN_LEN) == 0;
}

void
web_auth_session_end(struct web_auth *a, const char *id)
{
	struct web_slot *sl;

	/* id may be the slot's own s->id: never read after the wipe. */
	if (a == NULL || !auth_token_is_valid(id))
		return;
	sl = auth_find(a, id);
	if (sl != NULL)
		auth_slot_wipe(sl);
}

void
web_auth_end_all(struct web_auth *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < WEB_SESSIONS_MAX; i++)
		auth_slot_wipe(&a->slot[i]);
}

unsigned
web_auth_count(struct web_auth *a, int64_t now)
{
	unsigned n = 0;
	size_t i;

	if (a == NULL)
		return 0;
	for (i = 0; i < WEB_SESSIONS_MAX; i++)
		if (auth_slot_is_live(&a->slot[i], now))
			n++;
	return n;
}
