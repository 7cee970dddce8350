/*
 * bridge/config.h: the INI config file of PRODUCT.md ("Config file") and
 * the resolution of the data directory (--data, else [store] data_dir,
 * else ./popbridge-data). An unknown section or key, or a bad value, is an
 * error naming the file, line and reason.
 */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdint.h>

enum plaintext_login {
	PLAINTEXT_LOGIN_NEVER,
	PLAINTEXT_LOGIN_LOOPBACK,
	PLAINTEXT_LOGIN_ALWAYS,
};

struct pb_config {
	char *data_dir;	       /* absolute path after config_resolve() */
	char *imap_listen;     /* "127.0.0.1:1143"; "" = off */
	char *imap_listen_tls; /* "127.0.0.1:1993"; "" = off */
	enum plaintext_login plaintext_login;
	char *web_listen; /* "127.0.0.1:8080" */
	int web_tls;
	char *tls_cert; /* absolute after config_resolve() */
	char *tls_key;
	uint64_t max_message_size;
	int log_level; /* enum log_level */
	char *config_path; /* the file read, or NULL */
};

/* Fills the defaults of PRODUCT.md. */
void config_init(struct pb_config *cfg);
void config_clear(struct pb_config *cfg);
/*
 * Reads an INI file over the current values. On error returns -1 and
 * *error_r is a malloc'd "FILE:LINE: reason" sentence the caller frees.
 */
int config_load(struct pb_config *cfg, const char *path, char **error_r);
/*
 * Applies --data (may be NULL) and makes data_dir, tls_cert and tls_key
 * absolute (cert/key relative to the data directory).
 */
int config_resolve(struct pb_config *cfg, const char *data_opt,
		   char **error_r);
/*
 * The commented default popbridge.conf that `init` writes into a new data
 * directory (static text; every key commented out at its default).
 */
const char *config_default_text(void);

#endif
