/* A tiny process runner for tests: spawn, capture stdout and stderr through temporary files
 * (no pipe deadlock when a child fills both), wait, and hand back the exit status. */
#include "install_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"

extern char **environ;

static int install_proc__temp_fd(char **path_out)
{
	const char *dir = getenv("TMPDIR");
	char *path;
	size_t n;
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	n = strlen(dir) + sizeof("/saqr-proc-XXXXXX");
	path = malloc(n);
	if (path == NULL)
		return SAQR_ENOMEM;
	snprintf(path, n, "%s/saqr-proc-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		free(path);
		return SAQR_EIO;
	}
	*path_out = path;
	return fd;
}

/* Read the whole of fd (rewound) into a new NUL-terminated string. */
static int install_proc__slurp(int fd, char **out, size_t *len_out)
{
	struct stat st;
	char *data;
	size_t len = 0;

	if (fstat(fd, &st) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		return SAQR_EIO;
	if ((size_t)st.st_size > INSTALL_PROC_MAX_OUTPUT)
		return SAQR_ETOOBIG;
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL)
		return SAQR_ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t got = read(fd, data + len, (size_t)st.st_size - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	data[len] = '\0';
	*out = data;
	if (len_out != NULL)
		*len_out = len;
	return 0;
}

static int install_proc__wait(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR)
			return 127;
	}
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 127;
}

int install_proc_run(const char *const argv[], const char *stdin_path, struct install_proc_result *r)
{
	posix_spawn_file_actions_t fa;
	char *out_path = NULL, *err_path = NULL;
	int out_fd = -1, err_fd = -1, result = SAQR_EIO;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	out_fd = install_proc__temp_fd(&out_path);
	if (out_fd < 0) {
		result = out_fd;
		goto out;
	}
	err_fd = install_proc__temp_fd(&err_path);
	if (err_fd < 0) {
		result = err_fd;
		goto out;
	}
	if (posix_spawn_file_actions_init(&fa) != 0)
		goto out;
	posix_spawn_file_actions_addopen(&fa, 0, stdin_path ? stdin_path : "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	r->status = install_proc__wait(pid);
	result = install_proc__slurp(out_fd, &r->out, &r->out_len);
	if (result == 0)
		result = install_proc__slurp(err_fd, &r->err, NULL);
	if (result != 0)
		install_proc_result_release(r);
out:
	if (out_fd >= 0) {
		close(out_fd);
		unlink(out_path);
	}
	if (err_fd >= 0) {
		close(err_fd);
		unlink(err_path);
	}
	free(out_path);
	free(err_path);
	return result;
}

void install_proc_result_release(struct install_proc_result *r)
{
	if (r == NULL)
		return;
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

int install_proc_write_temp(const char *data, size_t len, char **path_out)
{
	char *path = NULL;
	size_t done = 0;
	int fd = install_proc__temp_fd(&path);

	if (fd < 0)
		return fd;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			unlink(path);
			free(path);
			return SAQR_EIO;
		}
		done += (size_t)n;
	}
	close(fd);
	*path_out = path;
	return 0;
}

const char *install_proc_root(void)
{
	const char *root = getenv("SAQR_ROOT");

	return (root != NULL && root[0] != '\0') ? root : ".";
}
