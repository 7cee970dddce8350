/*
 * bridge/retention.c: expunges old messages from Trash and Junk per the
 * trash_days / junk_days settings (see retention.h).
 */
#include "retention.h"

#include <stdlib.h>

#include "../common/limits.h"
#include "../common/str.h"
#include "../db/store.h"

static unsigned
setting_days(struct store *st, const char *key, int *err_r)
{
	char *v = NULL;
	uint64_t d;
	int rc = store_setting_get(st, key, &v);

	if (rc == -STORE_ERR_NOTFOUND || (rc == 0 && v == NULL))
		return RETENTION_DAYS_DEFAULT;
	if (rc < 0) {
		*err_r = rc;
		return RETENTION_DAYS_DEFAULT;
	}
	if (str_cstr_to_u64(v, RETENTION_DAYS_MAX, &d) < 0)
		d = RETENTION_DAYS_DEFAULT;
	free(v);
	return (unsigned)d;
}

int
retention_get_days(struct store *st, unsigned *trash_days_r,
                   unsigned *junk_days_r)
{
	int err = 0;

	*trash_days_r = setting_days(st, "trash_days", &err);
	*junk_days_r = setting_days(st, "junk_days", &err);
	return err;
}

int
retention_run(struct store *st, int64_t now, size_t *expunged_r)
{
	struct store_folder *list = NULL;
	unsigned trash, junk;
	size_t n = 0, i, total = 0;
	int rc;

	if (expunged_r)
		*expunged_r = 0;
	rc = retention_get_days(st, &trash, &junk);
	if (rc < 0)
		return rc;
	if (trash == 0 && junk == 0)
		return 0;
	rc = store_folder_list(st, &list, &n);
	if (rc < 0)
		return rc;
	for (i = 0; i < n; i++) {
		unsigned days;
		size_t got = 0;

		if (list[i].noselect)
			continue;
		if (list[i].special == STORE_SPECIAL_TRASH)
			days = trash;
		else if (list[i].special == STORE_SPECIAL_JUNK)
			days = junk;
		else
			continue;
		if (days == 0)
			continue;
		rc = store_msg_expunge_older(st, list[i].id,
		                             now - (int64_t)days * 86400, &got);
		if (rc < 0)
			break;
		total += got;
	}
	store_folder_list_free(list, n);
	if (expunged_r)
		*expunged_r = total;
	return rc < 0 ? rc : 0;
}
