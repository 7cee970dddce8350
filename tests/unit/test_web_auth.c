/*
 * tests/unit/test_web_auth.c: web/web_auth.c, the web admin's sessions:
 * making, finding and ending them, token syntax, idle and absolute expiry
 * at and past their limits, eviction when full, CSRF tokens, the count.
 */
#include <stdint.h>
#include <string.h>

#include "../../common/limits.h"
#include "../../web/web_auth.h"
#include "test.h"

#define T0 1700000000LL

static int
is_b64url_token(const char *s)
{
	size_t i;

	for (i = 0; i < WEB_TOKEN_LEN; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return s[WEB_TOKEN_LEN] == '\0';
}

/* Copies s's id to out (pointers into the table do not last). */
static void
copy_id(char out[WEB_TOKEN_LEN + 1], const struct web_session *s)
{
	memcpy(out, s->id, WEB_TOKEN_LEN + 1);
}

static void
test_new_get_end(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s, *g;
	char id1[WEB_TOKEN_LEN + 1], id2[WEB_TOKEN_LEN + 1];

	T_ASSERT(a != NULL);
	T_EQ_INT(web_auth_count(a, T0), 0);
	s = web_auth_session_new(a, 0, T0);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->authed, 0);
	T_EQ_INT(s->created, T0);
	T_EQ_INT(s->last_seen, T0);
	copy_id(id1, s);
	s = web_auth_session_new(a, 1, T0 + 1);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->authed, 1);
	copy_id(id2, s);
	T_ASSERT(strcmp(id1, id2) != 0);
	T_EQ_INT(web_auth_count(a, T0 + 1), 2);

	g = web_auth_session_get(a, id1, T0 + 10);
	T_ASSERT(g != NULL);
	T_EQ_STR(g->id, id1);
	T_EQ_INT(g->authed, 0);
	T_EQ_INT(g->created, T0);
	T_EQ_INT(g->last_seen, T0 + 10);
	g = web_auth_session_get(a, id2, T0 + 11);
	T_ASSERT(g != NULL);
	T_EQ_INT(g->authed, 1);

	/* Ending by the session's own id (as logout does) is fine. */
	web_auth_session_end(a, g->id);
	T_ASSERT(web_auth_session_get(a, id2, T0 + 12) == NULL);
	T_ASSERT(web_auth_session_get(a, id1, T0 + 12) != NULL);
	T_EQ_INT(web_auth_count(a, T0 + 12), 1);
	/* Ending an unknown, malformed or NULL id does nothing. */
	web_auth_session_end(a, id2);
	web_auth_session_end(a, "nope");
	web_auth_session_end(a, NULL);
	T_EQ_INT(web_auth_count(a, T0 + 12), 1);
	web_auth_session_end(a, id1);
	T_ASSERT(web_auth_session_get(a, id1, T0 + 13) == NULL);
	T_EQ_INT(web_auth_count(a, T0 + 13), 0);

	web_auth_free(&a);
	T_ASSERT(a == NULL);
	web_auth_free(&a);
}

static void
test_end_all(void)
{
	struct web_auth *a = web_auth_new();
	char ids[5][WEB_TOKEN_LEN + 1];
	const struct web_session *s;
	int i;

	for (i = 0; i < 5; i++) {
		s = web_auth_session_new(a, i & 1, T0 + i);
		T_ASSERT(s != NULL);
		copy_id(ids[i], s);
	}
	T_EQ_INT(web_auth_count(a, T0 + 5), 5);
	web_auth_end_all(a);
	T_EQ_INT(web_auth_count(a, T0 + 5), 0);
	for (i = 0; i < 5; i++)
		T_ASSERT(web_auth_session_get(a, ids[i], T0 + 6) == NULL);
	/* The table is usable again afterwards. */
	s = web_auth_session_new(a, 0, T0 + 7);
	T_ASSERT(s != NULL);
	T_EQ_INT(web_auth_count(a, T0 + 7), 1);
	web_auth_free(&a);
}

static void
test_token_syntax(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s;
	char ids[20][WEB_TOKEN_LEN + 1];
	int i, j;

	for (i = 0; i < 20; i++) {
		s = web_auth_session_new(a, 0, T0);
		T_ASSERT(s != NULL);
		T_EQ_INT(strlen(s->id), WEB_TOKEN_LEN);
		T_EQ_INT(strlen(s->csrf), WEB_TOKEN_LEN);
		T_ASSERT(is_b64url_token(s->id));
		T_ASSERT(is_b64url_token(s->csrf));
		T_ASSERT(strcmp(s->id, s->csrf) != 0);
		copy_id(ids[i], s);
		for (j = 0; j < i; j++)
			T_ASSERT(strcmp(ids[i], ids[j]) != 0);
	}
	web_auth_free(&a);
}

