// SPDX-License-Identifier: GPL-2.0
/*
 * tcpike-scale: B5's kernel part (make bench, in the test VM).
 *
 *   tcpike-scale sa --backend module|xfrm --pairs N [--budget S]
 *   tcpike-scale keepalive --peers N --interval S --hold S [--budget S]
 *
 * sa: installs N SA pairs through the daemon's own kernel backend
 * (userspace/kernel: the module's generic-netlink family or plain XFRM
 * netlink), one request at a time as the daemon makes them: AES-GCM-16-256
 * tunnel mode, 10.0.0.1 <-> 10.64.0.0/10 (one peer per pair), inbound
 * replay window 64.  Then deletes them all.  Prints one line:
 *   sa backend=B pairs=N add_ms=T del_ms=T rate=PAIRS_PER_S first_ms=T last_ms=T
 * first_ms and last_ms: the time of the first and the last tenth of the
 * pairs (equal when the cost per SA does not grow with the table).
 *
 * keepalive: the module's RFC 3948 keepalives, 10.0.0.1:4500 to N peers
 * 10.64.0.0/10:4500 every S seconds.  First --hold seconds with none (the
 * CPU baseline), then the N set (timed, as first/last tenth), then --hold
 * seconds with them running; CPU from /proc/stat (all CPUs, busy = all
 * but idle and iowait) over both windows, and the module's count of sent
 * keepalives.  Then all removed (timed).  One line:
 *   keepalive peers=N set_ms=T first_ms=T last_ms=T del_ms=T hold_s=S
 *   base_busy_pct=P busy_pct=P sent=N expected=N
 * busy percentages are of one CPU.  The peers must be routable (a dummy
 * device is enough).
 *
 * --budget S (default 600): stop adding after S seconds and report what
 * was reached (partial=1, with the count) instead of N.
 * Exit status: 0 ok, 1 a request refused (its sentence on stderr), 2 usage.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "backend.h"
#include "cli.h"
#include "log.h"
#include "tcpike_nl.h"

#define PROG "tcpike-scale"

static void usage(void)
{
	fprintf(stderr,
		"usage: " PROG " sa --backend module|xfrm --pairs N [--budget S]\n"
		"       " PROG " keepalive --peers N --interval S --hold S [--budget S]\n");
	exit(2);
}

static void v4(struct sockaddr_storage *ss, uint32_t host_addr, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(host_addr);
	sin->sin_port = htons(port);
}

/* Peer i: 10.64.0.0/10 from .1 on (N up to 4 million). */
static uint32_t peer_addr(uint32_t i)
{
	return 0x0a400000u + 1 + i;
}

#define LOCAL_ADDR 0x0a000001u	/* 10.0.0.1 */

/* Busy and total jiffies of all CPUs, from /proc/stat's first line. */
static int cpu_jiffies(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return -1;
	*total = 0;
	for (int i = 0; i < 8; i++)	/* guest time is inside user already */
		*total += v[i];
	*busy = *total - v[3] - v[4];
	return 0;
}

/* Percent of one CPU busy over a sleep of secs seconds. */
static double busy_over(unsigned int secs)
{
	unsigned long long b0, t0, b1, t1;
	long hz = sysconf(_SC_CLK_TCK);

	if (cpu_jiffies(&b0, &t0))
		return -1;
	sleep(secs);
	if (cpu_jiffies(&b1, &t1))
		return -1;
	return 100.0 * (double)(b1 - b0) / (double)hz / secs;
}

