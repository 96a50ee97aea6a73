/* Run a program with pipes on its stdin, stdout and stderr, pump them with poll() until it ends or
 * a deadline passes, and report how it ended; or start one with its output in a log file and
 * reap it later. See proc.h for the contract. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

extern char **environ;

enum { PROC__IN, PROC__OUT, PROC__ERR, PROC__NFDS };

struct proc__io {
	int fd[PROC__NFDS]; /* parent ends of the pipes, -1 once closed */
	const char *in_data;
	size_t in_len;
	size_t in_off;
	bool in_broken; /* a write met EPIPE: the program closed its stdin early */
	struct buf *sink[PROC__NFDS];
};

static long long proc__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void proc__close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* child[i] gets the program's end of pipe i, io->fd[i] ours; stderr shares stdout's pipe unless
 * separate. All ends are close-on-exec, so only the dup2'd copies reach the program. */
static int proc__pipes(struct proc__io *io, int child[PROC__NFDS], bool separate_err)
{
	int p[2];

	for (int i = 0; i < PROC__NFDS; i++) {
		if (i == PROC__ERR && !separate_err) {
			child[i] = -1;
			continue;
		}
		if (pipe2(p, O_CLOEXEC) != 0)
			return SAQR_EIO;
		child[i] = i == PROC__IN ? p[0] : p[1];
		io->fd[i] = i == PROC__IN ? p[1] : p[0];
		if (fcntl(io->fd[i], F_SETFL, O_NONBLOCK) != 0)
			return SAQR_EIO;
	}
	return 0;
}

static bool proc__same_name(const char *a, const char *b)
{
	const char *eq = strchr(b, '=');
	size_t n = eq ? (size_t)(eq - b) : strlen(b);

	return strncmp(a, b, n) == 0 && a[n] == '=';
}

/* The caller's environment with extra's entries added or replacing same-named ones. The array is
 * the caller's to free (not the strings, which stay borrowed). NULL when out of memory. */
static char **proc__env(const char *const *extra)
{
	size_t n = 0, k = 0, m = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[m])
		m++;
	env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool replaced = false;

		for (size_t j = 0; j < m && !replaced; j++)
			replaced = proc__same_name(environ[i], extra[j]);
		if (!replaced)
			env[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		env[k++] = (char *)extra[j];
	return env;
}

static int proc__spawn(const char *const argv[], const int child[PROC__NFDS], char **envp,
		       const sigset_t *mask, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	posix_spawn_file_actions_adddup2(&fa, child[PROC__IN], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, child[PROC__OUT], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, child[PROC__ERR] >= 0 ? child[PROC__ERR] : child[PROC__OUT],
					 STDERR_FILENO);
	posix_spawnattr_setsigmask(&attr, mask);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (rc == ENOENT || rc == ENOTDIR)
		return SAQR_ENOTFOUND;
	return rc == 0 ? 0 : SAQR_EIO;
}

static int proc__write_stdin(struct proc__io *io)
{
	size_t chunk = io->in_len - io->in_off;
	ssize_t n;

	if (chunk > 65536)
		chunk = 65536;
	n = write(io->fd[PROC__IN], io->in_data + io->in_off, chunk);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n < 0 && errno != EPIPE)
		return SAQR_EIO;
	if (n < 0)
		io->in_broken = true;
	else
		io->in_off += (size_t)n;
	if (n < 0 || io->in_off == io->in_len)
		proc__close(&io->fd[PROC__IN]);
	return 0;
}

static int proc__read_into(struct proc__io *io, int i)
{
	char chunk[65536];
	ssize_t n = read(io->fd[i], chunk, sizeof(chunk));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : SAQR_EIO;
	if (n == 0) {
		proc__close(&io->fd[i]);
		return 0;
	}
	return buf_add(io->sink[i], chunk, (size_t)n);
}