static void
test_lookup_exact(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s;
	char id[WEB_TOKEN_LEN + 1], bad[WEB_TOKEN_LEN + 8];
	size_t i;

	s = web_auth_session_new(a, 1, T0);
	T_ASSERT(s != NULL);
	copy_id(id, s);

	T_ASSERT(web_auth_session_get(a, NULL, T0) == NULL);
	T_ASSERT(web_auth_session_get(a, "", T0) == NULL);
	/* Prefixes, including 42 characters. */
	for (i = 1; i < WEB_TOKEN_LEN; i++) {
		memcpy(bad, id, i);
		bad[i] = '\0';
		T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
	}
	/* 44 characters: the id plus one more valid character. */
	memcpy(bad, id, WEB_TOKEN_LEN);
	bad[WEB_TOKEN_LEN] = 'A';
	bad[WEB_TOKEN_LEN + 1] = '\0';
	T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
	/* One character changed, at every position, to valid and invalid. */
	for (i = 0; i < WEB_TOKEN_LEN; i++) {
		memcpy(bad, id, WEB_TOKEN_LEN + 1);
		bad[i] = id[i] == 'A' ? 'B' : 'A';
		T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
		bad[i] = '=';
		T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
		bad[i] = '+';
		T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
	}
	/* 43 characters of the wrong alphabet. */
	memset(bad, '.', WEB_TOKEN_LEN);
	bad[WEB_TOKEN_LEN] = '\0';
	T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
	/* A well-formed id of no session. */
	memset(bad, 'A', WEB_TOKEN_LEN);
	T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
	/* None of the misses ended the real one. */
	s = web_auth_session_get(a, id, T0);
	T_ASSERT(s != NULL);
	T_EQ_STR(s->id, id);
	/* The CSRF token is not an id. */
	memcpy(bad, s->csrf, WEB_TOKEN_LEN + 1);
	T_ASSERT(web_auth_session_get(a, bad, T0) == NULL);
	web_auth_free(&a);
}

static void
test_idle_expiry(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s;
	char id[WEB_TOKEN_LEN + 1];
	int64_t t;

	s = web_auth_session_new(a, 1, T0);
	T_ASSERT(s != NULL);
	copy_id(id, s);
	/* At exactly the idle limit: still live, and the get renews it. */
	t = T0 + WEB_SESSION_IDLE_SECS;
	T_EQ_INT(web_auth_count(a, t), 1);
	s = web_auth_session_get(a, id, t);
	T_ASSERT(s != NULL);
	T_EQ_INT(s->last_seen, t);
	/* One second past the limit after the last request: gone. */
	T_EQ_INT(web_auth_count(a, t + WEB_SESSION_IDLE_SECS), 1);
	T_EQ_INT(web_auth_count(a, t + WEB_SESSION_IDLE_SECS + 1), 0);
	T_ASSERT(web_auth_session_get(a, id, t + WEB_SESSION_IDLE_SECS + 1) ==
	         NULL);
	/* And it stays gone, even at an earlier time. */
	T_ASSERT(web_auth_session_get(a, id, t) == NULL);
	T_EQ_INT(web_auth_count(a, t), 0);
	web_auth_free(&a);
}

static void
test_absolute_expiry(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s;
	char id[WEB_TOKEN_LEN + 1];
	int64_t t, end = T0 + WEB_SESSION_MAX_SECS;

	s = web_auth_session_new(a, 1, T0);
	T_ASSERT(s != NULL);
	copy_id(id, s);
	/* Active well within the idle limit the whole time. */
	for (t = T0; t < end; t += WEB_SESSION_IDLE_SECS / 2)
		T_ASSERT(web_auth_session_get(a, id, t) != NULL);
	T_ASSERT(web_auth_session_get(a, id, end - 1) != NULL);
	T_ASSERT(web_auth_session_get(a, id, end) != NULL);
	T_EQ_INT(web_auth_count(a, end), 1);
	T_EQ_INT(web_auth_count(a, end + 1), 0);
	T_ASSERT(web_auth_session_get(a, id, end + 1) == NULL);
	web_auth_free(&a);
}

static void
test_eviction(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s;
	static char ids[WEB_SESSIONS_MAX + 1][WEB_TOKEN_LEN + 1];
	int64_t now = T0 + WEB_SESSIONS_MAX + 10;
	int i;

	/* Session i made at T0 + i: session 0 is the oldest and idlest. */
	for (i = 0; i < WEB_SESSIONS_MAX; i++) {
		s = web_auth_session_new(a, 0, T0 + i);
		T_ASSERT(s != NULL);
		copy_id(ids[i], s);
	}
	T_EQ_INT(web_auth_count(a, now), WEB_SESSIONS_MAX);
	/* A request on session 0 makes session 1 the one idle longest. */
	T_ASSERT(web_auth_session_get(a, ids[0], now) != NULL);
	s = web_auth_session_new(a, 1, now);
	T_ASSERT(s != NULL);
	copy_id(ids[WEB_SESSIONS_MAX], s);
	T_EQ_INT(web_auth_count(a, now), WEB_SESSIONS_MAX);
	T_ASSERT(web_auth_session_get(a, ids[1], now) == NULL);
	for (i = 0; i <= WEB_SESSIONS_MAX; i++) {
		if (i == 1)
			continue;
		s = web_auth_session_get(a, ids[i], now);
		T_ASSERT(s != NULL);
		T_EQ_STR(s->id, ids[i]);
	}
	T_EQ_INT(web_auth_count(a, now), WEB_SESSIONS_MAX);
	web_auth_free(&a);
}