static int run_sa(const char *backend, uint32_t pairs, unsigned int budget_s)
{
	uint8_t key[36];
	struct kbackend *kb;
	struct kb_sa sa;
	uint64_t t0, tf = 0, tl = 0, tadd, tdel, t;
	uint32_t tenth = pairs / 10 ? pairs / 10 : 1, done = 0, i;
	int err = 0;

	log_set_level(LOG_LVL_WARN);
	kb = kbackend_open(backend);
	if (!kb) {
		fprintf(stderr, PROG ": backend %s does not open\n", backend);
		return 1;
	}
	if (RAND_bytes(key, sizeof(key)) != 1) {
		fprintf(stderr, PROG ": no random bytes for the key\n");
		kbackend_close(kb);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.mode = KB_MODE_TUNNEL;
	sa.reqid = 1;
	snprintf(sa.aead, sizeof(sa.aead), "rfc4106(gcm(aes))");
	sa.aead_icv_bits = 128;
	sa.enc_key = key;
	sa.enc_key_len = sizeof(key);
	t0 = cli_now_us();
	for (i = 0; i < pairs; i++) {
		if (i == pairs - tenth)
			tl = cli_now_us();
		if (cli_now_us() - t0 > (uint64_t)budget_s * 1000000u)
			break;
		/* outbound 10.0.0.1 -> peer, inbound peer -> 10.0.0.1 */
		v4(&sa.src, LOCAL_ADDR, 0);
		v4(&sa.dst, peer_addr(i), 0);
		sa.spi = htonl(0x100000u + i);
		sa.inbound = false;
		sa.replay_window = 0;
		err = kb->ops->sa_add(kb, &sa);
		if (!err) {
			v4(&sa.src, peer_addr(i), 0);
			v4(&sa.dst, LOCAL_ADDR, 0);
			sa.spi = htonl(0x80000000u + i);
			sa.inbound = true;
			sa.replay_window = 64;
			err = kb->ops->sa_add(kb, &sa);
		}
		if (err)
			break;
		done++;
		if (i + 1 == tenth)
			tf = cli_now_us() - t0;
	}
	t = cli_now_us();
	tadd = t - t0;
	if (tl)
		tl = t - tl;
	if (err)
		fprintf(stderr, PROG ": SA pair %u: %s\n", i, kb->kb_error);
	/* Delete what was made, in the same order. */
	t0 = cli_now_us();
	for (i = 0; i < done; i++) {
		struct sockaddr_storage d;
		int e;

		v4(&d, peer_addr(i), 0);
		e = kb->ops->sa_del(kb, &d, htonl(0x100000u + i));
		v4(&d, LOCAL_ADDR, 0);
		if (!e)
			e = kb->ops->sa_del(kb, &d, htonl(0x80000000u + i));
		if (e) {
			fprintf(stderr, PROG ": deleting SA pair %u: %s\n", i, kb->kb_error);
			err = e;
			break;
		}
	}
	tdel = cli_now_us() - t0;
	OPENSSL_cleanse(key, sizeof(key));
	kbackend_close(kb);
	printf("sa backend=%s pairs=%u add_ms=%.1f del_ms=%.1f rate=%.0f first_ms=%.1f last_ms=%.1f%s\n",
	       backend, done, tadd / 1000.0, tdel / 1000.0,
	       tadd ? done * 1e6 / (double)tadd : 0.0, tf / 1000.0, tl / 1000.0,
	       done < pairs ? " partial=1" : "");
	return err ? 1 : 0;
}

static int run_keepalive(uint32_t peers, unsigned int interval, unsigned int hold,
			 unsigned int budget_s)
{
	struct sockaddr_storage l, r;
	struct tnl_stats s0, s1;
	struct tnl t;
	uint64_t t0, tf = 0, tl = 0, tset, tdel, now;
	uint32_t tenth = peers / 10 ? peers / 10 : 1, done = 0, i;
	double base, busy;
	int err;

	err = tnl_open(&t);
	if (err) {
		fprintf(stderr, PROG ": the tcpike family: %s\n", t.error[0] ? t.error : strerror(-err));
		return 1;
	}
	base = busy_over(hold);
	v4(&l, LOCAL_ADDR, 0);
	t0 = cli_now_us();
	for (i = 0; i < peers; i++) {
		if (i == peers - tenth)
			tl = cli_now_us();
		if (cli_now_us() - t0 > (uint64_t)budget_s * 1000000u)
			break;
		v4(&r, peer_addr(i), 0);
		err = tnl_keepalive_set(&t, &l, &r, 4500, 4500, interval);
		if (err) {
			fprintf(stderr, PROG ": keepalive %u: %s\n", i, t.error);
			break;
		}
		done++;
		if (i + 1 == tenth)
			tf = cli_now_us() - t0;
	}
	now = cli_now_us();
	tset = now - t0;
	if (tl)
		tl = now - tl;
	/* Past the first wave's due time before the window starts. */
	sleep(interval + 1);
	if (!err)
		err = tnl_stats_get(&t, &s0);
	busy = busy_over(hold);
	if (!err)
		err = tnl_stats_get(&t, &s1);
	if (err)
		fprintf(stderr, PROG ": stats: %s\n", t.error);
	t0 = cli_now_us();
	for (i = 0; i < done; i++) {
		int e;

		v4(&r, peer_addr(i), 0);
		e = tnl_keepalive_set(&t, &l, &r, 4500, 4500, 0);
		if (e) {
			fprintf(stderr, PROG ": removing keepalive %u: %s\n", i, t.error);
			err = e;
			break;
		}
	}
	tdel = cli_now_us() - t0;
	tnl_close(&t);
	printf("keepalive peers=%u set_ms=%.1f first_ms=%.1f last_ms=%.1f del_ms=%.1f hold_s=%u "
	       "base_busy_pct=%.1f busy_pct=%.1f sent=%llu expected=%llu%s\n",
	       done, tset / 1000.0, tf / 1000.0, tl / 1000.0, tdel / 1000.0, hold, base, busy,
	       err ? 0ULL : (unsigned long long)(s1.keepalives_sent - s0.keepalives_sent),
	       (unsigned long long)done * hold / interval, done < peers ? " partial=1" : "");
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "peers", required_argument, NULL, 'n' },
		{ "interval", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'h' },
		{ "budget", required_argument, NULL, 'B' },
		{ 0 }
	};
	const char *backend = NULL, *cmd;
	unsigned long pairs = 0, peers = 0, interval = 0, hold = 0, budget = 600;
	int o;

	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'b': backend = optarg; break;
		case 'p': pairs = cli_num(PROG, optarg, 1, 2000000); break;
		case 'n': peers = cli_num(PROG, optarg, 1, 4000000); break;
		case 'i': interval = cli_num(PROG, optarg, 1, 3600); break;
		case 'h': hold = cli_num(PROG, optarg, 1, 3600); break;
		case 'B': budget = cli_num(PROG, optarg, 1, 36000); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if (!strcmp(cmd, "sa")) {
		if (!backend || !pairs || (strcmp(backend, "module") && strcmp(backend, "xfrm")))
			usage();
		return run_sa(backend, (uint32_t)pairs, (unsigned int)budget);
	}
	if (!strcmp(cmd, "keepalive")) {
		if (!peers || !interval || !hold)
			usage();
		return run_keepalive((uint32_t)peers, (unsigned int)interval, (unsigned int)hold,
				     (unsigned int)budget);
	}
	usage();
	return 2;
}
