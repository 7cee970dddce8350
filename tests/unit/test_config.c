/* tests/unit/test_config.c: bridge/config.c: INI parsing, values, limits,
 * error lines, data directory resolution. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../bridge/config.h"
#include "../../common/limits.h"
#include "../../common/log.h"
#include "test.h"

static char tmpdir[] = "/tmp/pb_test_config_XXXXXX";
static char conf_path[256];

/* Writes text to the test config file and loads it into a fresh cfg. */
static int
load_text(struct pb_config *cfg, const char *text, char **err)
{
	FILE *f = fopen(conf_path, "w");

	if (f == NULL)
		return -2;
	fputs(text, f);
	fclose(f);
	config_init(cfg);
	return config_load(cfg, conf_path, err);
}

/* The error text after "FILE:" ("LINE: reason"), or NULL. */
static const char *
err_tail(const char *err)
{
	size_t n = strlen(conf_path);

	if (err == NULL || strncmp(err, conf_path, n) != 0 || err[n] != ':')
		return NULL;
	return err + n + 1;
}

/* Loads text, expects failure on line; returns 1 if it was so. */
static int
fails_at(const char *text, const char *line_prefix)
{
	struct pb_config cfg;
	char *err = NULL;
	int r = load_text(&cfg, text, &err), ok;
	const char *t = err_tail(err);

	ok = r == -1 && t != NULL &&
	     strncmp(t, line_prefix, strlen(line_prefix)) == 0;
	if (!ok)
		fprintf(stderr, "  text %s -> r=%d err=%s\n", text, r,
		        err ? err : "(none)");
	free(err);
	config_clear(&cfg);
	return ok;
}

static void
test_defaults(void)
{
	struct pb_config cfg;

	config_init(&cfg);
	T_ASSERT(cfg.data_dir == NULL);
	T_EQ_STR(cfg.imap_listen, "127.0.0.1:1143");
	T_EQ_STR(cfg.imap_listen_tls, "127.0.0.1:1993");
	T_EQ_STR(cfg.web_listen, "127.0.0.1:8080");
	T_EQ_INT(cfg.plaintext_login, PLAINTEXT_LOGIN_LOOPBACK);
	T_EQ_INT(cfg.web_tls, 0);
	T_EQ_STR(cfg.tls_cert, "tls/cert.pem");
	T_EQ_STR(cfg.tls_key, "tls/key.pem");
	T_EQ_INT(cfg.max_message_size, 100LL * 1024 * 1024);
	T_EQ_INT(cfg.log_level, LOG_LVL_INFO);
	config_clear(&cfg);
}

static void
test_product_example(void)
{
	/* The example of PRODUCT.md, comments after values included. */
	const char *text =
	        "[store]\n"
	        "data_dir = /var/lib/popbridge\n"
	        "[imap]\n"
	        "listen = 127.0.0.1:1143        # plain IMAP with STARTTLS; a "
	        "comma-separated list; empty turns it off\n"
	        "listen_tls = 127.0.0.1:1993    # implicit TLS (IMAPS)\n"
	        "plaintext_login = loopback     # never | loopback | always\n"
	        "[web]\n"
	        "listen = 127.0.0.1:8080\n"
	        "tls = off                      # on: HTTPS\n"
	        "[tls]\n"
	        "cert = tls/cert.pem            # paths relative\n"
	        "key = tls/key.pem\n"
	        "[poller]\n"
	        "max_message_size = 100M\n"
	        "[log]\n"
	        "level = info                   ; error | warn\n";
	struct pb_config cfg;
	char *err = NULL;

	T_EQ_INT(load_text(&cfg, text, &err), 0);
	T_EQ_STR(cfg.data_dir, "/var/lib/popbridge");
	T_EQ_STR(cfg.imap_listen, "127.0.0.1:1143");
	T_EQ_STR(cfg.imap_listen_tls, "127.0.0.1:1993");
	T_EQ_INT(cfg.max_message_size, 100LL * 1024 * 1024);
	T_EQ_STR(cfg.config_path, conf_path);
	config_clear(&cfg);
}

