/* Repository root, fixture and scratch-file helpers for the tests. */
#include "kubetest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "kube/client.h"
#include "kube/kubeconfig.h"
#include "proc.h"

#define KUBETEST_KUBECTL_ARGS 14

const char *kubetest_root(void)
{
	const char *root = getenv("SAQR_ROOT");

	return root && *root ? root : ".";
}

char *kubetest_read(const char *rel, size_t *len)
{
	char path[4096];
	char *data = NULL;
	long size;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", kubetest_root(), rel);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)size + 1);
		if (data && fread(data, 1, (size_t)size, f) != (size_t)size) {
			free(data);
			data = NULL;
		}
		if (data) {
			data[size] = '\0';
			if (len)
				*len = (size_t)size;
		}
	}
	fclose(f);
	return data;
}

char *kubetest_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];

	snprintf(path, sizeof(path), "%s/saqr-kubetest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(path) ? strdup(path) : NULL;
}

int kubetest_write(const char *dir, const char *name, const char *content)
{
	char path[4096];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	rc = fputs(content, f) < 0 ? -1 : 0;
	return fclose(f) != 0 ? -1 : rc;
}

void kubetest_rmtree(const char *dir)
{
	struct dirent *e;
	struct stat sb;
	char path[4096];
	DIR *d = opendir(dir);

	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			kubetest_rmtree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int kubetest__write_all(int fd, const char *data, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return SAQR_EIO;
		done += (size_t)n;
	}
	return 0;
}

int kubetest_write_temp(const char *data, size_t len, char **path_out)
{
	const char *dir = getenv("TMPDIR");
	size_t n;
	char *path;
	int fd, rc;

	if (!dir || !*dir)
		dir = "/tmp";
	n = strlen(dir) + sizeof("/saqr-test-XXXXXX");
	path = malloc(n);
	if (!path)
		return SAQR_ENOMEM;
	snprintf(path, n, "%s/saqr-test-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return SAQR_EIO;
	}
	rc = kubetest__write_all(fd, data, len);
	close(fd);
	if (rc != 0) {
		unlink(path);
		free(path);
		return rc;
	}
	*path_out = path;
	return 0;
}

static double kubetest_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool kubetest_wait_for(bool (*pred)(void *arg), void *arg, double limit)
{
	const struct timespec pause = {0, 100 * 1000000L};
	double deadline = kubetest_mono() + limit;

	while (!pred(arg)) {
		if (kubetest_mono() > deadline)
			return false;
		nanosleep(&pause, NULL);
	}
	return true;
}

int kubetest_kubectl(const char *const args[])
{
	const char *bin = getenv("SAQR_TOOLS_BIN");
	const char *argv[KUBETEST_KUBECTL_ARGS + 2];
	char path[512];
	struct buf out;
	int code = -1, n = 0;

	snprintf(path, sizeof(path), "%s%skubectl", bin ? bin : "", bin ? "/" : "");
	argv[0] = path;
	while (n < KUBETEST_KUBECTL_ARGS && args[n]) {
		argv[n + 1] = args[n];
		n++;
	}
	if (args[n])
		return -1;
	argv[n + 1] = NULL;
	buf_init(&out, 1 << 20);
	if (proc_run(argv, NULL, &out, &code) != 0 || code != 0) {
		fprintf(stderr, "kubectl failed (%d): %s\n", code, buf_str(&out));
		code = code ? code : -1;
	}
	buf_release(&out);
	return code;
}

int kubetest_connect(struct kube_client **out)
{
	struct kube_config *cfg = NULL;
	char err[256] = "";
	int rc = kube_config_load_default(NULL, &cfg, err, sizeof(err));

	if (rc == 0)
		rc = kube_client_new(cfg, out);
	if (rc)
		fprintf(stderr, "cannot connect to the cluster: %s %s\n", saqr_strerror(rc), err);
	kube_config_free(cfg);
	return rc;
}
