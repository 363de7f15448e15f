/*
 * libFuzzer target: the configuration parser over arbitrary file
 * contents (it must refuse or accept, never crash or leak).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE *fp;
	char *error = NULL;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz-config-%ld", (long)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, fp) != size)
		abort();
	if (fclose(fp) != 0)
		abort();
	if (config_load(path, NULL, 0, &error) < 0)
		free(error);
	unlink(path);
	return 0;
}
