/*
 * tests/unit/test_tls.c: bridge/tls.c: the self-signed certificate (key
 * mode 0600, subjectAltName, 10-year validity), loading it into a server
 * context, and the error texts for a missing or mismatched file.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../../bridge/tls.h"
#include "test.h"

static char tmpdir[64], cert_path[128], key_path[128];
static SSL_CTX *srv_ctx;

static void
test_tls_self_signed(void)
{
	const char *err = NULL;
	struct stat st;
	FILE *fp;
	X509 *x;
	GENERAL_NAMES *gens;
	int dns_local = 0, ip = 0, dns_host = 0;

	T_EQ_INT(
	        tls_make_self_signed(cert_path, key_path, "mail.example", &err),
	        0);
	T_EQ_INT(stat(key_path, &st), 0);
	T_EQ_INT(st.st_mode & 0777, 0600);
	fp = fopen(cert_path, "r");
	T_ASSERT(fp != NULL);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	T_ASSERT(x != NULL);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	T_ASSERT(gens != NULL);
	for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const unsigned char *d;

		if (g->type == GEN_DNS) {
			d = ASN1_STRING_get0_data(g->d.dNSName);
			dns_local |= strcmp((const char *)d, "localhost") == 0;
			dns_host |=
			        strcmp((const char *)d, "mail.example") == 0;
		} else if (g->type == GEN_IPADD) {
			d = ASN1_STRING_get0_data(g->d.iPAddress);
			ip |= ASN1_STRING_length(g->d.iPAddress) == 4 &&
			      d[0] == 127 && d[3] == 1;
		}
	}
	GENERAL_NAMES_free(gens);
	{
		int days = 0, secs = 0;

		ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
		X509_free(x);
		T_ASSERT(days > 3640 && days <= 3650);
	}
	T_ASSERT(dns_local && ip && dns_host);
	srv_ctx = tls_server_ctx_new(cert_path, key_path, &err);
	T_ASSERT(srv_ctx != NULL);
	/* Errors name the file. */
	T_ASSERT(tls_server_ctx_new("/nonexistent/c.pem", key_path, &err) ==
	         NULL);
	T_ASSERT(strstr(err, "cannot load certificate /nonexistent/c.pem") ==
	         err);
	T_ASSERT(tls_server_ctx_new(cert_path, cert_path, &err) == NULL);
	T_ASSERT(strstr(err, "private key") != NULL);
	tls_ctx_free(&srv_ctx);
}

static void
test_overwrite_and_hostname(void)
{
	const char *err = NULL;
	char bad[160];

	/* Again over the same files (rename), with the machine's name. */
	T_EQ_INT(tls_make_self_signed(cert_path, key_path, NULL, &err), 0);
	/* A hostname that could inject into the SAN list is left out. */
	T_EQ_INT(
	        tls_make_self_signed(cert_path, key_path, "x,IP:1.2.3.4", &err),
	        0);
	srv_ctx = tls_server_ctx_new(cert_path, key_path, &err);
	T_ASSERT(srv_ctx != NULL);
	tls_ctx_free(&srv_ctx);
	tls_ctx_free(&srv_ctx);
	snprintf(bad, sizeof bad, "%s/nodir/key.pem", tmpdir);
	T_EQ_INT(tls_make_self_signed(cert_path, bad, "h", &err), -1);
	T_ASSERT(strstr(err, "cannot write private key") == err);
	unlink(cert_path);
	unlink(key_path);
	T_EQ_INT(rmdir(tmpdir), 0);
}

static const struct test_case tests[] = {
        {"self_signed", test_tls_self_signed},
        {"overwrite_and_hostname", test_overwrite_and_hostname},
        {NULL, NULL},
};

int
main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/pb_test_tls.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof key_path, "%s/key.pem", tmpdir);
	return test_run(tests);
}