static void
test_expired_slot_reused(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s;
	static char ids[WEB_SESSIONS_MAX][WEB_TOKEN_LEN + 1];
	int64_t later = T0 + WEB_SESSION_IDLE_SECS + 100;
	int i;

	/* Session 0 is left to expire; the others stay fresh. */
	for (i = 0; i < WEB_SESSIONS_MAX; i++) {
		s = web_auth_session_new(a, 0, i == 0 ? T0 : later - 1);
		T_ASSERT(s != NULL);
		copy_id(ids[i], s);
	}
	T_EQ_INT(web_auth_count(a, later), WEB_SESSIONS_MAX - 1);
	s = web_auth_session_new(a, 0, later);
	T_ASSERT(s != NULL);
	T_EQ_INT(web_auth_count(a, later), WEB_SESSIONS_MAX);
	for (i = 1; i < WEB_SESSIONS_MAX; i++)
		T_ASSERT(web_auth_session_get(a, ids[i], later) != NULL);
	web_auth_free(&a);
}

static void
test_csrf(void)
{
	struct web_auth *a = web_auth_new();
	const struct web_session *s1, *s2;
	char id1[WEB_TOKEN_LEN + 1], csrf1[WEB_TOKEN_LEN + 1];
	char csrf2[WEB_TOKEN_LEN + 1], bad[WEB_TOKEN_LEN + 8];

	s1 = web_auth_session_new(a, 0, T0);
	T_ASSERT(s1 != NULL);
	copy_id(id1, s1);
	memcpy(csrf1, s1->csrf, sizeof csrf1);
	s2 = web_auth_session_new(a, 0, T0);
	T_ASSERT(s2 != NULL);
	memcpy(csrf2, s2->csrf, sizeof csrf2);
	T_ASSERT(strcmp(csrf1, csrf2) != 0);

	s1 = web_auth_session_get(a, id1, T0 + 1);
	T_ASSERT(s1 != NULL);
	T_EQ_INT(web_auth_csrf_ok(s1, csrf1), 1);
	T_EQ_INT(web_auth_csrf_ok(s1, csrf2), 0);
	T_EQ_INT(web_auth_csrf_ok(s1, NULL), 0);
	T_EQ_INT(web_auth_csrf_ok(s1, ""), 0);
	T_EQ_INT(web_auth_csrf_ok(NULL, csrf1), 0);
	T_EQ_INT(web_auth_csrf_ok(s1, s1->id), 0);
	/* A prefix, one changed character, one extra character. */
	memcpy(bad, csrf1, WEB_TOKEN_LEN - 1);
	bad[WEB_TOKEN_LEN - 1] = '\0';
	T_EQ_INT(web_auth_csrf_ok(s1, bad), 0);
	memcpy(bad, csrf1, WEB_TOKEN_LEN + 1);
	bad[10] = bad[10] == 'x' ? 'y' : 'x';
	T_EQ_INT(web_auth_csrf_ok(s1, bad), 0);
	memcpy(bad, csrf1, WEB_TOKEN_LEN);
	bad[WEB_TOKEN_LEN] = 'A';
	bad[WEB_TOKEN_LEN + 1] = '\0';
	T_EQ_INT(web_auth_csrf_ok(s1, bad), 0);
	web_auth_free(&a);
}

static void
test_count(void)
{
	struct web_auth *a = web_auth_new();
	int i;

	T_EQ_INT(web_auth_count(a, T0), 0);
	T_EQ_INT(web_auth_count(NULL, T0), 0);
	for (i = 0; i < 3; i++)
		T_ASSERT(web_auth_session_new(a, 0, T0) != NULL);
	for (i = 0; i < 2; i++)
		T_ASSERT(web_auth_session_new(a, 1, T0 + 100) != NULL);
	T_EQ_INT(web_auth_count(a, T0 + 100), 5);
	/* The first three go idle first. */
	T_EQ_INT(web_auth_count(a, T0 + WEB_SESSION_IDLE_SECS + 1), 2);
	T_EQ_INT(web_auth_count(a, T0 + WEB_SESSION_IDLE_SECS + 101), 0);
	/* Counting does not end anything. */
	T_EQ_INT(web_auth_count(a, T0 + 100), 5);
	web_auth_free(&a);
}

static const struct test_case tests[] = {
        {"new_get_end", test_new_get_end},
        {"end_all", test_end_all},
        {"token_syntax", test_token_syntax},
        {"lookup_exact", test_lookup_exact},
        {"idle_expiry", test_idle_expiry},
        {"absolute_expiry", test_absolute_expiry},
        {"eviction", test_eviction},
        {"expired_slot_reused", test_expired_slot_reused},
        {"csrf", test_csrf},
        {"count", test_count},
        {NULL, NULL},
};

TEST_MAIN(tests)
