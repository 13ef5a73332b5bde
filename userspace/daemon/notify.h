/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Readiness notification to the service manager (systemd's sd_notify
 * protocol, written out: one datagram of "KEY=value" lines to the unix
 * socket named by $NOTIFY_SOCKET; a leading '@' names an abstract socket).
 */
#ifndef TCPIKE_NOTIFY_H
#define TCPIKE_NOTIFY_H

/* 1 sent, 0 no $NOTIFY_SOCKET (not run by a service manager that asked
 * for it), -errno when it could not be sent. */
int svc_notify(const char *state);

#endif
