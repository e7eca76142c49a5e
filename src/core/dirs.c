#include "core/dirs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int fail(const char *what, char *bad, size_t cap)
{
	if (bad && cap)
		snprintf(bad, cap, "%s", what);
	return -1;
}

int vg_make_dirs(const char *path, char *bad, size_t cap)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return fail(path, bad, cap);
	}
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		struct stat sb;
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return fail(tmp, bad, cap);
		if (stat(tmp, &sb) != 0)
			return fail(tmp, bad, cap);
		if (!S_ISDIR(sb.st_mode)) {
			errno = ENOTDIR;
			return fail(tmp, bad, cap);
		}
		tmp[i] = c;
	}
	return 0;
}

int vg_make_parent_dirs(const char *path, char *bad, size_t cap)
{
	char dir[4096];
	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
		errno = ENAMETOOLONG;
		return fail(path, bad, cap);
	}
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	return vg_make_dirs(dir, bad, cap);
}