/* Move data until the program has closed stdout and stderr and taken all of stdin. */
static int proc__pump(struct proc__io *io, long long deadline)
{
	while (io->fd[PROC__IN] >= 0 || io->fd[PROC__OUT] >= 0 || io->fd[PROC__ERR] >= 0) {
		struct pollfd p[PROC__NFDS];
		int idx[PROC__NFDS], n = 0, rc = 0;
		long long left = deadline - proc__now_ms();

		if (left <= 0)
			return SAQR_ETIMEDOUT;
		for (int i = 0; i < PROC__NFDS; i++) {
			if (io->fd[i] < 0)
				continue;
			p[n] = (struct pollfd){.fd = io->fd[i], .events = i == PROC__IN ? POLLOUT : POLLIN};
			idx[n++] = i;
		}
		if (poll(p, (nfds_t)n, (int)left) < 0 && errno != EINTR)
			return SAQR_EIO;
		for (int j = 0; j < n && rc == 0; j++) {
			if (!p[j].revents)
				continue;
			if (idx[j] == PROC__IN)
				rc = proc__write_stdin(io);
			else
				rc = proc__read_into(io, idx[j]);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int proc__reap(pid_t pid, long long deadline, int *exit_code)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 5000000L};
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0) {
		if (proc__now_ms() >= deadline)
			return SAQR_ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
	if (r < 0)
		return SAQR_EIO;
	*exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	return 0;
}

/* A write to a pipe whose reader is gone raises SIGPIPE: keep it blocked while we pump and drop
 * the one our writes caused, so the test program survives a program that ignores its stdin. */
static void proc__drop_sigpipe(bool was_pending)
{
	const struct timespec zero = {0, 0};
	sigset_t pipe_only;

	if (was_pending)
		return;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
		;
}

static void proc__init_io(struct proc__io *io, const struct proc_opts *opts, struct buf *out)
{
	*io = (struct proc__io){.fd = {-1, -1, -1}, .in_data = opts->stdin_data ? opts->stdin_data : ""};
	io->in_len = opts->stdin_data && opts->stdin_len ? opts->stdin_len : strlen(io->in_data);
	io->sink[PROC__OUT] = out;
	io->sink[PROC__ERR] = opts->err;
}

static int proc__run(const char *const argv[], const struct proc_opts *opts, struct buf *out, int *exit_code,
		     const sigset_t *old_mask)
{
	struct proc__io io;
	int child[PROC__NFDS] = {-1, -1, -1};
	long long deadline =
	    proc__now_ms() + (opts->timeout_ms > 0 ? opts->timeout_ms : PROC_DEFAULT_TIMEOUT_MS);
	char **envp = NULL;
	pid_t pid = -1;
	int rc;

	proc__init_io(&io, opts, out);
	rc = proc__pipes(&io, child, opts->err != NULL);
	if (rc == 0 && !(envp = proc__env(opts->env_extra)))
		rc = SAQR_ENOMEM;
	if (rc == 0)
		rc = proc__spawn(argv, child, envp, old_mask, &pid);
	for (int i = 0; i < PROC__NFDS; i++)
		proc__close(&child[i]);
	if (rc == 0 && io.in_len == 0)
		proc__close(&io.fd[PROC__IN]);
	if (rc == 0)
		rc = proc__pump(&io, deadline);
	if (rc == 0)
		rc = proc__reap(pid, deadline, exit_code);
	if (rc != 0 && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	for (int i = 0; i < PROC__NFDS; i++)
		proc__close(&io.fd[i]);
	free(envp);
	return rc;
}

int proc_run_opts(const char *const argv[], const struct proc_opts *opts, struct buf *out, int *exit_code)
{
	static const struct proc_opts defaults;
	sigset_t block, old, pending;
	bool was_pending;
	int code = 0, rc;

	if (!argv || !argv[0] || !out || !exit_code)
		return SAQR_EINVAL;
	if (!opts)
		opts = &defaults;
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;
	rc = proc__run(argv, opts, out, &code, &old);
	proc__drop_sigpipe(was_pending);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		*exit_code = code;
	return rc;
}

int proc_run(const char *const argv[], const char *stdin_data, struct buf *out, int *exit_code)
{
	const struct proc_opts opts = {.stdin_data = stdin_data};

	return proc_run_opts(argv, &opts, out, exit_code);
}

static int proc__detach(struct buf *b, char **text, size_t *len)
{
	if (len)
		*len = b->len;
	*text = buf_detach(b);
	return *text ? 0 : SAQR_ENOMEM;
}

int proc_capture(const char *const argv[], const struct proc_opts *opts, struct proc_result *r)
{
	struct proc_opts o = opts ? *opts : (struct proc_opts){0};
	struct buf out, err;
	int rc;

	if (!r)
		return SAQR_EINVAL;
	*r = (struct proc_result){0};
	buf_init(&out, PROC_MAX_OUTPUT);
	buf_init(&err, PROC_MAX_OUTPUT);
	o.err = &err;
	rc = proc_run_opts(argv, &o, &out, &r->status);
	if (rc == 0)
		rc = proc__detach(&out, &r->out, &r->out_len);
	if (rc == 0)
		rc = proc__detach(&err, &r->err, NULL);
	if (rc != 0)
		proc_result_release(r);
	buf_release(&out);
	buf_release(&err);
	return rc;
}

void proc_result_release(struct proc_result *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	*r = (struct proc_result){0};
}

/* ---- in the background ---- */

/* stdin from /dev/null; stdout and stderr into the log. */
static int proc__open_log(const char *log_path, int child[PROC__NFDS])
{
	child[PROC__IN] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	child[PROC__OUT] = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	child[PROC__ERR] = -1;
	return child[PROC__IN] >= 0 && child[PROC__OUT] >= 0 ? 0 : SAQR_EIO;
}

int proc_start(struct proc *p, const char *const argv[], const char *const env_extra[], const char *log_path)
{
	int child[PROC__NFDS] = {-1, -1, -1};
	char **envp = NULL;
	sigset_t mask;
	pid_t pid = 0;
	int rc;

	if (!p || !argv || !argv[0] || !log_path)
		return SAQR_EINVAL;
	*p = (struct proc){.exit_code = -1};
	if ((size_t)snprintf(p->log_path, sizeof(p->log_path), "%s", log_path) >= sizeof(p->log_path))
		return SAQR_EINVAL;
	rc = proc__open_log(log_path, child);
	if (rc == 0 && !(envp = proc__env(env_extra)))
		rc = SAQR_ENOMEM;
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	if (rc == 0)
		rc = proc__spawn(argv, child, envp, &mask, &pid);
	if (rc == 0)
		p->pid = pid;
	for (int i = 0; i < PROC__NFDS; i++)
		proc__close(&child[i]);
	free(envp);
	return rc;
}

int proc_signal(struct proc *p, int sig)
{
	if (!p || p->pid <= 0)
		return SAQR_EINVAL;
	return kill(p->pid, sig) == 0 ? 0 : SAQR_EINVAL;
}

int proc_wait(struct proc *p, int timeout_ms)
{
	int rc;

	if (!p)
		return SAQR_EINVAL;
	if (p->pid <= 0)
		return 0;
	rc = proc__reap(p->pid, proc__now_ms() + timeout_ms, &p->exit_code);
	if (rc == 0)
		p->pid = 0;
	return rc;
}

int proc_stop(struct proc *p, int sig, int timeout_ms)
{
	int rc;

	if (!p || p->pid <= 0)
		return 0;
	rc = proc_signal(p, sig);
	if (rc == 0)
		rc = proc_wait(p, timeout_ms);
	if (rc != 0)
		proc_kill(p);
	return rc;
}

void proc_kill(struct proc *p)
{
	if (!p || p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	if (proc_wait(p, PROC_DEFAULT_TIMEOUT_MS) != 0)
		p->pid = 0;
}

int proc_log(const struct proc *p, struct buf *out)
{
	char chunk[8192];
	FILE *f = fopen(p->log_path, "r");
	size_t n;
	int rc = 0;

	if (!f)
		return SAQR_EIO;
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_add(out, chunk, n);
	if (rc == 0 && ferror(f))
		rc = SAQR_EIO;
	fclose(f);
	return rc;
}

/* Poll p's log until needle is in it; the log is left in log. */
static int proc__await_log(const struct proc *p, const char *needle, int timeout_ms, struct buf *log)
{
	const struct timespec tick = {.tv_sec = 0, .tv_nsec = 20000000L};
	long long deadline = proc__now_ms() + timeout_ms;

	for (;;) {
		buf_reset(log);
		if (proc_log(p, log) == 0 && strstr(buf_str(log), needle))
			return 0;
		if (proc__now_ms() >= deadline)
			return SAQR_ETIMEDOUT;
		nanosleep(&tick, NULL);
	}
}

int proc_wait_log(const struct proc *p, const char *needle, int timeout_ms)
{
	struct buf log;
	int rc;

	buf_init(&log, PROC_MAX_OUTPUT);
	rc = proc__await_log(p, needle, timeout_ms, &log);
	buf_release(&log);
	return rc;
}

int proc_log_number(const struct proc *p, const char *needle, int timeout_ms, long *value)
{
	struct buf log;
	const char *at;
	char *end;
	long v;
	int rc;

	buf_init(&log, PROC_MAX_OUTPUT);
	rc = proc__await_log(p, needle, timeout_ms, &log);
	if (rc == 0) {
		at = strstr(buf_str(&log), needle) + strlen(needle);
		errno = 0;
		v = strtol(at, &end, 10);
		rc = errno || end == at ? SAQR_EPARSE : 0;
	}
	if (rc == 0)
		*value = v;
	buf_release(&log);
	return rc;
}
