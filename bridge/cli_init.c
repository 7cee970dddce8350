/*
 * bridge/cli_init.c: `popbridge init [--data DIR] --user NAME
 * [--password-file FILE]` (PRODUCT.md "Commands", "Files", "Folders").
 *
 * Makes whatever is missing, and only that: the data directory (0700), a
 * commented popbridge.conf (when no --config was given), the store, the
 * six folders with their SPECIAL-USE attributes (subscribed), a
 * self-signed TLS certificate and key, secret.key (32 random bytes, 0600),
 * the user name and the password. Existing data is never changed: a second
 * run reports everything as present; a different --user, or a different
 * password than the one already set, is an error (use `passwd`).
 * Without a password, a one-time setup token is stored for the web admin's
 * first-run page, and the user is told to run `popbridge passwd`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "../common/limits.h"
#include "../common/xalloc.h"
#include "../db/secret.h"
#include "../db/store.h"
#include "cli.h"
#include "tls.h"

#define INIT_USAGE        "init [--data DIR] --user NAME [--password-file FILE]"
#define SETUP_TOKEN_BYTES 16

static const struct {
	const char *name;
	enum store_special special;
} init_folders[] = {
        {"INBOX", STORE_SPECIAL_NONE},    {"Sent", STORE_SPECIAL_SENT},
        {"Drafts", STORE_SPECIAL_DRAFTS}, {"Trash", STORE_SPECIAL_TRASH},
        {"Junk", STORE_SPECIAL_JUNK},     {"Archive", STORE_SPECIAL_ARCHIVE},
};

static int
path_exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

/* Writes a new file (O_EXCL) with mode; 1 made, 0 existed, -1 error. */
static int
write_new_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	const char *p = data;

	if (fd < 0)
		return errno == EEXIST ? 0 : -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		unlink(path);
		return -1;
	}
	return 1;
fail : {
	int e = errno;
	close(fd);
	unlink(path);
	errno = e;
}
	return -1;
}

static char *
parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL || slash == path)
		return xstrdup(slash ? "/" : ".");
	return xstrndup(path, (size_t)(slash - path));
}

static int
init_folders_make(struct cli_ctx *c, int *created_r)
{
	size_t i;
	int rc;

	*created_r = 0;
	for (i = 0; i < sizeof init_folders / sizeof init_folders[0]; i++) {
		struct store_folder f;

		rc = store_folder_get(c->st, init_folders[i].name, &f);
		if (rc == 0) {
			int noselect = f.noselect;
			store_folder_clear(&f);
			if (!noselect)
				continue;
		} else if (rc != -STORE_ERR_NOTFOUND) {
			return cli_store_error(c, rc, init_folders[i].name);
		}
		rc = store_folder_create(c->st, init_folders[i].name,
		                         init_folders[i].special, NULL);
		if (rc < 0 && rc != -STORE_ERR_EXISTS)
			return cli_store_error(c, rc, init_folders[i].name);
		rc = store_folder_subscribe(c->st, init_folders[i].name, 1);
		if (rc < 0)
			return cli_store_error(c, rc, init_folders[i].name);
		(*created_r)++;
	}
	return 0;
}

