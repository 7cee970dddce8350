/*
 * tests/unit/test_store_auth.c: identity in the store (db/store_auth.c):
 * the login name, the main password (scrypt), device passwords (format,
 * list, remove, last_used) and store_auth_check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../common/limits.h"
#include "../../db/store.h"
#include "test.h"
#include "test_store.h"

static int
is_device_password(const char *p)
{
	size_t i;

	if (strlen(p) != 19)
		return 0;
	for (i = 0; i < 19; i++) {
		if (i % 5 == 4) {
			if (p[i] != '-')
				return 0;
		} else if (!((p[i] >= 'a' && p[i] <= 'z') ||
		             (p[i] >= '0' && p[i] <= '9'))) {
			return 0;
		}
	}
	return 1;
}

static void
test_user_password(void)
{
	struct store *st = ts_open_new();
	char *v = NULL, *dev = (char *)1;
	char big[STORE_PASSWORD_MAX + 2];

	T_ASSERT(st != NULL);
	T_EQ_INT(store_user_get(st, &v), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_password_is_set(st), 0);
	/* No user yet: every login fails. */
	T_EQ_INT(store_auth_check(st, "me", "pw", &dev), -STORE_ERR_NOTFOUND);
	T_ASSERT(dev == NULL);
	T_EQ_INT(store_user_set(st, ""), -STORE_ERR_INVALID);
	T_EQ_INT(store_user_set(st, "a\nb"), -STORE_ERR_INVALID);
	T_EQ_INT(store_user_set(st, "\xff"), -STORE_ERR_INVALID);
	T_EQ_INT(store_user_set(st, "Me"), 0);
	T_EQ_INT(store_user_get(st, &v), 0);
	T_EQ_STR(v, "Me");
	free(v);
	/* A user but no password. */
	T_EQ_INT(store_auth_check(st, "Me", "secret", NULL),
	         -STORE_ERR_NOTFOUND);

	T_EQ_INT(store_password_set(st, ""), -STORE_ERR_INVALID);
	T_EQ_INT(store_password_set(st, NULL), -STORE_ERR_INVALID);
	T_EQ_INT(store_password_set(st, "correct horse"), 0);
	T_EQ_INT(store_password_is_set(st), 1);
	/* Stored hashed, never in clear. */
	T_EQ_INT(store_setting_get(st, "password", &v), 0);
	T_ASSERT(strncmp(v, "scrypt$16384$8$1$", 17) == 0);
	T_ASSERT(strstr(v, "correct") == NULL);
	free(v);

	T_EQ_INT(store_auth_check(st, "Me", "correct horse", &dev), 0);
	T_ASSERT(dev == NULL);
	T_EQ_INT(store_auth_check(st, "Me", "correct horse!", &dev),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_auth_check(st, "me", "correct horse", &dev),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_auth_check(st, "Me ", "correct horse", &dev),
	         -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_auth_check(st, "Me", "", &dev), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_auth_check(st, NULL, "x", &dev), -STORE_ERR_NOTFOUND);

	/* Password length: at the cap, one over. */
	memset(big, 'p', STORE_PASSWORD_MAX);
	big[STORE_PASSWORD_MAX] = '\0';
	T_EQ_INT(store_password_set(st, big), 0);
	T_EQ_INT(store_auth_check(st, "Me", big, NULL), 0);
	big[STORE_PASSWORD_MAX] = 'p';
	big[STORE_PASSWORD_MAX + 1] = '\0';
	T_EQ_INT(store_password_set(st, big), -STORE_ERR_INVALID);
	T_EQ_INT(store_auth_check(st, "Me", big, NULL), -STORE_ERR_NOTFOUND);
	/* The old password no longer works after a change. */
	T_EQ_INT(store_auth_check(st, "Me", "correct horse", NULL),
	         -STORE_ERR_NOTFOUND);
	ts_close_cleanup(&st);
}

