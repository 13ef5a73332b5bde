/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TCPIKE_TESTS_LEAKCHECK_H
#define TCPIKE_TESTS_LEAKCHECK_H

/*
 * Leaves like _exit() without the leak check that leakcheck.c adds to it:
 * only for a child forked while other threads ran, whose memory (their
 * stacks, their OpenSSL per-thread state) it cannot see and so would count
 * as leaked.
 */
void leakcheck_exit_unchecked(int status) __attribute__((noreturn));

#endif
