/* Background programs for tests: posix_spawn with the output in a log file. */
#include "bgproc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

extern char **environ;

#define BGPROC_MAX_ENV 512
#define BGPROC_POLL_MS 20

static void bgproc_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The caller's environment with extra entries added or replacing those of the same name. */
static int bgproc_env(const char *const extra[], char **out, size_t cap)
{
	size_t n = 0;

	for (char **e = environ; *e; e++) {
		bool replaced = false;

		for (size_t i = 0; extra && extra[i] && !replaced; i++) {
			const char *eq = strchr(extra[i], '=');

			replaced = eq && strncmp(*e, extra[i], (size_t)(eq - extra[i]) + 1) == 0;
		}
		if (!replaced && n + 1 < cap)
			out[n++] = *e;
	}
	for (size_t i = 0; extra && extra[i]; i++) {
		if (n + 1 >= cap)
			return SAQR_ETOOBIG;
		out[n++] = (char *)extra[i];
	}
	out[n] = NULL;
	return 0;
}

int bgproc_start(struct bgproc *p, const char *const argv[], const char *const env_extra[], const char *log_path)
{
	static char *envp[BGPROC_MAX_ENV];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int fd, rc;

	if (!p || !argv || !argv[0] || !log_path || snprintf(p->log_path, sizeof(p->log_path), "%s", log_path) < 0)
		return SAQR_EINVAL;
	p->pid = 0;
	p->exit_code = -1;
	if (bgproc_env(env_extra, envp, BGPROC_MAX_ENV))
		return SAQR_EINVAL;
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return SAQR_EIO;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fd);
	if (rc != 0)
		return SAQR_ENOTFOUND;
	p->pid = pid;
	return 0;
}

int bgproc_signal(struct bgproc *p, int sig)
{
	if (!p || p->pid <= 0)
		return SAQR_EINVAL;
	return kill(p->pid, sig) == 0 ? 0 : SAQR_EINVAL;
}

static bool bgproc_reap(struct bgproc *p, int options)
{
	int status;
	pid_t r = waitpid(p->pid, &status, options);

	if (r != p->pid)
		return false;
	p->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
	p->pid = 0;
	return true;
}

bool bgproc_wait(struct bgproc *p, int timeout_ms)
{
	for (int waited = 0;; waited += BGPROC_POLL_MS) {
		if (!p || p->pid <= 0 || bgproc_reap(p, WNOHANG))
			return true;
		if (waited >= timeout_ms)
			return false;
		bgproc_sleep_ms(BGPROC_POLL_MS);
	}
}

void bgproc_kill(struct bgproc *p)
{
	if (!p || p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	bgproc_reap(p, 0);
}

char *bgproc_log(const struct bgproc *p)
{
	FILE *f = fopen(p->log_path, "r");
	char *data = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[8192];

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			size_t ncap = (len + n + 1) * 2;
			char *nd = realloc(data, ncap);

			if (!nd)
				break;
			data = nd;
			cap = ncap;
		}
		memcpy(data + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!data)
		data = calloc(1, 1);
	else
		data[len] = '\0';
	return data;
}

bool bgproc_wait_log(const struct bgproc *p, const char *needle, int timeout_ms)
{
	for (int waited = 0;; waited += BGPROC_POLL_MS) {
		char *log = bgproc_log(p);
		bool found = log && strstr(log, needle);

		free(log);
		if (found)
			return true;
		if (waited >= timeout_ms)
			return false;
		bgproc_sleep_ms(BGPROC_POLL_MS);
	}
}

long bgproc_log_number(const struct bgproc *p, const char *needle, int timeout_ms)
{
	char *log, *at, *end;
	long v = -1;

	if (!bgproc_wait_log(p, needle, timeout_ms))
		return -1;
	log = bgproc_log(p);
	at = log ? strstr(log, needle) : NULL;
	if (at) {
		errno = 0;
		v = strtol(at + strlen(needle), &end, 10);
		if (errno || end == at + strlen(needle))
			v = -1;
	}
	free(log);
	return v;
}
