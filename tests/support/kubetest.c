/* Repository root, fixture and scratch-file helpers for the tests. */
#include "kubetest.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

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
