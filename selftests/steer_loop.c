// SPDX-License-Identifier: GPL-2.0
/*
 * Steers the two SAs of module_tunnel (0x1001 a -> b, 0x2002 b -> a) on
 * both ends, round after round, as fast as netlink answers, for the steer
 * under load test (selftests/vm/2c-module-steer-load.sh):
 *
 *   steer_loop NS_A NS_B ROUNDS PAUSE_MS TCP
 *
 * A round moves every SA raw -> udp -> tcp -> udp -> raw (TCP 0: raw ->
 * udp -> raw), each step on both ends one right after the other, then
 * waits PAUSE_MS so that traffic flows again before the next step.  UDP
 * uses 4500 on both ends, TCP the connection 10.0.0.1:40500 ->
 * 10.0.0.2:4500.  One process with a socket in each namespace (no process
 * per steer), so that steps come close together and the race between a
 * steer and output on the other CPU gets its chances.  Prints the number
 * of steers; exits 1 at the first refused steer, saying why.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "backend.h"
#include "tcpike_nl.h"

/* A tcpike socket in network namespace name (ip netns). */
static int open_in(const char *name, struct tnl *t)
{
	char path[256];
	int self, fd, err;

	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "steer_loop: entering %s: %s\n", path, strerror(errno));
		return -1;
	}
	err = tnl_open(t);
	if (setns(self, CLONE_NEWNET))
		err = -errno;
	close(fd);
	close(self);
	if (err)
		fprintf(stderr, "steer_loop: %s: %s\n", name, t->error[0] ? t->error : strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	static const enum kb_encap with_tcp[] = { KB_ENCAP_UDP, KB_ENCAP_TCP, KB_ENCAP_UDP,
						  KB_ENCAP_RAW };
	static const enum kb_encap udp_only[] = { KB_ENCAP_UDP, KB_ENCAP_RAW };
	static const char *const names[] = { "raw", "udp", "tcp" };
	struct sockaddr_storage to_b, to_a;
	const enum kb_encap *steps;
	struct timespec pause;
	unsigned long rounds, n = 0, r;
	unsigned int nsteps, s, e;
	struct tnl t[2];

	if (argc != 6) {
		fprintf(stderr, "usage: steer_loop NS_A NS_B ROUNDS PAUSE_MS TCP(0|1)\n");
		return 2;
	}
	rounds = strtoul(argv[3], NULL, 10);
	pause.tv_sec = strtoul(argv[4], NULL, 10) / 1000;
	pause.tv_nsec = (long)(strtoul(argv[4], NULL, 10) % 1000) * 1000000;
	steps = atoi(argv[5]) ? with_tcp : udp_only;
	nsteps = atoi(argv[5]) ? 4 : 2;
	if (open_in(argv[1], &t[0]) || open_in(argv[2], &t[1]))
		return 1;
	addr_parse("10.0.0.2", &to_b);
	addr_parse("10.0.0.1", &to_a);
	for (r = 0; r < rounds; r++) {
		for (s = 0; s < nsteps; s++) {
			enum kb_encap enc = steps[s];
			/* a -> b: 10.0.0.1 is the TCP originator (40500). */
			uint16_t ab_s = enc == KB_ENCAP_UDP ? 4500 : enc == KB_ENCAP_TCP ? 40500 : 0;
			uint16_t ab_d = enc == KB_ENCAP_RAW ? 0 : 4500;

			for (e = 0; e < 2; e++) {
				int err = tnl_sa_steer(&t[e], &to_b, htonl(0x1001), enc, ab_s, ab_d);

				if (!err)
					err = tnl_sa_steer(&t[e], &to_a, htonl(0x2002), enc, ab_d, ab_s);
				if (err) {
					fprintf(stderr, "steer_loop: round %lu, %s, %s: %s\n", r + 1,
						names[enc], argv[1 + e],
						t[e].error[0] ? t[e].error : strerror(-err));
					printf("steers %lu\n", n);
					return 1;
				}
				n += 2;
			}
			nanosleep(&pause, NULL);
		}
	}
	printf("steers %lu\n", n);
	tnl_close(&t[0]);
	tnl_close(&t[1]);
	return 0;
}
