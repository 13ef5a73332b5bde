/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TCPIKE_PRIVS_H
#define TCPIKE_PRIVS_H

/* Keeps CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only (root); 0 or -errno. */
int privs_drop(void);

#endif