static void
test_devices(void)
{
	struct store *st = ts_open_new();
	struct store_device *list = NULL;
	size_t n = 0;
	char *pw1 = NULL, *pw2 = NULL, *dev = NULL;
	char name[STORE_DEVICE_NAME_MAX + 2];
	time_t now = time(NULL);

	T_ASSERT(st != NULL);
	T_EQ_INT(store_user_set(st, "me"), 0);
	T_EQ_INT(store_password_set(st, "main password"), 0);
	T_EQ_INT(store_device_add(st, "phone", &pw1), 0);
	T_ASSERT(pw1 != NULL && is_device_password(pw1));
	T_EQ_INT(store_device_add(st, "laptop", &pw2), 0);
	T_ASSERT(pw2 != NULL && is_device_password(pw2));
	T_ASSERT(strcmp(pw1, pw2) != 0);
	T_EQ_INT(store_device_add(st, "phone", &dev), -STORE_ERR_EXISTS);
	T_ASSERT(dev == NULL);
	T_EQ_INT(store_device_add(st, "", &dev), -STORE_ERR_INVALID);
	T_EQ_INT(store_device_add(st, "tab\there", &dev), -STORE_ERR_INVALID);
	memset(name, 'd', STORE_DEVICE_NAME_MAX + 1);
	name[STORE_DEVICE_NAME_MAX + 1] = '\0';
	T_EQ_INT(store_device_add(st, name, &dev), -STORE_ERR_INVALID);

	T_EQ_INT(store_device_list(st, &list, &n), 0);
	T_EQ_INT(n, 2);
	T_EQ_STR(list[0].name, "laptop");
	T_EQ_STR(list[1].name, "phone");
	T_ASSERT(list[1].created >= now - 5 && list[1].created <= now + 5);
	T_EQ_INT(list[1].last_used, 0);
	store_device_list_free(list, n);

	/* A device password logs in as that device and stamps it. */
	T_EQ_INT(store_auth_check(st, "me", pw1, &dev), 0);
	T_EQ_STR(dev, "phone");
	free(dev);
	dev = NULL;
	T_EQ_INT(store_auth_check(st, "me", pw2, NULL), 0);
	T_EQ_INT(store_auth_check(st, "me", "main password", &dev), 0);
	T_ASSERT(dev == NULL);
	T_EQ_INT(store_auth_check(st, "other", pw1, &dev), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_device_list(st, &list, &n), 0);
	T_ASSERT(list[1].last_used >= now);
	store_device_list_free(list, n);

	/* Revoked on its own. */
	T_EQ_INT(store_device_remove(st, "phone"), 0);
	T_EQ_INT(store_device_remove(st, "phone"), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_auth_check(st, "me", pw1, &dev), -STORE_ERR_NOTFOUND);
	T_EQ_INT(store_auth_check(st, "me", pw2, &dev), 0);
	T_EQ_STR(dev, "laptop");
	free(dev);
	T_EQ_INT(store_device_list(st, &list, &n), 0);
	T_EQ_INT(n, 1);
	store_device_list_free(list, n);
	free(pw1);
	free(pw2);
	ts_close_cleanup(&st);
}

static void
test_device_limit(void)
{
	struct store *st = ts_open_new();
	char name[32], *pw = NULL;
	int i, rc = 0;

	T_ASSERT(st != NULL);
	T_EQ_INT(store_begin(st), 0);
	for (i = 0; i < STORE_DEVICES_MAX && rc == 0; i++) {
		snprintf(name, sizeof name, "dev%d", i);
		rc = store_device_add(st, name, &pw);
		free(pw);
		pw = NULL;
	}
	T_EQ_INT(rc, 0);
	T_EQ_INT(store_commit(st), 0);
	T_EQ_INT(store_device_add(st, "one-more", &pw), -STORE_ERR_LIMIT);
	T_ASSERT(pw == NULL);
	ts_close_cleanup(&st);
}

static const struct test_case tests[] = {
        {"user_password", test_user_password},
        {"devices", test_devices},
        {"device_limit", test_device_limit},
        {NULL, NULL},
};

TEST_MAIN(tests)
