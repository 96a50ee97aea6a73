/* saqr-pause: the sandbox ("pause") process of the local node's pods (hack/images.sh builds it
 * statically as saqr.local/pause:dev; hack/local-cluster.sh names it as containerd's sandbox_image).
 * Sleeps until SIGTERM or SIGINT, reaping any child it inherits as PID 1. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t pause_stop;

static void pause_on_term(int sig)
{
	(void)sig;
	pause_stop = 1;
}

static void pause_on_child(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(void)
{
	struct sigaction term = {.sa_handler = pause_on_term};
	struct sigaction child = {.sa_handler = pause_on_child, .sa_flags = SA_NOCLDSTOP};

	sigaction(SIGTERM, &term, NULL);
	sigaction(SIGINT, &term, NULL);
	sigaction(SIGCHLD, &child, NULL);
	while (!pause_stop)
		pause();
	return 0;
}
