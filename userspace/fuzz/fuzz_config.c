// SPDX-License-Identifier: GPL-2.0
/* libFuzzer harness for the config parser: any bytes either parse or give
 * a "file:line: ..." message; nothing crashes or leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c = NULL;
	char err[512];

	if (config_parse("fuzz.conf", (const char *)data, size, &c, err, sizeof(err)) == 0) {
		if (!c)
			abort();
		for (const struct conn_cfg *cc = c->conns; cc; cc = cc->next)
			if (!conn_cfg_equal(cc, cc))
				abort();
		config_free(c);
	} else if (c || strncmp(err, "fuzz.conf:", 10)) {
		abort();
	}
	return 0;
}
