// SPDX-License-Identifier: GPL-2.0
/*
 * Opening administrator-named files safely (file.h).  The type is checked
 * with stat() before open(), so a device is never opened, and again with
 * fstat() on the descriptor, so a file swapped in between is caught; the
 * open is O_NONBLOCK, so a FIFO put there in that instant cannot block.
 */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *type_name(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	return "not a regular file";
}

static int check(const char *path, const struct stat *st, unsigned int checks,
		 char *err, size_t errlen)
{
	unsigned int mode = (unsigned int)(st->st_mode & 07777);

	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "'%s' is %s, not a regular file", path, type_name(st->st_mode));
		return -1;
	}
	if ((checks & FILE_NO_GROUP_READ) && (st->st_mode & 077)) {
		snprintf(err, errlen, "'%s' is accessible by group or others (mode %03o): chmod 600 it",
			 path, mode);
		return -1;
	}
	if ((checks & FILE_NO_GROUP_WRITE) && (st->st_mode & 022)) {
		snprintf(err, errlen, "'%s' is writable by group or others (mode %03o): chmod go-w it",
			 path, mode);
		return -1;
	}
	if ((checks & FILE_OWNER) && st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, errlen, "'%s' is owned by uid %u, not by root: chown root it",
			 path, (unsigned int)st->st_uid);
		return -1;
	}
	return 0;
}

int file_open_regular(const char *path, unsigned int checks, char *err, size_t errlen)
{
	struct stat st, fst;
	int fd;

	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (check(path, &st, checks, err, errlen))
		return -1;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino ||
	    check(path, &fst, checks, err, errlen)) {
		if (fst.st_ino != st.st_ino)
			snprintf(err, errlen, "'%s' changed while it was opened", path);
		close(fd);
		return -1;
	}
	/* A regular file never blocks: back to ordinary reads. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

char *file_read_regular(const char *path, unsigned int checks, size_t max, size_t *len,
			struct stat *st, char *err, size_t errlen)
{
	int fd = file_open_regular(path, checks, err, errlen), rerr = 0;
	char *text;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	text = malloc(max + 2);
	if (st && fstat(fd, st) < 0)
		memset(st, 0, sizeof(*st));
	if (!text) {
		snprintf(err, errlen, "'%s': out of memory", path);
		close(fd);
		return NULL;
	}
	while (n <= max) {
		ssize_t r = read(fd, text + n, max + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rerr = r < 0 ? errno : 0;
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	if (rerr || n > max) {
		if (rerr)
			snprintf(err, errlen, "'%s': %s", path, strerror(rerr));
		else
			snprintf(err, errlen, "'%s' is larger than %zu bytes", path, max);
		explicit_bzero(text, n);	/* it may hold a secret */
		free(text);
		return NULL;
	}
	text[n] = 0;
	*len = n;
	return text;
}
