/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The files an administrator names (the configuration, secret files,
 * private keys, certificates), opened so that a wrong one cannot hang the
 * daemon: a FIFO, device, socket or directory is refused by its type
 * before anything reads it, with the path and the reason.
 */
#ifndef TCPIKE_FILE_H
#define TCPIKE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

#define FILE_NO_GROUP_READ	0x1	/* refuse a mode readable by group/others */
#define FILE_NO_GROUP_WRITE	0x2	/* refuse a mode writable by group/others */
#define FILE_OWNER		0x4	/* owned by root or by our effective uid */

/*
 * Opens path read-only when it is a regular file passing the checks;
 * returns the descriptor (O_CLOEXEC), or -1 with "'path' <reason>" in err.
 * Symbolic links are followed (certbot's live/ directory is made of
 * them); the file they end at must be regular and is checked.
 */
int file_open_regular(const char *path, unsigned int checks, char *err, size_t errlen);

/* The whole file (at most max bytes; larger is an error) into a malloc'd
 * NUL-terminated buffer, *len its length, *st (when not NULL) its fstat;
 * NULL with err set. */
char *file_read_regular(const char *path, unsigned int checks, size_t max, size_t *len,
			struct stat *st, char *err, size_t errlen);

#endif
