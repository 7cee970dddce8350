/*
 * tests/fuzz/fuzz_config.c: bridge/config.c's parser on any file content:
 * it either loads or returns one "FILE:LINE: reason" error, never more.
 * The input goes through a memfd so config_load reads it as a file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../bridge/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct pb_config cfg;
	char *err = NULL;
	int rc;

	if (fd < 0) {
		fd = memfd_create("fuzz_config", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	config_init(&cfg);
	rc = config_load(&cfg, path, &err);
	if (rc == 0) {
		if (err != NULL || cfg.imap_listen == NULL ||
		    cfg.max_message_size < 1024)
			abort();
		if (config_resolve(&cfg, NULL, &err) < 0 ||
		    cfg.data_dir[0] != '/' || cfg.tls_cert[0] != '/')
			abort();
	} else {
		if (err == NULL || strncmp(err, path, strlen(path)) != 0 ||
		    strchr(err, '\n') != NULL)
			abort();
	}
	free(err);
	config_clear(&cfg);
	return 0;
}