static void
test_values(void)
{
	const char *text =
	        "\xef\xbb\xbf# BOM first\n"
	        "  ; indented comment\n"
	        "[ imap ]   # section comment\n"
	        "listen = 0.0.0.0:143 , [::]:143,*:1143,host-1.x:99\n"
	        "listen_tls =\n"
	        "plaintext_login=always\n"
	        "[web]\n"
	        "tls = on\n"
	        "listen = \n"
	        "[tls]\n"
	        "cert = /etc/x#1.pem\n"
	        "key = k.pem\t;c\n"
	        "[poller]\n"
	        "max_message_size = 64k\n"
	        "[log]\n"
	        "level = debug\r\n"
	        "[imap]\n"
	        "plaintext_login = never\n";
	struct pb_config cfg;
	char *err = NULL;

	T_EQ_INT(load_text(&cfg, text, &err), 0);
	T_EQ_STR(cfg.imap_listen, "0.0.0.0:143,[::]:143,*:1143,host-1.x:99");
	T_EQ_STR(cfg.imap_listen_tls, "");
	T_EQ_STR(cfg.web_listen, "");
	T_EQ_INT(cfg.web_tls, 1);
	T_EQ_STR(cfg.tls_cert, "/etc/x#1.pem");
	T_EQ_STR(cfg.tls_key, "k.pem");
	T_EQ_INT(cfg.max_message_size, 64 * 1024);
	T_EQ_INT(cfg.log_level, LOG_LVL_DEBUG);
	/* The last of repeated keys wins. */
	T_EQ_INT(cfg.plaintext_login, PLAINTEXT_LOGIN_NEVER);
	config_clear(&cfg);
}

static void
test_errors_have_lines(void)
{
	T_ASSERT(fails_at("[imapx]\n", "1: unknown section [imapx]"));
	T_ASSERT(fails_at("# c\n\n[imap]\nfoo = 1\n", "4: unknown key 'foo'"));
	T_ASSERT(fails_at("x = 1\n", "1: key outside a section"));
	T_ASSERT(fails_at("[imap]\nno equals here\n", "2: expected"));
	T_ASSERT(fails_at("[imap\n", "1: section line without ']'"));
	T_ASSERT(fails_at("[imap] x\n", "1: unexpected text"));
	T_ASSERT(fails_at("[imap]\n= v\n", "2: missing key"));
	T_ASSERT(fails_at("[imap]\nLis-ten = v\n", "2: bad key"));
	T_ASSERT(fails_at("[log]\nlevel = loud\n", "2: bad value 'loud'"));
	T_ASSERT(fails_at("[web]\ntls = maybe\n", "2: bad value 'maybe'"));
	T_ASSERT(fails_at("[imap]\nplaintext_login = sometimes\n",
	                  "2: bad value"));
	T_ASSERT(fails_at("[store]\ndata_dir =\n", "2: bad value ''"));
	T_ASSERT(fails_at("[tls]\ncert = # nothing\n", "2: bad value ''"));
	T_ASSERT(fails_at("[store]\n[store]\ndata_dir\n", "3: expected"));
}

