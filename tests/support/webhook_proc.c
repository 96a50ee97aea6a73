/* posix_spawn runner for the webhook integration tests (see webhook_proc.h). */
#include "webhook_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* environ plus extra, in a new array (the strings are borrowed). */
static char **webhook_proc_env(const char *const extra[])
{
	size_t n = 0, m = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	if (m)
		memcpy(env, extra, m * sizeof(*env));
	memcpy(env + m, environ, n * sizeof(*env)); /* extra first: getenv finds it first */
	return env;
}

static int webhook_proc_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int webhook_proc_spawn(const char *const argv[], const char *const env_extra[], const char *path,
			      int oflags, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	char **env = webhook_proc_env(env_extra);
	int rc;

	if (!env)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, path, oflags, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawnp(pid, argv[0], &fa, NULL, (char *const *)argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	return rc ? -1 : 0;
}

int webhook_proc_run(const char *const argv[], const char *const env_extra[], char *out, size_t outlen)
{
	char path[] = "/tmp/saqr-proc-XXXXXX";
	int fd = mkstemp(path), status = 0, rc = -1;
	ssize_t n = 0, got;
	pid_t pid;

	if (fd < 0)
		return -1;
	if (webhook_proc_spawn(argv, env_extra, path, O_WRONLY | O_TRUNC, &pid) == 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = webhook_proc_status(status);
	}
	while (outlen > 1 && (size_t)n < outlen - 1 && (got = read(fd, out + n, outlen - 1 - (size_t)n)) > 0)
		n += got;
	if (outlen)
		out[n] = '\0';
	close(fd);
	unlink(path);
	return rc;
}

int webhook_proc_start(const char *const argv[], const char *log_path, pid_t *pid)
{
	return webhook_proc_spawn(argv, NULL, log_path, O_WRONLY | O_CREAT | O_APPEND, pid);
}

int webhook_proc_stop(pid_t pid, int sig)
{
	int status = 0;

	if (kill(pid, sig) != 0 && errno != ESRCH)
		return -1;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return webhook_proc_status(status);
}