static int
init_tls(struct cli_ctx *c, const char **state_r)
{
	const char *cert = c->cfg.tls_cert, *key = c->cfg.tls_key;
	const char *err = NULL;
	int has_cert = path_exists(cert), has_key = path_exists(key);
	char host[256];
	size_t i;

	if (has_cert && has_key) {
		*state_r = "present";
		return 0;
	}
	if (has_cert != has_key) {
		cli_error(c,
		          "%s exists but %s does not: restore it, or remove "
		          "both to get a new self-signed certificate",
		          has_cert ? cert : key, has_cert ? key : cert);
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < 2; i++) {
		char *dir = parent_dir(i == 0 ? cert : key);
		if (cli_mkdir_p(dir, 0700, NULL) < 0) {
			cli_error(c, "cannot create %s: %s", dir,
			          strerror(errno));
			free(dir);
			return CLI_EXIT_FAIL;
		}
		free(dir);
	}
	if (gethostname(host, sizeof host) < 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	if (tls_make_self_signed(cert, key, host[0] ? host : "localhost",
	                         &err) < 0) {
		cli_error(c, "cannot make the TLS certificate: %s",
		          err ? err : "unknown error");
		return CLI_EXIT_FAIL;
	}
	*state_r = "created, self-signed";
	return 0;
}

static int
init_secret(struct cli_ctx *c, const char **state_r)
{
	char *path = cli_data_path(c, CLI_SECRET_FILE);
	const char *err = NULL;
	int r = secret_key_create(path, &err);

	free(path);
	if (r < 0) {
		cli_error(c, "%s", err ? err : "cannot create the secret key");
		return CLI_EXIT_FAIL;
	}
	*state_r = r == 1 ? "created" : "present";
	return 0;
}

/* A one-time token for the web admin's first-run page (kept if set). */
static int
init_setup_token(struct cli_ctx *c)
{
	unsigned char rnd[SETUP_TOKEN_BYTES];
	char hex[SETUP_TOKEN_BYTES * 2 + 1];
	char *old = NULL;
	size_t i;
	int rc;

	rc = store_setting_get(c->st, "setup_token", &old);
	if (rc == 0 && old != NULL && old[0] != '\0') {
		free(old);
		return 0;
	}
	free(old);
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND)
		return cli_store_error(c, rc, "setup token");
	if (RAND_bytes(rnd, sizeof rnd) != 1) {
		cli_error(c, "cannot get random bytes for the setup token");
		return CLI_EXIT_FAIL;
	}
	for (i = 0; i < sizeof rnd; i++) {
		hex[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	hex[sizeof hex - 1] = '\0';
	rc = store_setting_set(c->st, "setup_token", hex);
	OPENSSL_cleanse(hex, sizeof hex);
	if (rc < 0)
		return cli_store_error(c, rc, "setup token");
	return 0;
}

static int
init_user(struct cli_ctx *c, const char *user_opt, char **user_r)
{
	char *user = NULL;
	int rc = store_user_get(c->st, &user);

	*user_r = NULL;
	if (rc == 0 && user != NULL) {
		if (user_opt != NULL && strcmp(user, user_opt) != 0) {
			cli_error(c,
			          "this store belongs to user '%s'; init never "
			          "changes the user",
			          user);
			free(user);
			return CLI_EXIT_FAIL;
		}
		*user_r = user;
		return 0;
	}
	free(user);
	if (rc < 0 && rc != -STORE_ERR_NOTFOUND)
		return cli_store_error(c, rc, "reading the user");
	if (user_opt == NULL)
		return cli_usage_error(c, INIT_USAGE,
		                       "--user NAME is needed for a new store");
	rc = store_user_set(c->st, user_opt);
	if (rc < 0)
		return cli_store_error(c, rc, "setting the user");
	*user_r = xstrdup(user_opt);
	return 0;
}

/* Sets the password unless one is set; the same one again is fine. */
static int
init_password(struct cli_ctx *c, const char *user, const char *pw,
              const char **state_r)
{
	char *dev = NULL;
	int rc, is_set = store_password_is_set(c->st);

	if (is_set < 0)
		return cli_store_error(c, is_set, "reading the password");
	if (is_set && pw == NULL) {
		*state_r = "set";
		return 0;
	}
	if (is_set) {
		rc = store_auth_check(c->st, user, pw, &dev);
		if (rc == 0 && dev == NULL) {
			*state_r = "set (unchanged)";
			return 0;
		}
		free(dev);
		if (rc < 0 && rc != -STORE_ERR_NOTFOUND)
			return cli_store_error(c, rc, "checking the password");
		cli_error(c, "a different password is already set; change it "
		             "with 'popbridge passwd'");
		return CLI_EXIT_FAIL;
	}
	if (pw == NULL) {
		rc = init_setup_token(c);
		if (rc != 0)
			return rc;
		*state_r = NULL;
		return 0;
	}
	rc = store_password_set(c->st, pw);
	if (rc < 0)
		return cli_store_error(c, rc, "setting the password");
	store_setting_del(c->st, "setup_token");
	*state_r = "set";
	return 0;
}

int
cli_init(struct cli_ctx *c, int argc, char **argv)
{
	struct cli_opt opts[] = {
	        {"--user", 1, NULL},
	        {"--password-file", 1, NULL},
	        {NULL, 0, NULL},
	};
	const char *user_opt, *why, *tls_state = NULL, *secret_state = NULL;
	const char *pw_state = NULL, *conf_state = NULL;
	char *pw = NULL, *user = NULL, *store_path = NULL, *conf = NULL;
	int npos, rc = CLI_EXIT_FAIL, dir_created = 0, store_new, nfolders;

	if (cli_parse(c, argc, argv, 1, opts, NULL, 0, 0, &npos, INIT_USAGE) <
	    0)
		return CLI_EXIT_USAGE;
	user_opt = opts[0].value;
	if (user_opt != NULL &&
	    cli_check_name(user_opt, CLI_USER_NAME_MAX, &why) < 0)
		return cli_usage_error(c, INIT_USAGE, "--user: %s", why);
	store_path = cli_data_path(c, CLI_STORE_FILE);
	store_new = !path_exists(store_path);
	if (store_new && user_opt == NULL) {
		rc = cli_usage_error(c, INIT_USAGE,
		                     "--user NAME is needed for a new store");
		goto out;
	}
	/* Read the password before making anything. */
	if (opts[1].value != NULL &&
	    cli_read_password_file(c, opts[1].value, &pw) < 0)
		goto out;

	if (cli_mkdir_p(c->cfg.data_dir, 0700, &dir_created) < 0) {
		cli_error(c, "cannot create the data directory %s: %s",
		          c->cfg.data_dir, strerror(errno));
		goto out;
	}
	if (!c->config_given) {
		int r;
		conf = cli_data_path(c, CLI_CONFIG_FILE);
		r = write_new_file(conf, config_default_text(),
		                   strlen(config_default_text()), 0600);
		if (r < 0) {
			cli_error(c, "cannot write %s: %s", conf,
			          strerror(errno));
			goto out;
		}
		conf_state = r == 1 ? "created" : "present";
	}
	if (cli_store_open(c, 1) < 0)
		goto out;
	if ((rc = init_user(c, user_opt, &user)) != 0)
		goto out;
	rc = CLI_EXIT_FAIL;
	if (init_folders_make(c, &nfolders) != 0)
		goto out;
	if (init_tls(c, &tls_state) != 0)
		goto out;
	if (init_secret(c, &secret_state) != 0)
		goto out;
	if (init_password(c, user, pw, &pw_state) != 0)
		goto out;

	printf("popbridge: data directory %s (%s)\n", c->cfg.data_dir,
	       dir_created ? "created" : "present");
	if (conf_state != NULL)
		printf("  config      %s (%s)\n", conf, conf_state);
	else
		printf("  config      %s (given with --config)\n",
		       c->cfg.config_path ? c->cfg.config_path : "-");
	printf("  store       %s (%s)\n", store_path,
	       store_new ? "created" : "present");
	if (store_new || nfolders == 0)
		printf("  folders     INBOX Sent Drafts Trash Junk Archive "
		       "(%s)\n",
		       store_new ? "created" : "present");
	else
		printf("  folders     INBOX Sent Drafts Trash Junk Archive (%d "
		       "created)\n",
		       nfolders);
	printf("  TLS         %s, %s (%s)\n", c->cfg.tls_cert, c->cfg.tls_key,
	       tls_state);
	printf("  secret key  %s (%s)\n", CLI_SECRET_FILE, secret_state);
	printf("  user        %s\n", user);
	if (pw_state != NULL) {
		printf("  password    %s\n", pw_state);
	} else {
		printf("  password    not set yet\n"
		       "\n"
		       "Set it now with:\n"
		       "    popbridge passwd --data %s\n"
		       "(IMAP logins are refused until a password is set.)\n",
		       c->cfg.data_dir);
	}
	rc = CLI_EXIT_OK;
out:
	cli_password_free(&pw);
	free(user);
	free(store_path);
	free(conf);
	return rc;
}