static void
test_listen_errors(void)
{
	T_ASSERT(fails_at("[imap]\nlisten = 1.2.3.4\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = 1.2.3.4:0\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = 1.2.3.4:65536\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = 1.2.3.4:-1\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = 1.2.3.4:port\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = :143\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = ::1:143\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = [::1:143\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = [zz]:143\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = a:1,,b:2\n", "2: bad listen"));
	T_ASSERT(fails_at("[imap]\nlisten = a:1,\n", "2: bad listen"));
	T_ASSERT(fails_at("[web]\nlisten = a b:1\n", "2: bad listen"));
	/* At the cap, and one over. */
	{
		char text[1024];
		struct pb_config cfg;
		char *err = NULL;
		int i, n = 0;

		n += snprintf(text + n, sizeof text - (size_t)n,
		              "[imap]\nlisten = ");
		for (i = 0; i < CONFIG_MAX_LISTEN; i++)
			n += snprintf(text + n, sizeof text - (size_t)n,
			              "%sh:%d", i ? "," : "", 1000 + i);
		snprintf(text + n, sizeof text - (size_t)n, "\n");
		T_EQ_INT(load_text(&cfg, text, &err), 0);
		config_clear(&cfg);
		n = (int)strlen(text) - 1;
		snprintf(text + n, sizeof text - (size_t)n, ",h:9\n");
		T_ASSERT(fails_at(text, "2: bad listen"));
	}
}

static void
test_size_limits(void)
{
	struct pb_config cfg;
	char *err = NULL;

	/* At the bounds. */
	T_EQ_INT(load_text(&cfg, "[poller]\nmax_message_size = 1K\n", &err), 0);
	T_EQ_INT(cfg.max_message_size, 1024);
	config_clear(&cfg);
	T_EQ_INT(load_text(&cfg, "[poller]\nmax_message_size = 1024\n", &err),
	         0);
	T_EQ_INT(cfg.max_message_size, 1024);
	config_clear(&cfg);
	T_EQ_INT(load_text(&cfg, "[poller]\nmax_message_size = 1G\n", &err), 0);
	T_EQ_INT(cfg.max_message_size, 1024LL * 1024 * 1024);
	config_clear(&cfg);
	T_EQ_INT(load_text(&cfg, "[poller]\nmax_message_size = 1024M\n", &err),
	         0);
	config_clear(&cfg);
	/* One over, under, negative, huge, not a number. */
	T_ASSERT(fails_at("[poller]\nmax_message_size = 1025M\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = 1073741825\n",
	                  "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = 1023\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = 0\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = -1M\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = "
	                  "99999999999999999999999G\n",
	                  "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = 18014398509481984K\n",
	                  "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = lots\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = M\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = 10 M\n", "2: bad"));
	T_ASSERT(fails_at("[poller]\nmax_message_size = 10MB\n", "2: bad"));
}

static void
test_line_and_file_caps(void)
{
	size_t n = CONFIG_MAX_LINE;
	char *text = malloc(n + 64);
	struct pb_config cfg;
	char *err = NULL;

	/* A line of exactly CONFIG_MAX_LINE bytes is fine. */
	memset(text, '#', n);
	snprintf(text + n, 64, "\n[log]\nlevel = warn\n");
	T_EQ_INT(load_text(&cfg, text, &err), 0);
	T_EQ_INT(cfg.log_level, LOG_LVL_WARN);
	config_clear(&cfg);
	/* One more byte is not. */
	memset(text, '#', n + 1);
	snprintf(text + n + 1, 63, "\n");
	T_ASSERT(fails_at(text, "1: line longer"));
	free(text);
	/* A NUL byte. */
	{
		FILE *f = fopen(conf_path, "w");
		fwrite("[log]\nlevel\0= info\n", 1, 19, f);
		fclose(f);
		config_init(&cfg);
		T_EQ_INT(config_load(&cfg, conf_path, &err), -1);
		T_ASSERT(strstr(err, ":2: NUL") != NULL);
		free(err);
		config_clear(&cfg);
	}
	/* A file over CONFIG_MAX_SIZE of comments. */
	{
		FILE *f = fopen(conf_path, "w");
		size_t i;
		for (i = 0; i < (size_t)CONFIG_MAX_SIZE / 64 + 2; i++)
			fprintf(f, "#%062d\n", 0);
		fclose(f);
		config_init(&cfg);
		T_EQ_INT(config_load(&cfg, conf_path, &err), -1);
		T_ASSERT(strstr(err, "larger than") != NULL);
		free(err);
		config_clear(&cfg);
	}
	/* Missing file. */
	config_init(&cfg);
	T_EQ_INT(config_load(&cfg, "/nonexistent/popbridge.conf", &err), -1);
	T_ASSERT(strstr(err, "/nonexistent/popbridge.conf: cannot open") ==
	         err);
	free(err);
	config_clear(&cfg);
}

