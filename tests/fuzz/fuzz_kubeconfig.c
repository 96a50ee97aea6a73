/* libFuzzer target for the kubeconfig loader (lib/kube/kubeconfig.c): any bytes must give a
 * config or an error with a message, never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const contexts[] = {NULL, "c", "dev"};
	struct kube_config *cfg = NULL;
	char err[512];

	for (size_t i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
		err[0] = '\0';
		if (kube_config_load_data((const char *)data, size, "/nonexistent", contexts[i], &cfg, err,
					  sizeof(err)) == 0) {
			if (!cfg || !cfg->server || !cfg->namespace)
				abort();
			kube_config_free(cfg);
			cfg = NULL;
		} else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
			abort();
		}
	}
	return 0;
}
