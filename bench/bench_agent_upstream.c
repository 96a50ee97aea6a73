/* The model server of `make bench-agent`: plain HTTP/1.1 on 127.0.0.1, keep-alive, one thread
 * per connection, answering every request with a fixed KServe V1 prediction at once (so that
 * what is measured is the agent, not a model). Prints "port=N" once listening; runs until
 * killed.
 *   bench_agent_upstream [--port N] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/http1.h"

static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 29\r\n\r\n"
			     "{\"predictions\": [0.21, 0.87]}";

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	struct http1 *p = malloc(sizeof(*p));
	char b[16384];
	ssize_t n;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	http1_init(p, HTTP1_REQUEST, NULL, NULL);
	while (p && (n = recv(fd, b, sizeof(b), 0)) > 0) {
		size_t off = 0, used;
		int rc;

		do {
			rc = http1_feed(p, b + off, (size_t)n - off, &used);
			off += used;
			if (rc == HTTP1_DONE) {
				if (send(fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL) < 0)
					rc = -1;
				http1_init(p, HTTP1_REQUEST, NULL, NULL);
			}
		} while (rc > 0);
		if (rc < 0)
			break;
	}
	close(fd);
	free(p);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (argc == 3 && strcmp(argv[1], "--port") == 0)
		sa.sin_port = htons((unsigned short)strtol(argv[2], NULL, 10));
	signal(SIGPIPE, SIG_IGN);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 256) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &len)) {
		perror("bench_agent_upstream");
		return 1;
	}
	printf("port=%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			continue;
		if (pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
}