static void
test_default_text_loads(void)
{
	struct pb_config cfg, def;
	char *err = NULL;

	T_EQ_INT(load_text(&cfg, config_default_text(), &err), 0);
	config_init(&def);
	T_ASSERT(cfg.data_dir == NULL);
	T_EQ_STR(cfg.imap_listen, def.imap_listen);
	T_EQ_INT(cfg.max_message_size, def.max_message_size);
	config_clear(&def);
	config_clear(&cfg);
}

static void
test_resolve(void)
{
	struct pb_config cfg;
	char *err = NULL, cwd[4096], *want;
	size_t wlen;

	T_ASSERT(getcwd(cwd, sizeof cwd) != NULL);
	/* Default: ./popbridge-data, cert/key inside it. */
	config_init(&cfg);
	T_EQ_INT(config_resolve(&cfg, NULL, &err), 0);
	wlen = strlen(cwd) + 64;
	want = malloc(wlen);
	snprintf(want, wlen, "%s/popbridge-data", cwd);
	T_EQ_STR(cfg.data_dir, want);
	snprintf(want, wlen, "%s/popbridge-data/tls/cert.pem", cwd);
	T_EQ_STR(cfg.tls_cert, want);
	config_clear(&cfg);
	/* --data wins, relative to the working directory. */
	config_init(&cfg);
	T_EQ_INT(config_resolve(&cfg, "./x/", &err), 0);
	snprintf(want, wlen, "%s/x/", cwd);
	T_ASSERT(strncmp(cfg.data_dir, want, strlen(want) - 1) == 0);
	config_clear(&cfg);
	free(want);
	/* data_dir relative to the config file; absolute cert kept. */
	T_EQ_INT(load_text(&cfg,
	                   "[store]\ndata_dir = d\n[tls]\ncert = /c.pem\n"
	                   "key = k/key.pem\n",
	                   &err),
	         0);
	T_EQ_INT(config_resolve(&cfg, NULL, &err), 0);
	{
		char w[512];
		snprintf(w, sizeof w, "%s/d", tmpdir);
		T_EQ_STR(cfg.data_dir, w);
		snprintf(w, sizeof w, "%s/d/k/key.pem", tmpdir);
		T_EQ_STR(cfg.tls_key, w);
	}
	T_EQ_STR(cfg.tls_cert, "/c.pem");
	/* Resolving again changes nothing. */
	T_EQ_INT(config_resolve(&cfg, NULL, &err), 0);
	T_EQ_STR(cfg.tls_cert, "/c.pem");
	/* --data over the config's data_dir. */
	T_EQ_INT(config_resolve(&cfg, "/srv/pb", &err), 0);
	T_EQ_STR(cfg.data_dir, "/srv/pb");
	config_clear(&cfg);
	config_init(&cfg);
	T_EQ_INT(config_resolve(&cfg, "", &err), -1);
	free(err);
	config_clear(&cfg);
}

static const struct test_case tests[] = {
        {"defaults", test_defaults},
        {"product_example", test_product_example},
        {"values", test_values},
        {"errors_have_lines", test_errors_have_lines},
        {"listen_errors", test_listen_errors},
        {"size_limits", test_size_limits},
        {"line_and_file_caps", test_line_and_file_caps},
        {"default_text_loads", test_default_text_loads},
        {"resolve", test_resolve},
        {NULL, NULL},
};

int main(void);

int
main(void)
{
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(conf_path, sizeof conf_path, "%s/popbridge.conf", tmpdir);
	rc = test_run(tests);
	unlink(conf_path);
	rmdir(tmpdir);
	return rc;
}
